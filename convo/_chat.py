"""`Chat` and `AsyncChat`: the few lines a backend would otherwise write.

One exchange: load the branch, append and save the new turn (the user turn is
stored before anything is sent), apply the target's policies, send, stamp the
answer with the digest of what it answered, and save it with compare-and-set
on the branch head. A failed or cut exchange stores no answer; a retried
request (the client retries internally) stores exactly one; a concurrent writer
gets `ConflictError` instead of a silent fork. `complete()` answers the stored
head as it is, which is how a caller resumes after a failed send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from convo._blocks import Block, ToolResultBlock
from convo._chat_core import Reply, encode_for, finish_answer, new_turn, prepare
from convo._events import Finished, StreamEvent
from convo._graph import Conversation
from convo._ids import TurnId
from convo._params import RequestParams
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn, system
from convo.client import AsyncClient, Client
from convo.errors import UnknownTurnError, message
from convo.policies import Policy, RequestView
from convo.store import AsyncStore, Store

__all__ = ["AsyncChat", "Chat", "Reply"]

_DEFAULT_PARAMS = RequestParams(max_tokens=4096)


def _tools(items: Iterable[Tool]) -> tuple[Tool, ...]:
    return tuple(items)


def _first_conversation(system_prompt: str | None) -> Conversation:
    conversation = Conversation.new()
    if system_prompt:
        conversation = conversation.append(system(system_prompt))
    return conversation


def _fork_point(conversation: Conversation, turn_id: TurnId) -> TurnId | None:
    return conversation.node(turn_id).parent


def _last_answer(conversation: Conversation) -> TurnId:
    answer = conversation.last_assistant_id()
    if answer is None:
        msg = message(
            "There is no answer to regenerate on this branch",
            where=f"branch {conversation.active!r}",
            fix="Send a message first.",
        )
        raise UnknownTurnError(msg, key="<last assistant turn>")
    return answer


@attrs.define
class Chat:
    """A synchronous chat over a `Store`, a `Client` and one `Target`.

    Args:
        store: where conversations live.
        client: how requests are sent.
        target: the served model.
        params: request parameters (max_tokens, reasoning, ...).
        tools: tool definitions offered with every request.
        policies: the policy chain; None means `convo.policies.default_policies(target)`.
    """

    store: Store
    client: Client
    target: Target
    params: RequestParams = _DEFAULT_PARAMS
    tools: tuple[Tool, ...] = attrs.field(default=(), converter=_tools)
    policies: tuple[Policy, ...] | None = None

    def start(
        self,
        *,
        system_prompt: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a conversation (with an optional system prompt) and return its id."""
        return self.store.create(
            _first_conversation(system_prompt), title=title, metadata=metadata
        )

    def send(
        self,
        conversation_id: str,
        content: str | Block | Iterable[Block],
        *,
        branch: str | None = None,
    ) -> Reply:
        """Append a user message, get the answer, store both, return the reply."""
        return self._exchange(conversation_id, new_turn(content, None), branch)

    def submit_tool_results(
        self,
        conversation_id: str,
        results: Sequence[ToolResultBlock],
        *,
        branch: str | None = None,
    ) -> Reply:
        """Answer the pending tool calls and continue the tool loop."""
        return self._exchange(conversation_id, new_turn(None, results), branch)

    def complete(self, conversation_id: str, *, branch: str | None = None) -> Reply:
        """Answer the stored head as it is (resume after a failed or cut send)."""
        return self._exchange(conversation_id, None, branch)

    def regenerate(self, conversation_id: str, *, branch: str) -> Reply:
        """A new answer beside the last one, on a new branch `branch`."""
        graph = self.store.load_graph(conversation_id)
        at = _fork_point(graph, _last_answer(graph))
        self.store.fork(conversation_id, branch, at=at, switch=True)
        return self._exchange(conversation_id, None, branch)

    def edit(
        self,
        conversation_id: str,
        turn_id: TurnId,
        content: str | Block | Iterable[Block],
        *,
        branch: str,
    ) -> Reply:
        """Replace the user turn `turn_id` on a new branch and answer it."""
        graph = self.store.load_graph(conversation_id)
        self.store.fork(
            conversation_id, branch, at=_fork_point(graph, turn_id), switch=True
        )
        return self._exchange(conversation_id, new_turn(content, None), branch)

    def stream(
        self,
        conversation_id: str,
        content: str | Block | Iterable[Block] | None = None,
        *,
        results: Sequence[ToolResultBlock] | None = None,
        branch: str | None = None,
    ) -> Iterator[StreamEvent]:
        """Like `send`, yielding events as they arrive; the answer is saved at the end.

        The last event is `Finished`. If it carries a `partial` turn, nothing was
        stored for the answer (the user turn stays stored; call `complete()`).
        """
        conversation, view = self._begin(
            conversation_id, new_turn(content, results), branch
        )
        payload = encode_for(view, params=self.params, stream=True)
        for event in self.client.stream(payload, target=self.target):
            if isinstance(event, Finished) and event.turn is not None:
                answer = finish_answer(view, event.turn)
                self._store_answer(conversation_id, conversation, answer)
                yield attrs.evolve(event, turn=answer)
            else:
                yield event

    # ----------------------------------------------------------------- internals

    def _begin(
        self, conversation_id: str, turn: Turn | None, branch: str | None
    ) -> tuple[Conversation, RequestView]:
        conversation = self.store.load(conversation_id, branch=branch)
        if turn is not None:
            expected = conversation.head()
            self.store.append(
                conversation_id,
                turn,
                branch=conversation.active,
                expected_head=expected,
            )
            conversation = conversation.append(turn)
        view = prepare(
            conversation, target=self.target, tools=self.tools, policies=self.policies
        )
        return conversation, view

    def _store_answer(
        self, conversation_id: str, conversation: Conversation, answer: Turn
    ) -> tuple[Conversation, TurnId]:
        turn_id = self.store.append(
            conversation_id,
            answer,
            branch=conversation.active,
            expected_head=conversation.head(),
        )
        return conversation.append(answer), turn_id

    def _exchange(
        self, conversation_id: str, turn: Turn | None, branch: str | None
    ) -> Reply:
        conversation, view = self._begin(conversation_id, turn, branch)
        payload = encode_for(view, params=self.params, stream=False)
        response = self.client.send(payload, target=self.target)
        answer = finish_answer(view, response.turn)
        conversation, turn_id = self._store_answer(
            conversation_id, conversation, answer
        )
        return Reply(
            conversation_id=conversation_id,
            conversation=conversation,
            turn=answer,
            turn_id=turn_id,
            notes=view.notes,
            attempts=response.attempts,
        )


@attrs.define
class AsyncChat:
    """The asyncio twin of `Chat`, over an `AsyncStore` and an `AsyncClient`."""

    store: AsyncStore
    client: AsyncClient
    target: Target
    params: RequestParams = _DEFAULT_PARAMS
    tools: tuple[Tool, ...] = attrs.field(default=(), converter=_tools)
    policies: tuple[Policy, ...] | None = None

    async def start(
        self,
        *,
        system_prompt: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a conversation and return its id."""
        return await self.store.create(
            _first_conversation(system_prompt), title=title, metadata=metadata
        )

    async def send(
        self,
        conversation_id: str,
        content: str | Block | Iterable[Block],
        *,
        branch: str | None = None,
    ) -> Reply:
        """Append a user message, get the answer, store both, return the reply."""
        return await self._exchange(conversation_id, new_turn(content, None), branch)

    async def submit_tool_results(
        self,
        conversation_id: str,
        results: Sequence[ToolResultBlock],
        *,
        branch: str | None = None,
    ) -> Reply:
        """Answer the pending tool calls and continue the tool loop."""
        return await self._exchange(conversation_id, new_turn(None, results), branch)

    async def complete(
        self, conversation_id: str, *, branch: str | None = None
    ) -> Reply:
        """Answer the stored head as it is."""
        return await self._exchange(conversation_id, None, branch)

    async def regenerate(self, conversation_id: str, *, branch: str) -> Reply:
        """A new answer beside the last one, on a new branch `branch`."""
        graph = await self.store.load_graph(conversation_id)
        await self.store.fork(
            conversation_id,
            branch,
            at=_fork_point(graph, _last_answer(graph)),
            switch=True,
        )
        return await self._exchange(conversation_id, None, branch)

    async def edit(
        self,
        conversation_id: str,
        turn_id: TurnId,
        content: str | Block | Iterable[Block],
        *,
        branch: str,
    ) -> Reply:
        """Replace the user turn `turn_id` on a new branch and answer it."""
        graph = await self.store.load_graph(conversation_id)
        await self.store.fork(
            conversation_id, branch, at=_fork_point(graph, turn_id), switch=True
        )
        return await self._exchange(conversation_id, new_turn(content, None), branch)

    async def stream(
        self,
        conversation_id: str,
        content: str | Block | Iterable[Block] | None = None,
        *,
        results: Sequence[ToolResultBlock] | None = None,
        branch: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Like `send`, yielding events as they arrive; the answer is saved at the end."""
        conversation, view = await self._begin(
            conversation_id, new_turn(content, results), branch
        )
        payload = encode_for(view, params=self.params, stream=True)
        async for event in self.client.stream(payload, target=self.target):
            if isinstance(event, Finished) and event.turn is not None:
                answer = finish_answer(view, event.turn)
                await self._store_answer(conversation_id, conversation, answer)
                yield attrs.evolve(event, turn=answer)
            else:
                yield event

    async def _begin(
        self, conversation_id: str, turn: Turn | None, branch: str | None
    ) -> tuple[Conversation, RequestView]:
        conversation = await self.store.load(conversation_id, branch=branch)
        if turn is not None:
            expected = conversation.head()
            await self.store.append(
                conversation_id,
                turn,
                branch=conversation.active,
                expected_head=expected,
            )
            conversation = conversation.append(turn)
        view = prepare(
            conversation, target=self.target, tools=self.tools, policies=self.policies
        )
        return conversation, view

    async def _store_answer(
        self, conversation_id: str, conversation: Conversation, answer: Turn
    ) -> tuple[Conversation, TurnId]:
        turn_id = await self.store.append(
            conversation_id,
            answer,
            branch=conversation.active,
            expected_head=conversation.head(),
        )
        return conversation.append(answer), turn_id

    async def _exchange(
        self, conversation_id: str, turn: Turn | None, branch: str | None
    ) -> Reply:
        conversation, view = await self._begin(conversation_id, turn, branch)
        payload = encode_for(view, params=self.params, stream=False)
        response = await self.client.send(payload, target=self.target)
        answer = finish_answer(view, response.turn)
        conversation, turn_id = await self._store_answer(
            conversation_id, conversation, answer
        )
        return Reply(
            conversation_id=conversation_id,
            conversation=conversation,
            turn=answer,
            turn_id=turn_id,
            notes=view.notes,
            attempts=response.attempts,
        )

"""`AsyncChat`: the asyncio twin of `Chat`, with the same order and contracts.

See `convo._chat._sync` for the exchange order (nothing is stored before the request
is built and validated), pending and answered heads, and conflict side branches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import attrs

from convo._blocks import Block, ToolResultBlock
from convo._chat._compact import (
    Summarizer,
    compactable,
    compaction_payload,
    over_threshold,
    plan_compaction,
    summary_text,
)
from convo._chat._core import (
    Exchange,
    Reply,
    answer_conflict,
    check_editable,
    check_params,
    conflict_branch,
    finish_answer,
    last_answer,
    new_turn,
    plan,
)
from convo._chat._sync import DEFAULT_PARAMS, first_conversation, tools_tuple
from convo._check import expect_instance
from convo._events import Finished, StreamEvent
from convo._graph import Conversation
from convo._ids import TurnId, compute_turn_id
from convo._params import RequestParams
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn
from convo.client import AsyncClient
from convo.errors import AnswerConflictError, ConflictError
from convo.policies import Policy, summary_turn
from convo.store import AsyncStore

__all__ = ["AsyncChat"]

_SIDE_BRANCH_ATTEMPTS = 5


@attrs.define
class AsyncChat:
    """The asyncio twin of `Chat`, over an `AsyncStore` and an `AsyncClient`.

    Same checks, order and errors as `Chat` (refused parameters raise
    `RequestRejectedError` at construction); `compact_at` and
    `compact_keep_last` as on `Chat`.
    """

    store: AsyncStore
    client: AsyncClient
    target: Target
    params: RequestParams = DEFAULT_PARAMS
    tools: tuple[Tool, ...] = attrs.field(default=(), converter=tools_tuple)
    policies: tuple[Policy, ...] | None = None
    compact_at: int | None = None
    compact_keep_last: int = 1
    compact_summarizer: Summarizer | None = None

    def __attrs_post_init__(self) -> None:
        expect_instance(
            self.store, AsyncStore, "store", fix="Pass a convo.store.AsyncStore."
        )
        expect_instance(
            self.client, AsyncClient, "client", fix="Pass a convo.client.AsyncClient."
        )
        check_params(self.target, self.params, self.tools)

    async def start(
        self,
        *,
        system_prompt: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a conversation and return its id."""
        return await self.store.create(
            first_conversation(system_prompt), title=title, metadata=metadata
        )

    async def send(
        self,
        conversation_id: str,
        content: str | Block | Iterable[Block],
        *,
        branch: str | None = None,
    ) -> Reply:
        """Append a user message, get the answer, store both (see `Chat.send`)."""
        return await self._exchange(conversation_id, new_turn(content, None), branch)

    async def compact(
        self,
        conversation_id: str,
        *,
        summarizer: Summarizer | None = None,
        keep_last: int = 0,
        branch: str | None = None,
    ) -> TurnId:
        """Summarise the branch into a summary turn at its head (see `Chat.compact`)."""
        loaded = await self.store.load(conversation_id, branch=branch)
        plan = plan_compaction(loaded, target=self.target, keep_last=keep_last)
        if summarizer is None:
            payload = compaction_payload(plan, target=self.target, params=self.params)
            text = (await self.client.send(payload, target=self.target)).turn.text
        else:
            text = summarizer(plan.turns)
        turn = summary_turn(summary_text(text), covers=plan.covers)
        return await self.store.append(
            conversation_id, turn, branch=loaded.active, expected_head=plan.head
        )

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
        """Answer the stored head as it is (see `Chat.complete`)."""
        return await self._exchange(conversation_id, None, branch)

    async def regenerate(self, conversation_id: str, *, branch: str) -> Reply:
        """A new answer beside the last one, on a new branch `branch`."""
        graph = await self.store.load_graph(conversation_id)
        at = graph.node(last_answer(graph)).parent
        exchange = self._plan(
            graph.fork(branch, at=at, switch=True), None, stream=False
        )
        await self.store.fork(conversation_id, branch, at=at, switch=True)
        return await self._send(conversation_id, exchange)

    async def edit(
        self,
        conversation_id: str,
        turn_id: TurnId,
        content: str | Block | Iterable[Block],
        *,
        branch: str,
    ) -> Reply:
        """Replace the user turn `turn_id` on a new branch and answer it (see `Chat.edit`)."""
        graph = await self.store.load_graph(conversation_id)
        check_editable(graph, turn_id)
        at = graph.node(turn_id).parent
        loaded = graph.fork(branch, at=at, switch=True)
        exchange = self._plan(loaded, new_turn(content, None), stream=False)
        await self.store.fork(conversation_id, branch, at=at, switch=True)
        return await self._send(conversation_id, exchange)

    async def preview(
        self,
        conversation_id: str,
        content: str | Block | Iterable[Block] | None = None,
        *,
        results: Sequence[ToolResultBlock] | None = None,
        branch: str | None = None,
        stream: bool = False,
    ) -> dict[str, Any]:
        """The exact request body the next call would post (see `Chat.preview`)."""
        loaded = await self.store.load(conversation_id, branch=branch)
        return self._plan(loaded, new_turn(content, results), stream=stream).payload

    def stream(
        self,
        conversation_id: str,
        content: str | Block | Iterable[Block] | None = None,
        *,
        branch: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Like `send`, yielding events as they arrive (see `Chat.stream`)."""
        return self._stream(conversation_id, new_turn(content, None), branch)

    def stream_tool_results(
        self,
        conversation_id: str,
        results: Sequence[ToolResultBlock],
        *,
        branch: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Like `submit_tool_results`, yielding events as they arrive."""
        return self._stream(conversation_id, new_turn(None, results), branch)

    # ----------------------------------------------------------------- internals

    async def _stream(
        self, conversation_id: str, turn: Turn | None, branch: str | None
    ) -> AsyncIterator[StreamEvent]:
        loaded = await self.store.load(conversation_id, branch=branch)
        exchange = self._plan(loaded, turn, stream=True)
        await self._store_question(conversation_id, exchange)
        async for event in self.client.stream(exchange.payload, target=self.target):
            if isinstance(event, Finished):
                reply = await self._store_answer(
                    conversation_id, exchange, event.turn, 1
                )
                yield attrs.evolve(event, turn=reply.turn)
            else:
                yield event

    def _plan(
        self, loaded: Conversation, turn: Turn | None, *, stream: bool
    ) -> Exchange:
        return plan(
            loaded,
            turn,
            target=self.target,
            tools=self.tools,
            policies=self.policies,
            params=self.params,
            stream=stream,
        )

    async def _exchange(
        self, conversation_id: str, turn: Turn | None, branch: str | None
    ) -> Reply:
        loaded = await self.store.load(conversation_id, branch=branch)
        exchange = self._plan(loaded, turn, stream=False)
        if over_threshold(exchange.view, turn, self.compact_at) and compactable(
            loaded, target=self.target, keep_last=self.compact_keep_last
        ):
            await self.compact(
                conversation_id,
                summarizer=self.compact_summarizer,
                keep_last=self.compact_keep_last,
                branch=branch,
            )
            loaded = await self.store.load(conversation_id, branch=branch)
            exchange = self._plan(loaded, turn, stream=False)
        return await self._send(conversation_id, exchange)

    async def _send(self, conversation_id: str, exchange: Exchange) -> Reply:
        await self._store_question(conversation_id, exchange)
        response = await self.client.send(exchange.payload, target=self.target)
        return await self._store_answer(
            conversation_id, exchange, response.turn, response.attempts
        )

    async def _store_question(self, conversation_id: str, exchange: Exchange) -> None:
        if exchange.turn is not None:
            await self.store.append(
                conversation_id,
                exchange.turn,
                branch=exchange.loaded.active,
                expected_head=exchange.loaded.head(),
            )

    async def _store_answer(
        self, conversation_id: str, exchange: Exchange, raw: Turn, attempts: int
    ) -> Reply:
        answer = finish_answer(exchange.view, raw)
        conversation = exchange.conversation
        try:
            turn_id = await self.store.append(
                conversation_id,
                answer,
                branch=conversation.active,
                expected_head=conversation.head(),
            )
        except ConflictError as exc:
            raise await self._side_branch(
                conversation_id, exchange, answer, attempts, exc
            ) from exc
        return Reply(
            conversation_id=conversation_id,
            conversation=conversation.append(answer),
            turn=answer,
            turn_id=turn_id,
            notes=exchange.view.notes,
            attempts=attempts,
        )

    async def _side_branch(
        self,
        conversation_id: str,
        exchange: Exchange,
        answer: Turn,
        attempts: int,
        exc: ConflictError,
    ) -> AnswerConflictError:
        at = exchange.conversation.head()
        for attempt in range(_SIDE_BRANCH_ATTEMPTS):
            name = conflict_branch(compute_turn_id(at, answer), attempt)
            try:
                await self.store.fork(conversation_id, name, at=at, switch=False)
                turn_id = await self.store.append(
                    conversation_id, answer, branch=name, expected_head=at
                )
            except ConflictError:
                continue
            reply = Reply(
                conversation_id=conversation_id,
                conversation=await self.store.load(conversation_id, branch=name),
                turn=answer,
                turn_id=turn_id,
                notes=exchange.view.notes,
                attempts=attempts,
            )
            return answer_conflict(reply, branch=name, answered=at, moved_to=exc.actual)
        raise exc

"""`Chat`: the few lines a backend would otherwise write (`AsyncChat` is its twin).

One exchange, in this order: load the branch; build the request in memory
(the new turn appended, the target's policies applied, validated, encoded);
only then store the new turn; send; stamp the answer with the digest of what
it answered and store it with compare-and-set on the branch head. So a request
the target would refuse leaves the store exactly as it was.

The head of a branch says what may come next. A head that waits for its answer
(a user turn or tool results, left by a failed send) is answered by
`complete()`; `send` on it raises `PendingTurnError` instead of putting two
user messages in a row. `complete()` on an answered head raises
`NothingPendingError` and sends nothing.

A paid-for answer is never dropped: if another writer moved the branch while
the request was in flight, the answer is stored on a side branch
`conflict-<id>` forked at the turn it answered, and `AnswerConflictError`
(a `ConflictError`) carries the `Reply`, the branch name and the turn id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
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
from convo._check import expect_instance
from convo._events import Finished, StreamEvent
from convo._graph import Conversation
from convo._ids import TurnId, compute_turn_id
from convo._params import RequestParams
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn, system
from convo.client import Client
from convo.errors import AnswerConflictError, ConflictError
from convo.policies import Policy, summary_turn
from convo.store import Store

__all__ = ["Chat", "Reply"]

DEFAULT_PARAMS = RequestParams(max_tokens=4096)
_SIDE_BRANCH_ATTEMPTS = 5


def tools_tuple(items: Iterable[Tool]) -> tuple[Tool, ...]:
    """The converter of the `tools` field."""
    return tuple(items)


def first_conversation(system_prompt: str | None) -> Conversation:
    """A new conversation, with the system prompt if one is given."""
    conversation = Conversation.new()
    if system_prompt:
        conversation = conversation.append(system(system_prompt))
    return conversation


@attrs.define
class Chat:
    """A synchronous chat over a `Store`, a `Client` and one `Target`.

    Parameters the target refuses (reasoning style, a thinking budget not
    below `max_tokens`, unknown fields, ...) raise `RequestRejectedError` here,
    at construction, and again on every call before anything is stored.

    Args:
        store: where conversations live.
        client: how requests are sent.
        target: the served model.
        params: request parameters (max_tokens, reasoning, ...).
        tools: tool definitions offered with every request.
        policies: the policy chain; None means `convo.policies.default_policies(target)`.
        compact_at: compact automatically (`compact`, keeping
            `compact_keep_last` exchanges) before a message is sent when the
            request would be over this many tokens (`count_view`); None
            (the default) never compacts on its own.
        compact_keep_last: exchanges kept verbatim by the automatic compaction.
        compact_summarizer: who writes the automatic summary (None: the model).
    """

    store: Store
    client: Client
    target: Target
    params: RequestParams = DEFAULT_PARAMS
    tools: tuple[Tool, ...] = attrs.field(default=(), converter=tools_tuple)
    policies: tuple[Policy, ...] | None = None
    compact_at: int | None = None
    compact_keep_last: int = 1
    compact_summarizer: Summarizer | None = None

    def __attrs_post_init__(self) -> None:
        expect_instance(self.store, Store, "store", fix="Pass a convo.store.Store.")
        expect_instance(
            self.client, Client, "client", fix="Pass a convo.client.Client."
        )
        check_params(self.target, self.params, self.tools)

    def start(
        self,
        *,
        system_prompt: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a conversation (with an optional system prompt) and return its id."""
        return self.store.create(
            first_conversation(system_prompt), title=title, metadata=metadata
        )

    def send(
        self,
        conversation_id: str,
        content: str | Block | Iterable[Block],
        *,
        branch: str | None = None,
    ) -> Reply:
        """Append a user message, get the answer, store both, return the reply.

        Raises:
            PendingTurnError: the head still waits for its answer; call `complete()`.
            RequestRejectedError: the target would refuse the request (nothing stored).
            AnswerConflictError: the branch moved in flight; the answer is on a side branch.
        """
        return self._exchange(conversation_id, new_turn(content, None), branch)

    def compact(
        self,
        conversation_id: str,
        *,
        summarizer: Summarizer | None = None,
        keep_last: int = 0,
        branch: str | None = None,
    ) -> TurnId:
        """Summarise the branch into a summary turn at its head; return its id.

        The covered turns stay stored; the request view shows the summary in
        their place from now on (`convo.policies.apply_summaries`), and other
        branches are unaffected. The summary is written by `summarizer` (the
        turns to summarise, as the request view shows them, to text) or, by
        default, by the model: one request with `convo.COMPACT_PROMPT` and a
        transcript, through this chat's client and target.

        Args:
            keep_last: the last exchanges to keep verbatim after the summary.

        Raises:
            NothingPendingError: the head is not a finished answer (a tool
                session or a question is open), or nothing is left to summarise.
        """
        loaded = self.store.load(conversation_id, branch=branch)
        plan = plan_compaction(loaded, target=self.target, keep_last=keep_last)
        if summarizer is None:
            payload = compaction_payload(plan, target=self.target, params=self.params)
            text = self.client.send(payload, target=self.target).turn.text
        else:
            text = summarizer(plan.turns)
        turn = summary_turn(summary_text(text), covers=plan.covers)
        return self.store.append(
            conversation_id, turn, branch=loaded.active, expected_head=plan.head
        )

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
        """Answer the stored head as it is (resume after a failed or cut send).

        Raises:
            NothingPendingError: the head is already answered (or its tool calls
                need results); nothing is sent.
        """
        return self._exchange(conversation_id, None, branch)

    def regenerate(self, conversation_id: str, *, branch: str) -> Reply:
        """A new answer beside the last one, on a new branch `branch`."""
        graph = self.store.load_graph(conversation_id)
        at = graph.node(last_answer(graph)).parent
        loaded = graph.fork(branch, at=at, switch=True)
        exchange = self._plan(loaded, None, stream=False)
        self.store.fork(conversation_id, branch, at=at, switch=True)
        return self._send(conversation_id, exchange)

    def edit(
        self,
        conversation_id: str,
        turn_id: TurnId,
        content: str | Block | Iterable[Block],
        *,
        branch: str,
    ) -> Reply:
        """Replace the user turn `turn_id` on a new branch and answer it.

        Raises:
            RoleOrderError: `turn_id` is not a user message (a system turn, an
                answer or tool results); nothing is stored.
        """
        graph = self.store.load_graph(conversation_id)
        check_editable(graph, turn_id)
        at = graph.node(turn_id).parent
        loaded = graph.fork(branch, at=at, switch=True)
        exchange = self._plan(loaded, new_turn(content, None), stream=False)
        self.store.fork(conversation_id, branch, at=at, switch=True)
        return self._send(conversation_id, exchange)

    def preview(
        self,
        conversation_id: str,
        content: str | Block | Iterable[Block] | None = None,
        *,
        results: Sequence[ToolResultBlock] | None = None,
        branch: str | None = None,
        stream: bool = False,
    ) -> dict[str, Any]:
        """The exact request body the next `send` (with `content`),
        `submit_tool_results` (with `results`) or `complete` (with neither)
        would post, after policies and validation; nothing is stored or sent.

        Raises the same errors as that call would before sending.
        """
        loaded = self.store.load(conversation_id, branch=branch)
        turn = new_turn(content, results)
        return self._plan(loaded, turn, stream=stream).payload

    def stream(
        self,
        conversation_id: str,
        content: str | Block | Iterable[Block] | None = None,
        *,
        branch: str | None = None,
    ) -> Iterator[StreamEvent]:
        """Like `send` (or `complete` with no content), yielding events as they arrive.

        The answer is stored when the stream finishes; the last event is
        `Finished` with the stored turn.

        Raises:
            StreamInterruptedError: the stream ended (even cleanly) or dropped
                before a whole answer; `.partial` is what arrived, as the client
                reports it. Nothing is stored for it; the question stays
                stored, so `complete()` asks again.
        """
        return self._stream(conversation_id, new_turn(content, None), branch)

    def stream_tool_results(
        self,
        conversation_id: str,
        results: Sequence[ToolResultBlock],
        *,
        branch: str | None = None,
    ) -> Iterator[StreamEvent]:
        """Like `submit_tool_results`, yielding events as they arrive (see `stream`)."""
        return self._stream(conversation_id, new_turn(None, results), branch)

    # ----------------------------------------------------------------- internals

    def _stream(
        self, conversation_id: str, turn: Turn | None, branch: str | None
    ) -> Iterator[StreamEvent]:
        loaded = self.store.load(conversation_id, branch=branch)
        exchange = self._plan(loaded, turn, stream=True)
        self._store_question(conversation_id, exchange)
        for event in self.client.stream(exchange.payload, target=self.target):
            if isinstance(event, Finished):
                reply = self._store_answer(conversation_id, exchange, event.turn, 1)
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

    def _exchange(
        self, conversation_id: str, turn: Turn | None, branch: str | None
    ) -> Reply:
        loaded = self.store.load(conversation_id, branch=branch)
        exchange = self._plan(loaded, turn, stream=False)
        if over_threshold(exchange.view, turn, self.compact_at) and compactable(
            loaded, target=self.target, keep_last=self.compact_keep_last
        ):
            self.compact(
                conversation_id,
                summarizer=self.compact_summarizer,
                keep_last=self.compact_keep_last,
                branch=branch,
            )
            loaded = self.store.load(conversation_id, branch=branch)
            exchange = self._plan(loaded, turn, stream=False)
        return self._send(conversation_id, exchange)

    def _send(self, conversation_id: str, exchange: Exchange) -> Reply:
        self._store_question(conversation_id, exchange)
        response = self.client.send(exchange.payload, target=self.target)
        return self._store_answer(
            conversation_id, exchange, response.turn, response.attempts
        )

    def _store_question(self, conversation_id: str, exchange: Exchange) -> None:
        if exchange.turn is not None:
            self.store.append(
                conversation_id,
                exchange.turn,
                branch=exchange.loaded.active,
                expected_head=exchange.loaded.head(),
            )

    def _store_answer(
        self, conversation_id: str, exchange: Exchange, raw: Turn, attempts: int
    ) -> Reply:
        answer = finish_answer(exchange.view, raw)
        conversation = exchange.conversation
        try:
            turn_id = self.store.append(
                conversation_id,
                answer,
                branch=conversation.active,
                expected_head=conversation.head(),
            )
        except ConflictError as exc:
            raise self._side_branch(
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

    def _side_branch(
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
                self.store.fork(conversation_id, name, at=at, switch=False)
                turn_id = self.store.append(
                    conversation_id, answer, branch=name, expected_head=at
                )
            except ConflictError:
                continue
            reply = Reply(
                conversation_id=conversation_id,
                conversation=self.store.load(conversation_id, branch=name),
                turn=answer,
                turn_id=turn_id,
                notes=exchange.view.notes,
                attempts=attempts,
            )
            return answer_conflict(reply, branch=name, answered=at, moved_to=exc.actual)
        raise exc

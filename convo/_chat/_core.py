"""The pure steps of one chat exchange, shared by `Chat` and `AsyncChat`.

An exchange is: take the stored path, add the new turn (user message or tool
results), build the request view, apply the target's policies, encode the
payload; then, when the answer arrives, stamp it with the digest of the view it
answered (prefix binding, rule R5). Only the I/O (store, client) differs
between the sync and async shells, so everything else lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from convo._blocks import Block, ToolCallBlock, ToolResultBlock
from convo._graph import Conversation
from convo._ids import TurnId
from convo._params import RequestParams
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn, Usage, tool_results, user
from convo.errors import (
    AnswerConflictError,
    NothingPendingError,
    PendingTurnError,
    RoleOrderError,
    UnknownTurnError,
)
from convo.policies import (
    Policy,
    PolicyNote,
    RequestView,
    compose,
    default_policies,
    is_summary,
    prefix_digest,
    validate,
)
from convo.wire import wire_for

__all__ = [
    "Exchange",
    "Reply",
    "answer_conflict",
    "check_editable",
    "check_head",
    "check_params",
    "conflict_branch",
    "encode_for",
    "finish_answer",
    "last_answer",
    "new_turn",
    "plan",
    "prepare",
]


@attrs.frozen(kw_only=True)
class Reply:
    """The outcome of one exchange: the stored answer and where it stands."""

    conversation_id: str
    conversation: Conversation
    """The conversation after the answer was stored (its active branch holds it)."""
    turn: Turn
    turn_id: TurnId
    notes: tuple[PolicyNote, ...] = ()
    """What the policies did to the request (dropped reasoning, cache plan, ...)."""
    attempts: int = 1

    @property
    def text(self) -> str:
        """The answer's text."""
        return self.turn.text

    @property
    def tool_calls(self) -> tuple[ToolCallBlock, ...]:
        """Tool calls the caller must answer with `submit_tool_results`."""
        return self.turn.tool_calls

    @property
    def usage(self) -> Usage | None:
        """Token usage of the answer, as the endpoint reported it."""
        return self.turn.usage


def new_turn(
    message: str | Block | Iterable[Block] | None,
    results: Sequence[ToolResultBlock] | None,
) -> Turn | None:
    """The turn an exchange adds: a user message, tool results, or nothing."""
    if results:
        return tool_results(*results)
    if message is None:
        return None
    return user(message)


def prepare(
    conversation: Conversation,
    *,
    target: Target,
    tools: Sequence[Tool],
    policies: Sequence[Policy] | None,
) -> RequestView:
    """The request view of `conversation`'s active path after the policies.

    Raises:
        RequestRejectedError: the view breaks a rule of the target.
    """
    chain = tuple(default_policies(target) if policies is None else policies)
    source = conversation.path()
    view = compose(*chain)(RequestView(turns=source, tools=tuple(tools), target=target))
    # Refuse here, before anything is sent, what the target would answer with a 400.
    validate(view, source=source)
    return view


def encode_for(
    view: RequestView, *, params: RequestParams, stream: bool
) -> dict[str, Any]:
    """Encode a view with the wire format of its target."""
    request_params = attrs.evolve(params, stream=stream)
    payload: dict[str, Any] = wire_for(view.target).encode_request(
        view.turns, target=view.target, params=request_params, tools=view.tools
    )
    return payload


def finish_answer(view: RequestView, answer: Turn) -> Turn:
    """The answer stamped with the digest of the view it answered (rule R5)."""
    return attrs.evolve(
        answer, generated_from=prefix_digest(view.turns, target=view.target)
    )


def last_answer(conversation: Conversation) -> TurnId:
    """The last assistant turn of the active branch.

    Raises:
        UnknownTurnError: the branch has no answer yet.
    """
    answer = conversation.last_assistant_id()
    if answer is None:
        raise UnknownTurnError(
            "There is no answer to regenerate on this branch",
            key="<last assistant turn>",
            where=f"branch {conversation.active!r}",
            fix="Send a message first.",
        )
    return answer


def check_params(target: Target, params: RequestParams, tools: Sequence[Tool]) -> None:
    """Refuse parameters (and tools) the target would reject, before any request.

    The same checks the wire layer runs on every request (R14-R16, `max_tokens`),
    run on a one-message probe, so a `Chat` with refused parameters fails when
    it is built instead of on its first send.

    Raises:
        RequestRejectedError: the target refuses these parameters or tools.
    """
    probe = RequestView(turns=(user("."),), tools=tuple(tools), target=target)
    encode_for(probe, params=params, stream=False)


def _pending(turn: Turn) -> bool:
    """A user turn or tool results waiting for an answer (a summary waits for none)."""
    return turn.role in ("user", "tool") and not is_summary(turn)


def check_head(conversation: Conversation, turn: Turn | None) -> None:
    """Refuse an exchange the branch head cannot take.

    A user message needs a head that is not itself waiting for an answer (two
    user turns in a row are never sent by accident); `complete()` (no new turn)
    needs a head that waits for one.

    Raises:
        PendingTurnError: a user message on a head still waiting for its answer.
        NothingPendingError: `complete()` on an answered head, an empty branch,
            or an assistant turn whose tool calls still need results.
    """
    head = conversation.head()
    last = None if head is None else conversation.turn(head)
    where = f"branch {conversation.active!r}"
    if turn is not None:
        if turn.is_genuine_user and last is not None and _pending(last):
            kind = "tool results" if last.role == "tool" else "a user turn"
            raise PendingTurnError(
                f"The branch head is {kind} still waiting for its answer; "
                "sending would put two user messages in a row",
                turn_id=head,
                path=where,
                received=turn.text,
                fix="Call complete() to answer the pending turn first, then send.",
            )
        return
    if last is None or not _pending(last):
        if last is not None and last.tool_calls:
            what = "The branch head is an assistant turn whose tool calls need results"
            fix = "Answer them with submit_tool_results()."
        else:
            what = "The branch head has no question waiting for an answer"
            fix = (
                "Send a message, or use regenerate() for another answer "
                "to the last question."
            )
        raise NothingPendingError(
            what,
            turn_id=head,
            path=where,
            received=last.role if last else "<empty>",
            fix=fix,
        )


def check_editable(conversation: Conversation, turn_id: TurnId) -> None:
    """Refuse to edit anything but a genuine user turn (not a system turn, an
    answer, or tool results).

    Raises:
        RoleOrderError: `turn_id` is not a genuine user turn.
    """
    turn = conversation.turn(turn_id)
    if not turn.is_genuine_user:
        kind = (
            "tool results" if turn.role in ("tool", "user") else f"a {turn.role} turn"
        )
        raise RoleOrderError(
            "Only a user message can be edited",
            turn_id=turn_id,
            path=f"turn {turn_id}",
            received=f"<{kind}>",
            fix="Pass the id of a user turn; use regenerate() for a new answer.",
        )


@attrs.frozen(kw_only=True)
class Exchange:
    """One exchange planned in memory: nothing stored, nothing sent yet."""

    loaded: Conversation
    """The branch as loaded."""
    conversation: Conversation
    """The branch with the new turn (if any) appended in memory."""
    turn: Turn | None
    view: RequestView
    payload: dict[str, Any] = attrs.field(hash=False)


def plan(
    loaded: Conversation,
    turn: Turn | None,
    *,
    target: Target,
    tools: Sequence[Tool],
    policies: Sequence[Policy] | None,
    params: RequestParams,
    stream: bool,
) -> Exchange:
    """Check, build, apply policies, validate and encode, all before any write.

    Raises:
        PendingTurnError, NothingPendingError: see `check_head`.
        RequestRejectedError: the target would reject the request.
        PolicyError: a policy cannot produce a valid view.
        InvalidConversationError: the new turn cannot follow the head.
    """
    check_head(loaded, turn)
    conversation = loaded if turn is None else loaded.append(turn)
    view = prepare(conversation, target=target, tools=tools, policies=policies)
    payload = encode_for(view, params=params, stream=stream)
    return Exchange(
        loaded=loaded, conversation=conversation, turn=turn, view=view, payload=payload
    )


def conflict_branch(answer_id: TurnId, attempt: int) -> str:
    """A side-branch name for an answer that lost its place: `conflict-<id>`.

    The name comes from the answer's own id (12 hex digits), so two writers
    never pick the same one for different answers; `attempt` adds a suffix.
    """
    name = "conflict-" + answer_id.removeprefix("b2:")[:12]
    return name if attempt == 0 else f"{name}-{attempt}"


def answer_conflict(
    reply: Reply,
    *,
    branch: str,
    answered: TurnId | None,
    moved_to: str | int | None,
) -> AnswerConflictError:
    """The error saying where a paid-for answer went, and how to reach it."""
    return AnswerConflictError(
        "Another writer moved the branch while the request was in flight; "
        f"the answer is stored on the side branch {branch!r}, forked at the "
        "turn it answered",
        expected=answered,
        actual=moved_to,
        reply=reply,
        branch=branch,
        turn_id=reply.turn_id,
        where=f"conversation {reply.conversation_id!r}",
        received=f"<head {moved_to}>",
        fix=f"Continue from it with branch={branch!r} (or store.switch), or "
        "stay on the moved branch and read the answer from .reply; the "
        "question is stored already, so do not send it again.",
    )

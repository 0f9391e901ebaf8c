"""The pure steps of compaction, shared by `Chat.compact` and `AsyncChat.compact`.

Compaction summarises a prefix of the active branch into one summary turn
appended at its head (`convo.policies.summary_turn`); nothing is deleted. It
happens only at an exchange boundary: the head must be an answer without tool
calls, so no tool session is in progress and no reasoning a server still needs
is summarised away. The last `keep_last` exchanges stay verbatim.

The summary is written by a `Summarizer` (any callable from the turns to
summarise, as the request view shows them, to text) or by the model itself:
one request carrying a single user message, `COMPACT_PROMPT` followed by a
plain-text transcript of those turns, sent through the same client and target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import attrs

from convo._graph import Conversation
from convo._ids import TurnId
from convo._params import RequestParams
from convo._targets import Target
from convo._turns import Turn, user
from convo.errors import NothingPendingError, UsageError
from convo.policies import RequestView, apply_summaries, count_view, is_summary
from convo.policies._trim import units
from convo.wire import wire_for

__all__ = [
    "COMPACT_PROMPT",
    "SUMMARY_HEADER",
    "CompactionPlan",
    "Summarizer",
    "compactable",
    "compaction_payload",
    "over_threshold",
    "plan_compaction",
    "summary_text",
    "transcript",
]

Summarizer: TypeAlias = Callable[[Sequence[Turn]], str]
"""Turns to summarise (as the request view shows them) -> the summary's text."""

COMPACT_PROMPT = (
    "Summarise the conversation below so that it can continue without it. Keep "
    "every fact, decision, name, number and open question the user or the "
    "assistant may need later, and the results of tool calls that matter; leave "
    "out pleasantries and repetition. Write plain prose or short bullet points, "
    "in the conversation's language, addressed to the assistant who will "
    "continue it. Answer with the summary only."
)
"""The instruction `Chat.compact` sends when the model writes the summary."""

SUMMARY_HEADER = "[Summary of the earlier conversation]\n"
"""What the stored summary text starts with, so the model reads it as such."""


@attrs.frozen(kw_only=True)
class CompactionPlan:
    """What one compaction covers: the first `covers` turns of the path."""

    covers: int
    turns: tuple[Turn, ...]
    """The turns to summarise, as the request view shows them (earlier summary applied)."""
    head: TurnId | None
    """The branch head the summary is appended to (compare-and-set)."""


def plan_compaction(
    conversation: Conversation, *, target: Target, keep_last: int
) -> CompactionPlan:
    """Where a compaction of the active branch stops, and what it summarises.

    Raises:
        NothingPendingError: the head is not a finished answer (a tool session
            or a question is pending), or there is nothing to summarise.
        UsageError: `keep_last` is negative.
    """
    if keep_last < 0:
        raise UsageError(
            "keep_last must be 0 or more",
            where="keep_last",
            received=keep_last,
            fix="Pass how many of the newest exchanges to keep verbatim.",
        )
    path = conversation.path()
    where = f"branch {conversation.active!r}"
    last = path[-1] if path else None
    if last is None or last.role != "assistant" or last.tool_calls:
        raise NothingPendingError(
            "Compaction needs a branch whose head is a finished answer; a "
            "question or a tool session is still open",
            turn_id=conversation.head(),
            path=where,
            received=last.role if last else "<empty>",
            fix="Finish the exchange (answer the tool calls, or complete()) first.",
        )
    bounds = [b for b in units(path) if not is_summary(path[b[0]])]
    kept = bounds[len(bounds) - keep_last :] if keep_last else []
    covers = kept[0][0] if kept else len(path)
    view = apply_summaries()(RequestView(turns=path[:covers], target=target))
    head = 1 if path[0].role == "system" else 0
    turns = view.turns[head:]
    if not turns:
        raise NothingPendingError(
            "There is nothing to compact before the exchanges kept verbatim",
            turn_id=conversation.head(),
            path=where,
            received=f"<keep_last={keep_last}>",
            fix="Lower keep_last, or compact after more exchanges.",
        )
    return CompactionPlan(covers=covers, turns=turns, head=conversation.head())


def compactable(conversation: Conversation, *, target: Target, keep_last: int) -> bool:
    """True when `plan_compaction` would succeed (the automatic trigger asks first)."""
    try:
        plan_compaction(conversation, target=target, keep_last=keep_last)
    except NothingPendingError:
        return False
    return True


def over_threshold(view: RequestView, turn: Turn | None, threshold: int | None) -> bool:
    """True when a new user message's request is over `threshold` tokens (`count_view`)."""
    if threshold is None or turn is None or not turn.is_genuine_user:
        return False
    count = count_view(view.turns, target=view.target, tools=view.tools)
    return count.total > threshold


def _line(turn: Turn) -> str:
    parts: list[str] = []
    if turn.text:
        parts.append(turn.text)
    parts.extend(f"[tool call {c.name}({c.arguments})]" for c in turn.tool_calls)
    parts.extend(f"[tool result: {r.text}]" for r in turn.tool_results)
    label = "Tool" if turn.role == "tool" else turn.role.capitalize()
    return f"{label}: {' '.join(parts)}"


def transcript(turns: Sequence[Turn]) -> str:
    """The turns as plain text, one line per turn (reasoning left out)."""
    return "\n".join(_line(t) for t in turns)


def compaction_payload(
    plan: CompactionPlan, *, target: Target, params: RequestParams
) -> dict[str, Any]:
    """The request asking the model for the summary: the prompt and the transcript."""
    prompt = user(
        f"{COMPACT_PROMPT}\n\n<conversation>\n{transcript(plan.turns)}\n</conversation>"
    )
    payload: dict[str, Any] = wire_for(target).encode_request(
        (prompt,), target=target, params=attrs.evolve(params, stream=False), tools=()
    )
    return payload


def summary_text(text: str) -> str:
    """The stored summary: `SUMMARY_HEADER` and the summary."""
    return SUMMARY_HEADER + text.strip()

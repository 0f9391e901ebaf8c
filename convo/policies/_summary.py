"""Compaction summaries: a turn on the branch that stands in for a prefix of it.

Compaction never deletes: `Chat.compact` appends a *summary turn* at the head
of the branch, a user turn whose text summarises the turns before it and whose
metadata `{"convo.summary": {"covers": n}}` says it covers the first `n` turns
of its path (the system turn, if the path starts with one, is never covered).
The covered turns stay in the graph, other branches do not see the summary,
and exports and the store carry it like any turn.

`apply_summaries` builds the request view: the newest summary on the path
replaces the turns it covers (earlier summaries are inside what it summarised,
so they go too), and its text is put in front of the first genuine user turn
after the covered prefix, so the view keeps alternating user and assistant
turns. Every later request builds the same view until the next compaction, so
the prompt prefix is fixed and caching resumes.

The view must be a path from the root (as `Chat` builds it); `apply_summaries`
runs first in `default_policies`.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from convo._blocks import TextBlock
from convo._check import expect_instance
from convo._json import JSON
from convo._turns import Turn, expect_turn
from convo.errors import UsageError
from convo.policies._view import PolicyNote, RequestView

__all__ = [
    "SUMMARY_KEY",
    "ApplySummaries",
    "apply_summaries",
    "is_summary",
    "summary_covers",
    "summary_turn",
]

SUMMARY_KEY = "convo.summary"
"""The metadata key marking a summary turn."""


def summary_turn(text: str, *, covers: int) -> Turn:
    """A summary turn standing in for the first `covers` turns of its path.

    Raises:
        UsageError: `covers` is not an int of 0 or more.
        InvalidTextError: `text` holds a NUL or a lone surrogate.
    """
    expect_instance(covers, int, "covers", fix="Pass 0 or more.")
    if covers < 0:
        raise UsageError(
            "A summary covers a non-negative number of turns",
            where="covers",
            received=covers,
            fix="Pass 0 or more.",
        )
    return Turn(
        role="user",
        blocks=(TextBlock(text=text),),
        metadata={SUMMARY_KEY: {"covers": covers}},
    )


def summary_covers(turn: Turn) -> int | None:
    """How many leading turns of its path `turn` covers, or None if it is no summary.

    Raises:
        UsageError: `turn` is not a Turn.
    """
    given: object = turn  # checked at run time, inline: this runs once per turn
    if not isinstance(given, Turn):
        expect_turn(given)
    if turn.role != "user":
        return None
    value = turn.metadata.get(SUMMARY_KEY)
    if not isinstance(value, Mapping):
        return None
    covers = value.get("covers")
    if isinstance(covers, bool) or not isinstance(covers, int) or covers < 0:
        return None
    return covers


def is_summary(turn: Turn) -> bool:
    """True for a summary turn (`summary_turn`)."""
    return summary_covers(turn) is not None


def _plain(turn: Turn) -> Turn:
    metadata: dict[str, JSON] = {
        k: v for k, v in turn.metadata.items() if k != SUMMARY_KEY
    }
    return attrs.evolve(turn, metadata=metadata)


@attrs.frozen(kw_only=True)
class ApplySummaries:
    """The newest summary on the path replaces the turns it covers; see the module.

    Laws: deterministic, pure, keeps pairing (it covers whole exchanges:
    `Chat.compact` summarises only at an exchange boundary), idempotent (the
    view it returns holds no summary turn).
    """

    name: str = "apply_summaries"
    claims: tuple[str, ...] = ("idempotent",)

    def __call__(self, view: RequestView) -> RequestView:
        turns = view.turns
        last = -1
        for i in range(len(turns) - 1, -1, -1):
            if is_summary(turns[i]):
                last = i
                break
        if last < 0:
            return view
        summary = turns[last]
        covers = min(summary_covers(summary) or 0, last)
        head = 1 if turns and turns[0].role == "system" else 0
        rest = [
            t
            for i, t in enumerate(turns)
            if i >= max(covers, head) and i != last and not is_summary(t)
        ]
        if rest and rest[0].is_genuine_user:
            merged = rest[0].with_blocks((*summary.blocks, *rest[0].blocks))
            body = [merged, *rest[1:]]
        else:
            body = [_plain(summary), *rest]
        note = PolicyNote(
            policy=self.name,
            action="summarise",
            path=f"$.turns[{head}:{covers}]",
            reason=f"the summary at $.turns[{last}] stands in for the "
            f"{max(0, covers - head)} turns it covers",
        )
        return view.with_turns((*turns[:head], *body), (note,))


def apply_summaries() -> ApplySummaries:
    """The summary policy: the newest summary stands in for the turns it covers.

    See `ApplySummaries`.
    """
    return ApplySummaries()

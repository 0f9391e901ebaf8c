"""Tool pairing: the check every view must pass, and the policy that repairs it.

Rule R10: every tool call has exactly one result before the next user message,
no result answers a call that is not open, and all results of one assistant
turn come consecutively right after it. A *group* here is an assistant turn
with tool calls plus the tool turns directly after it.

The one exception is the *pending* group at the end of a view: an assistant
turn whose calls have no results yet (the application is about to run them).
`pairing_problems(..., pending_ok=True)` accepts it; a request about to be sent
does not (`validate`).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from convo._blocks import ToolCallBlock, ToolResultBlock
from convo._turns import MemoKey, Turn
from convo.policies._view import PolicyNote, RequestView

__all__ = ["RepairToolPairs", "pairing_problems", "repair_tool_pairs"]


TOOL_IDS: MemoKey[tuple[tuple[str, ...], tuple[str, ...]]] = MemoKey(
    "convo.policies.tool_ids"
)
"""A turn's tool call ids and tool result call ids."""


def _ids(turn: Turn) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(call ids, result ids) of a turn, memoized (turns never change)."""
    found = turn.memoized(TOOL_IDS)  # runs per turn per request: no closure on a hit
    if found is not None:
        return found

    def build() -> tuple[tuple[str, ...], tuple[str, ...]]:
        calls = tuple(b.id for b in turn.blocks if isinstance(b, ToolCallBlock))
        results = tuple(
            b.call_id for b in turn.blocks if isinstance(b, ToolResultBlock)
        )
        return calls, results

    return turn.memo(TOOL_IDS, build)


def _complete(turns: Sequence[Turn], start: int, end: int) -> bool:
    """Whether the group's tool turns answer each call exactly once and nothing else."""
    calls = _ids(turns[start])[0]
    if end == start + 2:
        results = _ids(turns[start + 1])[1]
        if len(results) != len(turns[start + 1].blocks):
            return False
    else:
        results = tuple(r for k in range(start + 1, end) for r in _ids(turns[k])[1])
        if any(
            len(_ids(turns[k])[1]) != len(turns[k].blocks)
            for k in range(start + 1, end)
        ):
            return False
    return len(results) == len(calls) and set(results) == set(calls)


def _group_end(turns: Sequence[Turn], start: int) -> int:
    end = start + 1
    while end < len(turns) and turns[end].role == "tool":
        end += 1
    return end


def pairing_problems(
    turns: Sequence[Turn], *, pending_ok: bool = True
) -> list[tuple[str, str]]:
    """Every tool-pairing problem of `turns`, as (path, description) pairs (rule R10).

    Args:
        turns: the view's turns.
        pending_ok: accept a final group whose calls are not all answered yet.
    """
    problems: list[tuple[str, str]] = []
    i = 0
    n = len(turns)
    while i < n:
        turn = turns[i]
        if turn.role == "tool":
            problems.append(
                (
                    f"$.turns[{i}]",
                    "tool turn does not follow an assistant turn with tool calls "
                    "(orphan results)",
                )
            )
            i += 1
            continue
        calls = turn.tool_calls if turn.role == "assistant" else ()
        if not calls:
            i += 1
            continue
        end = _group_end(turns, i)
        open_ids = {c.id for c in calls}
        answered: set[str] = set()
        for k in range(i + 1, end):
            for j, block in enumerate(turns[k].blocks):
                if not isinstance(block, ToolResultBlock):
                    continue
                where = f"$.turns[{k}].blocks[{j}]"
                if block.call_id not in open_ids:
                    problems.append(
                        (where, f"result for {block.call_id!r} answers no open call")
                    )
                elif block.call_id in answered:
                    problems.append(
                        (where, f"second result for call {block.call_id!r}")
                    )
                else:
                    answered.add(block.call_id)
        missing = [c.id for c in calls if c.id not in answered]
        if missing and not (pending_ok and end == n):
            problems.append(
                (
                    f"$.turns[{i}]",
                    f"tool call(s) {', '.join(map(repr, missing))} have no result "
                    + (
                        "before the request ends"
                        if end == n
                        else "before the next turn"
                    ),
                )
            )
        i = end
    return problems


def synthetic_result(call: ToolCallBlock) -> ToolResultBlock:
    """The flagged error result convo inserts for a call left unanswered."""
    return ToolResultBlock(
        call_id=call.id,
        content=f"Error: no result was recorded for tool call {call.id!r} "
        f"({call.name}); the call was not completed.",
        is_error=True,
        synthetic=True,
    )


_NAME = "repair_tool_pairs"


def _repair_group(
    turns: Sequence[Turn], start: int, end: int, notes: list[PolicyNote]
) -> list[Turn] | None:
    """The repaired tool turns of one group, or None when it needs no repair."""
    calls = turns[start].tool_calls
    open_ids = {c.id for c in calls}
    answered: set[str] = set()
    kept: list[Turn] = []
    changed = False
    for k in range(start + 1, end):
        blocks = []
        for j, block in enumerate(turns[k].blocks):
            if isinstance(block, ToolResultBlock):
                if block.call_id not in open_ids or block.call_id in answered:
                    changed = True
                    what = (
                        "answers no call of the assistant turn before it"
                        if block.call_id not in open_ids
                        else "is a second result for its call"
                    )
                    notes.append(
                        PolicyNote(
                            policy=_NAME,
                            action="remove_result",
                            path=f"$.turns[{k}].blocks[{j}]",
                            reason=f"tool result for {block.call_id!r} {what} (R10)",
                        )
                    )
                    continue
                answered.add(block.call_id)
            blocks.append(block)
        if len(blocks) == len(turns[k].blocks):
            kept.append(turns[k])
        elif blocks:
            kept.append(turns[k].with_blocks(blocks))
        else:
            notes.append(
                PolicyNote(
                    policy=_NAME,
                    action="remove_turn",
                    path=f"$.turns[{k}]",
                    reason="every result of this tool turn was removed (R10)",
                )
            )
    missing = [c for c in calls if c.id not in answered]
    # A final group with no tool turn at all is pending: the application has not
    # answered yet. Once it sends any result, or a later turn follows, every
    # call must have one.
    if missing and (end < len(turns) or end > start + 1):
        changed = True
        synthetic = [synthetic_result(c) for c in missing]
        for c in missing:
            notes.append(
                PolicyNote(
                    policy=_NAME,
                    action="insert_result",
                    path=f"$.turns[{start}]",
                    reason=f"tool call {c.id!r} ({c.name}) had no result; a synthetic "
                    "error result (is_error, synthetic) was inserted (R10)",
                )
            )
        if kept:
            last = kept[-1]
            kept[-1] = last.with_blocks((*last.blocks, *synthetic))
        else:
            kept.append(Turn(role="tool", blocks=synthetic))
    return kept if changed else None


@attrs.frozen(kw_only=True)
class RepairToolPairs:
    """Give every tool call exactly one result and remove results that answer none.

    - A call left unanswered before a later turn (or in a final group that has
      some results) gets a synthetic error result (`is_error=True`,
      `synthetic=True`), appended to its group's last tool turn, or in a new
      tool turn right after the assistant turn.
    - Orphan results (no open call) and second results for a call are removed;
      tool turns left empty are removed.
    - Results stay in the tool turns right after their call (rule R10).

    Laws: deterministic, pure, keeps pairing (and makes it valid), idempotent,
    prefix stable.
    """

    name: str = _NAME
    claims: tuple[str, ...] = ("idempotent", "prefix_stable")

    def __call__(self, view: RequestView) -> RequestView:
        turns = view.turns
        out: list[Turn] = []
        notes: list[PolicyNote] = []
        changed = False
        i = 0
        n = len(turns)
        while i < n:
            turn = turns[i]
            if turn.role == "tool":
                changed = True
                notes.append(
                    PolicyNote(
                        policy=self.name,
                        action="remove_turn",
                        path=f"$.turns[{i}]",
                        reason="tool turn follows no assistant turn with tool calls "
                        "(orphan results, R10)",
                    )
                )
                i += 1
                continue
            out.append(turn)
            if turn.role != "assistant" or not _ids(turn)[0]:
                i += 1
                continue
            end = _group_end(turns, i)
            if _complete(turns, i, end):
                out.extend(turns[i + 1 : end])
                i = end
                continue
            repaired = _repair_group(turns, i, end, notes)
            if repaired is None:
                out.extend(turns[i + 1 : end])
            else:
                changed = True
                out.extend(repaired)
            i = end
        if not changed:
            return view
        return view.with_turns(out, notes)


def repair_tool_pairs() -> RepairToolPairs:
    """The policy giving every tool call one result and removing orphans (R10).

    See `RepairToolPairs`.
    """
    return RepairToolPairs()

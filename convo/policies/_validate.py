"""The final check of a request view against the rules of its target.

`validate` raises on the first broken rule, with the rule's id (see
`docs/provider-rules.md`), the path and the fix, so a request a provider would
answer with a 400 fails in convo, before sending. Rules checked here:

- structure: a system turn stands only first (`PolicyError`: no policy should
  ever produce anything else);
- R13: no assistant turn consists of reasoning only;
- R10: every tool call has exactly one result in the tool turns right after
  it, no orphan results, and the request does not end with unanswered calls;
- R2: for a target with `reasoning_required_in_tool_loop`, when the view ends
  inside a tool-use session, the assistant turn whose calls the final tool
  turns answer starts with its reasoning: if it has reasoning, its first
  block is reasoning (interleaved reasoning after a call is fine), and, when `source` (the stored turns the view was
  built from) is given and that turn had reasoning there, it still has some;
- R6: at most `max_breakpoints` markers (tools + system + messages); a target
  without cache support takes none (its endpoint rejects the unknown field,
  R16);
- R7: no marker on reasoning, empty text or an empty tool result;
- R8: no marker has a shorter ttl than a later one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from convo._blocks import ReasoningBlock
from convo._check import expect_instance
from convo._structure import open_tool_calls
from convo._turns import Turn
from convo.errors import PolicyError, RequestRejectedError
from convo.policies._cache import markers, position_path, ttl_rank
from convo.policies._repair import pairing_problems
from convo.policies._view import RequestView

__all__ = ["validate"]


def _reject(view: RequestView, rule: str, what: str, where: str, fix: str) -> None:
    raise RequestRejectedError(
        f"{what} ({rule})", rule=rule, target=view.target.name, path=where, fix=fix
    )


def _check_r2(view: RequestView, source: Sequence[Turn] | None) -> None:
    turns = view.turns
    if not turns or turns[-1].role != "tool":
        return
    state = open_tool_calls(turns)
    if state is None:
        return
    index = state[0]
    turn = turns[index]
    where = f"$.turns[{index}]"
    if turn.reasoning:
        if not isinstance(turn.blocks[0], ReasoningBlock):
            _reject(
                view,
                "R2",
                "The assistant turn continuing the tool loop does not start with its "
                "reasoning",
                where,
                "Keep its reasoning blocks in the order the model produced them.",
            )
        return
    if source is None:
        return
    ids = tuple(c.id for c in turn.tool_calls)
    for original in source:
        if (
            original.role == "assistant"
            and tuple(c.id for c in original.tool_calls) == ids
            and original.reasoning
        ):
            _reject(
                view,
                "R2",
                "The assistant turn continuing the tool loop lost its reasoning; with "
                "thinking on the server requires it",
                where,
                "Keep the current tool session's reasoning (keep_last_reasoning does), "
                "or restart the loop with a new user turn.",
            )


def _check_markers(view: RequestView) -> None:
    found = markers(view.turns, view.tools)
    if not found:
        return
    rules = view.target.cache
    if not rules.supported:
        _reject(
            view,
            "R16",
            f"Target {view.target.name!r} takes no cache_control markers",
            position_path(found[0].position),
            "Remove the markers, or apply cache_breakpoints(), which removes them "
            "for such targets.",
        )
    for m in found:
        if not m.markable:
            _reject(
                view,
                "R7",
                "A cache_control marker sits on reasoning or empty text",
                position_path(m.position),
                "Move it to the nearest non-empty text, image or tool block.",
            )
    if len(found) > rules.max_breakpoints:
        _reject(
            view,
            "R6",
            f"The request has {len(found)} cache_control markers, over the limit of "
            f"{rules.max_breakpoints}",
            position_path(found[0].position),
            "Apply cache_breakpoints(), which evicts the oldest message markers.",
        )
    for earlier, later in itertools.pairwise(found):
        if ttl_rank(earlier.control.ttl) < ttl_rank(later.control.ttl):
            _reject(
                view,
                "R8",
                "An earlier cache marker has a shorter ttl than a later one",
                position_path(earlier.position),
                "Raise it to the longest later ttl (cache_breakpoints does).",
            )


def validate(view: RequestView, *, source: Sequence[Turn] | None = None) -> None:
    """Check a final view against its target's rules (see the module docstring).

    Args:
        view: the view about to be encoded and sent.
        source: the turns the view was built from (e.g. `conversation.path()`),
            which lets the R2 check see reasoning a policy dropped.

    Raises:
        RequestRejectedError: a rule of the target is broken; `.rule` names it.
        PolicyError: the view is malformed in a way no policy should produce.
        UsageError: `view` is not a RequestView.
    """
    expect_instance(
        view, RequestView, "view", fix="Pass the view the policies returned."
    )
    for i, turn in enumerate(view.turns):
        if turn.role == "system" and i:
            where = f"$.turns[{i}]"
            raise PolicyError(
                "A system turn stands after the first turn of the view",
                policy="validate",
                path=where,
                fix="Keep the system turn first; policies never move it.",
            )
        if (
            turn.role == "assistant"
            and turn.blocks
            and all(isinstance(b, ReasoningBlock) for b in turn.blocks)
        ):
            _reject(
                view,
                "R13",
                "An assistant turn consists of reasoning only",
                f"$.turns[{i}]",
                "Drop the turn whole (the reasoning policies do), or keep its text.",
            )
    problems = pairing_problems(view.turns, pending_ok=False)
    if problems:
        where, what = problems[0]
        _reject(
            view,
            "R10",
            f"Tool pairing is broken: {what}",
            where,
            "Apply repair_tool_pairs, or answer every tool call before sending.",
        )
    if view.target.reasoning_required_in_tool_loop:
        _check_r2(view, source)
    _check_markers(view)

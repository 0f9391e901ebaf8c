"""Prompt-cache breakpoint placement (rules R6-R9), and the marker helpers.

Markers are request decorations: convo never needs them in stored history. The
placement policy decides, for one view, where at most
`target.cache.max_breakpoints` `cache_control` markers go, counting the ones
already present (a replayed turn or a tool definition may carry one):

1. markers on a reasoning block or an empty / whitespace text block (or an
   empty tool result) are removed (R7);
2. candidates, by priority: the *rolling* marker on the newest stable block
   (the last markable block of the view), the *previous* rolling marker (where
   the rolling marker of the request that produced the last answer stood, so
   the prefix written then is read now), the system turn, the tool definitions;
3. a candidate whose prefix (tools, then turns up to its turn) is estimated
   below `target.cache.min_cacheable_tokens` is skipped: such a prompt is
   silently not cached (R9; estimate in `convo.policies._trim`);
4. over budget, the oldest message markers are evicted first, then system,
   then tool markers (R6);
5. walking from the last marker back, an earlier marker with a shorter ttl
   than a later one is raised to it (R8).

Every step is recorded as a `PolicyNote` (the plan). Positions sort as tools,
then turns in order (the system turn is the first turn), which is the order
providers read the cached prefix in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

import attrs

from convo._blocks import (
    Block,
    CacheControl,
    ImageBlock,
    ReasoningBlock,
    TextBlock,
    ToolResultBlock,
)
from convo._structure import last_assistant_index
from convo._tools import Tool
from convo._turns import MemoKey, Turn
from convo.errors import PolicyError
from convo.policies._trim import estimate_tokens, estimate_tool_tokens
from convo.policies._view import PolicyNote, RequestView

__all__ = [
    "CacheBreakpoints",
    "CachePlan",
    "Marker",
    "Position",
    "cache_breakpoints",
    "markable",
    "markers",
    "position_path",
    "ttl_rank",
]

Position: TypeAlias = tuple[int, int, int, int]
"""(0, tool, -1, -1) for a tool; (1, turn, block, inner) for a block, inner -1
for the block itself or the index inside a tool result's content."""
Ttl: TypeAlias = Literal["5m", "1h"] | None


@attrs.frozen(kw_only=True)
class Marker:
    """A `cache_control` marker found in a view: where, and what it says."""

    position: Position
    control: CacheControl
    markable: bool
    """False when it sits where no marker may go (reasoning, empty text, R7)."""
    system: bool = False


def ttl_rank(ttl: str | None) -> int:
    """The ordering of ttls: None and `5m` (the default) below `1h`."""
    return 1 if ttl == "1h" else 0


def _blank(block: Block) -> bool:
    if isinstance(block, TextBlock):
        return not block.text.strip()
    if isinstance(block, ToolResultBlock):
        if isinstance(block.content, str):
            return not block.content.strip()
        return not block.content
    return False


def markable(block: Block) -> bool:
    """Whether a marker may sit on `block`: not reasoning, not empty text (R7)."""
    return not isinstance(block, ReasoningBlock) and not _blank(block)


MARKERS: MemoKey[tuple[tuple[int, int, CacheControl, bool], ...]] = MemoKey(
    "convo.policies.markers"
)
"""A turn's cache markers: (block, inner part, control, on a non-blank part)."""


def _turn_markers(turn: Turn) -> tuple[tuple[int, int, CacheControl, bool], ...]:
    def build() -> tuple[tuple[int, int, CacheControl, bool], ...]:
        found: list[tuple[int, int, CacheControl, bool]] = []
        for j, block in enumerate(turn.blocks):
            if block.cache_control is not None:
                found.append((j, -1, block.cache_control, markable(block)))
            if isinstance(block, ToolResultBlock) and not isinstance(
                block.content, str
            ):
                for k, inner in enumerate(block.content):
                    if inner.cache_control is not None:
                        found.append((j, k, inner.cache_control, not _blank(inner)))
        return tuple(found)

    for block in turn.blocks:
        if block.cache_control is not None or (
            isinstance(block, ToolResultBlock) and not isinstance(block.content, str)
        ):
            return turn.memo(MARKERS, build)
    # No marker anywhere (most turns of a long path): what `build` would
    # return, without storing it on the turn.
    return ()


def markers(turns: Sequence[Turn], tools: Sequence[Tool] = ()) -> list[Marker]:
    """Every marker of a view, in prefix order (tools, then turns)."""
    found = [
        Marker(position=(0, t, -1, -1), control=tool.cache_control, markable=True)
        for t, tool in enumerate(tools)
        if tool.cache_control is not None
    ]
    for i, turn in enumerate(turns):
        for j, k, control, ok in _turn_markers(turn):
            found.append(
                Marker(
                    position=(1, i, j, k),
                    control=control,
                    markable=ok,
                    system=turn.role == "system",
                )
            )
    return found


def position_path(position: Position) -> str:
    """The `$.tools[i]` / `$.turns[i].blocks[j]` path of a position."""
    kind, a, b, c = position
    if kind == 0:
        return f"$.tools[{a}]"
    path = f"$.turns[{a}].blocks[{b}]"
    return path if c < 0 else f"{path}.content[{c}]"


def _last_markable(turns: Sequence[Turn], stop: int) -> Position | None:
    for i in range(stop - 1, -1, -1):
        blocks = turns[i].blocks
        for j in range(len(blocks) - 1, -1, -1):
            if markable(blocks[j]):
                return (1, i, j, -1)
    return None


@attrs.frozen(kw_only=True)
class CachePlan:
    """Where the markers of one view go, and why (also reported as notes)."""

    marks: tuple[tuple[Position, Ttl], ...]
    """The final markers, in prefix order."""
    notes: tuple[PolicyNote, ...]


def _set_control(block: Block, inner: int, control: CacheControl | None) -> Block:
    if inner < 0:
        return attrs.evolve(block, cache_control=control)
    assert isinstance(block, ToolResultBlock)  # noqa: S101 - positions come from markers()
    assert not isinstance(block.content, str)  # noqa: S101
    content: list[TextBlock | ImageBlock] = list(block.content)
    content[inner] = attrs.evolve(content[inner], cache_control=control)
    return attrs.evolve(block, content=tuple(content))


def _rewrite(
    view: RequestView, wanted: dict[Position, Ttl], current: dict[Position, Ttl]
) -> RequestView:
    tools = list(view.tools)
    by_turn: dict[int, list[tuple[int, int, CacheControl | None]]] = {}
    for position in sorted(set(wanted) | set(current)):
        control = CacheControl(ttl=wanted[position]) if position in wanted else None
        old = CacheControl(ttl=current[position]) if position in current else None
        if control == old:
            continue
        kind, a, b, c = position
        if kind == 0:
            tools[a] = attrs.evolve(tools[a], cache_control=control)
        else:
            by_turn.setdefault(a, []).append((b, c, control))
    if not by_turn and tools == list(view.tools):
        return view
    turns = list(view.turns)
    for i, changes in by_turn.items():
        blocks = list(turns[i].blocks)
        for j, inner, control in changes:
            blocks[j] = _set_control(blocks[j], inner, control)
        turns[i] = turns[i].with_blocks(blocks)
    return attrs.evolve(view, turns=tuple(turns), tools=tuple(tools))


def _order_ttls(
    marks: dict[Position, Ttl], policy: str, notes: list[PolicyNote]
) -> None:
    """Raise to 1h every marker followed by a longer-lived one (R8)."""
    longest = 0
    for position in sorted(marks, reverse=True):
        rank = ttl_rank(marks[position])
        if rank < longest:
            marks[position] = "1h"
            notes.append(
                PolicyNote(
                    policy=policy,
                    action="raise_ttl",
                    path=position_path(position),
                    reason="an earlier marker may not have a shorter ttl than a "
                    "later one; raised to 1h (R8)",
                )
            )
        longest = max(longest, rank)


@attrs.frozen(kw_only=True)
class CacheBreakpoints:
    """Place prompt-cache markers within the target's budget; see the module docstring.

    Targets without cache support get no markers, and any marker already in the
    view is removed (such a target would refuse or ignore it).

    Laws: deterministic, pure, keeps pairing, idempotent, prefix stable (markers
    aside), at most `max_breakpoints` markers whatever was present, never on
    reasoning or empty text, ttls never increasing from an earlier marker to a
    later one.
    """

    ttl: Ttl = None
    """The ttl of the markers it places (None: the provider default, 5 minutes)."""
    tools: bool = True
    """Mark the last tool definition."""
    system: bool = True
    """Mark the system turn's last block."""
    rolling: bool = True
    """Mark the newest stable block and keep the previous request's rolling marker."""
    name: str = "cache_breakpoints"
    claims: tuple[str, ...] = ("idempotent", "prefix_stable", "places_markers")

    def plan(self, view: RequestView) -> CachePlan:
        """Decide the markers of `view` without applying them."""
        return self._plan(view, markers(view.turns, view.tools))

    def _plan(self, view: RequestView, found: list[Marker]) -> CachePlan:
        rules = view.target.cache
        if not rules.supported:
            return CachePlan(marks=(), notes=self._unsupported(view, found))
        self._check_ttl(view)
        notes: list[PolicyNote] = []
        # The markers already there stay, unless they sit where none may (R7).
        marks, system_positions = self._existing(found, notes)
        # Then the policy's own positions, each only if its prefix is worth caching.
        self._place(view, marks, system_positions, notes)
        # Then the budget (R6) and the ttl order (R8).
        self._evict(marks, system_positions, rules.max_breakpoints, notes)
        _order_ttls(marks, self.name, notes)
        return CachePlan(marks=tuple(sorted(marks.items())), notes=tuple(notes))

    def _unsupported(
        self, view: RequestView, found: list[Marker]
    ) -> tuple[PolicyNote, ...]:
        """Notes removing every marker, for a target that takes none."""
        return tuple(
            PolicyNote(
                policy=self.name,
                action="unmark",
                path=position_path(m.position),
                reason=f"target {view.target.name!r} takes no cache markers",
            )
            for m in found
        )

    def _check_ttl(self, view: RequestView) -> None:
        if self.ttl is not None and self.ttl not in view.target.cache.ttls:
            raise PolicyError(
                f"Target {view.target.name!r} does not take cache ttl {self.ttl!r}",
                policy=self.name,
                path="cache_breakpoints(ttl=...)",
                received=self.ttl,
                fix=f"Use one of {', '.join(view.target.cache.ttls)} or None.",
            )

    def _existing(
        self, found: list[Marker], notes: list[PolicyNote]
    ) -> tuple[dict[Position, Ttl], set[Position]]:
        """The markers already in the view that may stay, and which are on system turns."""
        marks: dict[Position, Ttl] = {}
        system_positions: set[Position] = set()
        for m in found:
            if not m.markable:
                notes.append(
                    PolicyNote(
                        policy=self.name,
                        action="unmark",
                        path=position_path(m.position),
                        reason="a marker may not sit on reasoning or empty text (R7)",
                    )
                )
                continue
            marks[m.position] = m.control.ttl
            if m.system:
                system_positions.add(m.position)
        return marks, system_positions

    def _place(
        self,
        view: RequestView,
        marks: dict[Position, Ttl],
        system_positions: set[Position],
        notes: list[PolicyNote],
    ) -> None:
        """Add the policy's own markers to `marks` (a kept one takes the longer ttl)."""
        minimum = view.target.cache.min_cacheable_tokens
        for position, why in self._candidates(view):
            path = position_path(position)
            if not self._worth_it(view, position, minimum):
                reason = (
                    f"{why}; skipped: the prefix is estimated below the "
                    f"minimum of {minimum} cacheable tokens (R9)"
                )
                notes.append(self._note("skip", path, reason))
                continue
            if position in marks:
                if ttl_rank(self.ttl) > ttl_rank(marks[position]):
                    marks[position] = self.ttl
                notes.append(self._note("keep", path, f"{why}; already marked"))
                continue
            marks[position] = self.ttl
            if position[0] == 1 and view.turns[position[1]].role == "system":
                system_positions.add(position)
            notes.append(self._note("mark", path, why))

    def _note(self, action: str, path: str, reason: str) -> PolicyNote:
        return PolicyNote(policy=self.name, action=action, path=path, reason=reason)

    def _evict(
        self,
        marks: dict[Position, Ttl],
        system_positions: set[Position],
        budget: int,
        notes: list[PolicyNote],
    ) -> None:
        """Drop markers over `budget`: message markers first, then system, tools last."""
        if len(marks) <= budget:
            return

        def eviction_order(position: Position) -> tuple[int, Position]:
            if position[0] == 0:
                return (2, position)
            return (1 if position in system_positions else 0, position)

        for position in sorted(marks, key=eviction_order)[: len(marks) - budget]:
            del marks[position]
            notes.append(
                PolicyNote(
                    policy=self.name,
                    action="evict",
                    path=position_path(position),
                    reason=f"over the budget of {budget} markers per request; "
                    "the oldest message markers go first (R6)",
                )
            )

    def _candidates(self, view: RequestView) -> list[tuple[Position, str]]:
        turns = view.turns
        out: list[tuple[Position, str]] = []
        seen: set[Position] = set()

        def add(position: Position | None, why: str) -> None:
            if position is not None and position not in seen:
                seen.add(position)
                out.append((position, why))

        if self.rolling:
            add(
                _last_markable(turns, len(turns)),
                "rolling: the newest stable block, so this request writes the "
                "longest prefix",
            )
            last = last_assistant_index(turns)
            if last is not None:
                add(
                    _last_markable(turns, last),
                    "previous rolling: where the request that produced the last "
                    "answer put its marker, so that cached prefix is read",
                )
        if self.system and turns and turns[0].role == "system":
            add(
                _last_markable(turns, 1),
                "system: caches the tools and the system prompt",
            )
        if self.tools and view.tools:
            add((0, len(view.tools) - 1, -1, -1), "tools: caches the tool definitions")
        return out

    def _worth_it(self, view: RequestView, position: Position, minimum: int) -> bool:
        if minimum <= 0:
            return True
        total = estimate_tool_tokens(view.tools) if view.tools else 0
        if total >= minimum:
            return True
        if position[0] == 0:
            return False
        for i in range(position[1] + 1):
            total += estimate_tokens(view.turns[i])
            if total >= minimum:
                return True
        return False

    def __call__(self, view: RequestView) -> RequestView:
        found = markers(view.turns, view.tools)
        plan = self._plan(view, found)
        wanted = dict(plan.marks)
        current = {m.position: m.control.ttl for m in found}
        return _rewrite(view, wanted, current).noted(plan.notes)


def cache_breakpoints(
    *,
    ttl: Literal["5m", "1h"] | None = None,
    tools: bool = True,
    system: bool = True,
    rolling: bool = True,
) -> CacheBreakpoints:
    """The cache-marker placement policy (rules R6-R9); see `CacheBreakpoints`.

    Args:
        ttl: ttl of placed markers (None: provider default, 5 minutes).
        tools: mark the last tool definition.
        system: mark the system turn.
        rolling: mark the newest stable block and the previous rolling position.
    """
    return CacheBreakpoints(ttl=ttl, tools=tools, system=system, rolling=rolling)

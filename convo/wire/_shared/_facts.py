"""Per-turn facts the request checks need, computed once per turn for every format.

Most turns carry no cache marker, no image and some real text, and share the
single `NO_FACTS` value, so checking request N+1 costs a pointer comparison per
earlier turn.

Invariant: facts depend on the turn only (never on the target), so they can
live in the turn's memo next to its encoded messages.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from convo._blocks import (
    CacheControl,
    ImageBlock,
    ReasoningBlock,
    TextBlock,
    ToolResultBlock,
)
from convo._turns import MemoKey, Turn

__all__ = ["NO_FACTS", "Facts", "facts_of", "notable_facts", "turn_facts"]


@attrs.frozen(kw_only=True)
class Facts:
    """What the checks need to know about one turn."""

    markers: tuple[tuple[str, CacheControl, str], ...] = ()
    """(path under the turn, marker, "reasoning" | "blank" | "ok")."""
    images: tuple[tuple[str, ImageBlock, str], ...] = ()
    """(path under the turn, image, where it sits: "user", "assistant" or "tool")."""
    blank: bool = False
    """The message would be empty once blank text is dropped (R12)."""


NO_FACTS = Facts()
BLANK = Facts(blank=True)


def _is_blank_text(block: object) -> bool:
    return type(block) is TextBlock and (not block.text or block.text.isspace())


def _slow(turn: Turn) -> Facts:
    markers: list[tuple[str, CacheControl, str]] = []
    images: list[tuple[str, ImageBlock, str]] = []
    for b, block in enumerate(turn.blocks):
        where = f"blocks[{b}]"
        if block.cache_control is not None:
            kind = "ok"
            if isinstance(block, ReasoningBlock):
                kind = "reasoning"
            elif _is_blank_text(block):
                kind = "blank"
            markers.append((where, block.cache_control, kind))
        if isinstance(block, ImageBlock):
            images.append((where, block, turn.role))
        elif isinstance(block, ToolResultBlock) and not isinstance(block.content, str):
            for c, inner in enumerate(block.content):
                if inner.cache_control is not None:
                    kind = "blank" if _is_blank_text(inner) else "ok"
                    markers.append((f"{where}.content[{c}]", inner.cache_control, kind))
                if isinstance(inner, ImageBlock):
                    images.append((f"{where}.content[{c}]", inner, "tool"))
    blank = turn.role != "tool" and all(_is_blank_text(b) for b in turn.blocks)
    return Facts(markers=tuple(markers), images=tuple(images), blank=blank)


def turn_facts(turn: Turn) -> Facts:
    """The facts of `turn` (`NO_FACTS` for the common plain turn)."""
    for block in turn.blocks:
        if (
            block.cache_control is not None
            or type(block) is ImageBlock
            or (type(block) is ToolResultBlock and type(block.content) is not str)
        ):
            return _slow(turn)
    if turn.role == "tool":
        return NO_FACTS
    for block in turn.blocks:
        if not _is_blank_text(block):
            return NO_FACTS
    return BLANK


FACTS: MemoKey[Facts] = MemoKey("convo.facts")
"""A turn's facts (`turn_facts`); they never depend on the target."""


def facts_of(turn: Turn) -> Facts:
    """`turn_facts(turn)`, memoized on the turn (facts never depend on the target)."""
    return turn.memo(FACTS, lambda: turn_facts(turn))


def notable_facts(turns: Sequence[Turn]) -> list[tuple[int, Facts]]:
    """(index, facts) of every turn whose facts are not `NO_FACTS`, in order."""
    out: list[tuple[int, Facts]] = []
    for t, turn in enumerate(turns):
        facts = facts_of(turn)
        if facts is not NO_FACTS:
            out.append((t, facts))
    return out

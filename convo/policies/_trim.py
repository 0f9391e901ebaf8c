"""Token estimates, and `trim`: fit a token budget by dropping whole old exchanges.

The estimate is deliberately simple and cheap: about four characters per token
(`ceil(chars / 4)`) over every field a provider tokenizes (text, reasoning text
and signatures, encrypted reasoning, tool names and arguments, tool results),
plus 4 tokens per block for framing and 1,600 per image (the size Anthropic
bills a ~1.15 megapixel image). It is memoized per turn. Use it to decide, not
to bill: pass your own `estimate` to `trim` for a real tokenizer.

`trim` invariant: it only ever removes whole *units*, oldest first, never the
system turn and never the last unit. A unit is an exchange (a genuine user turn
up to the next one); turns before the first user turn form one unit of their
own. Tool-use sessions live inside one exchange, so they are never split, and
no kept turn is changed, so no assistant turn is left with reasoning only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Literal

import attrs

from convo._blocks import (
    ImageBlock,
    ReasoningBlock,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._tools import Tool
from convo._turns import MemoKey, Turn, expect_turn
from convo.errors import PolicyError
from convo.policies._view import PolicyNote, RequestView

__all__ = [
    "IMAGE_TOKENS",
    "Trim",
    "estimate_tokens",
    "estimate_tool_tokens",
    "trim",
]

IMAGE_TOKENS = 1600
"""The estimate for one image, whatever its size."""
_BLOCK_OVERHEAD = 4


def _chars(turn: Turn) -> tuple[int, int]:
    chars = 0
    images = 0
    for block in turn.blocks:
        if isinstance(block, TextBlock):
            chars += len(block.text)
        elif isinstance(block, ReasoningBlock):
            for part in block.parts:
                if isinstance(part, SummaryText):
                    chars += len(part.text) + len(part.signature or "")
                else:
                    chars += len(part.data)
        elif isinstance(block, ToolCallBlock):
            chars += len(block.name) + len(block.arguments)
        elif isinstance(block, ToolResultBlock):
            if isinstance(block.content, str):
                chars += len(block.content)
            else:
                for inner in block.content:
                    if isinstance(inner, TextBlock):
                        chars += len(inner.text)
                    else:
                        images += 1
        elif isinstance(block, ImageBlock):
            images += 1
    return chars, images


TOKENS: MemoKey[int] = MemoKey("convo.policies.tokens")
"""A turn's estimated tokens (`estimate_tokens`)."""


def estimate_tokens(turn: Turn) -> int:
    """About how many tokens `turn` costs: chars / 4, 1,600 per image, 4 per block.

    Raises:
        UsageError: `turn` is not a Turn.
    """
    given: object = turn  # checked at run time, inline: this runs once per turn
    if not isinstance(given, Turn):
        expect_turn(given)

    def build() -> int:
        chars, images = _chars(turn)
        return (
            -(-chars // 4)
            + images * IMAGE_TOKENS
            + _BLOCK_OVERHEAD * (len(turn.blocks) + 1)
        )

    return turn.memo(TOKENS, build)


def estimate_tool_tokens(tools: Sequence[Tool]) -> int:
    """About how many tokens the tool definitions cost (chars / 4 of name, text, schema)."""
    chars = 0
    for tool in tools:
        schema = json.dumps(tool.parameters, sort_keys=True, separators=(",", ":"))
        chars += len(tool.name) + len(tool.description) + len(schema)
    return -(-chars // 4) + _BLOCK_OVERHEAD * len(tools)


def units(turns: Sequence[Turn]) -> list[tuple[int, int]]:
    """The (start, end) index ranges of the droppable units after a leading system turn."""
    start = 1 if turns and turns[0].role == "system" else 0
    bounds: list[tuple[int, int]] = []
    unit_start = start
    for i in range(start, len(turns)):
        if turns[i].is_genuine_user and i > unit_start:
            bounds.append((unit_start, i))
            unit_start = i
    if unit_start < len(turns):
        bounds.append((unit_start, len(turns)))
    return bounds


@attrs.frozen(kw_only=True)
class Trim:
    """Drop whole oldest exchanges until the view fits `max_tokens`; see `trim`.

    Laws: deterministic, pure, keeps pairing, idempotent. Not prefix stable:
    dropping the oldest exchange changes every prefix (and, with
    `bind_prefixes`, unbinds kept reasoning).
    """

    max_tokens: int
    estimate: Callable[[Turn], int] = estimate_tokens
    on_overflow: Literal["note", "raise"] = "note"
    name: str = "trim"
    claims: tuple[str, ...] = ("idempotent",)

    def __call__(self, view: RequestView) -> RequestView:
        turns = view.turns
        sizes = [self.estimate(t) for t in turns]
        total = sum(sizes) + (estimate_tool_tokens(view.tools) if view.tools else 0)
        if total <= self.max_tokens:
            return view
        bounds = units(turns)
        notes: list[PolicyNote] = []
        dropped = 0
        while total > self.max_tokens and dropped < len(bounds) - 1:
            start, end = bounds[dropped]
            size = sum(sizes[start:end])
            total -= size
            notes.append(
                PolicyNote(
                    policy=self.name,
                    action="remove_turns",
                    path=f"$.turns[{start}:{end}]",
                    reason=f"oldest exchange (~{size} tokens) dropped to fit "
                    f"max_tokens={self.max_tokens}",
                )
            )
            dropped += 1
        if total > self.max_tokens:
            where = f"$.turns[{bounds[-1][0]}:]" if bounds else "$.turns"
            if self.on_overflow == "raise":
                raise PolicyError(
                    f"The system turn, the tools and the last exchange alone are "
                    f"about {total} tokens, over max_tokens={self.max_tokens}",
                    policy=self.name,
                    path=where,
                    fix="Raise max_tokens, shorten the last message, or use "
                    "on_overflow='note'.",
                )
            notes.append(
                PolicyNote(
                    policy=self.name,
                    action="over_budget",
                    path=where,
                    reason=f"the last exchange is kept whole although the view is "
                    f"~{total} tokens, over max_tokens={self.max_tokens}",
                )
            )
        if not dropped:
            return view.noted(notes)
        head = turns[:1] if turns and turns[0].role == "system" else ()
        keep_from = bounds[dropped][0]
        return view.with_turns((*head, *turns[keep_from:]), notes)


def trim(
    *,
    max_tokens: int,
    estimate: Callable[[Turn], int] = estimate_tokens,
    on_overflow: Literal["note", "raise"] = "note",
) -> Trim:
    """A policy that fits the view into `max_tokens` by dropping whole oldest exchanges.

    The system turn is always kept; tool-use sessions are never split; the last
    exchange is always kept. If the system turn, the tools and the last
    exchange alone are over budget, the view is returned with an `over_budget`
    note (`on_overflow="note"`, the default) or `PolicyError` is raised
    (`on_overflow="raise"`).

    Args:
        max_tokens: the budget for turns plus tool definitions.
        estimate: tokens of one turn; default `estimate_tokens` (chars / 4).
        on_overflow: what to do when even the last exchange does not fit.
    """
    return Trim(max_tokens=max_tokens, estimate=estimate, on_overflow=on_overflow)

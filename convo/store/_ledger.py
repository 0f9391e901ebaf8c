"""What the store derives from a turn when it writes it: its usage and its search text.

Both are computed once, in the transaction that stores the turn, so reading a
conversation's token totals or searching its text never decodes a turn.

- The usage ledger sums `Usage` per kind: input (`prompt_tokens`), cache read,
  cache write, output (`completion_tokens`) and reasoning tokens, each exactly
  as the provider reported it (a missing count adds 0). A conversation's totals
  cover every stored turn; a branch's cover the turns on its path.
- The search text is what a person wrote or read: text blocks, the readable
  reasoning text, tool names with their arguments, and tool results' text,
  lower-cased. Never JSON keys, block types, ids, signatures or image bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from convo._blocks import ReasoningBlock, TextBlock, ToolCallBlock, ToolResultBlock
from convo._turns import Turn

__all__ = ["UsageTotals", "search_text", "turn_usage", "usage_of"]


@attrs.frozen(kw_only=True)
class UsageTotals:
    """Token sums of a conversation, a branch or a tenant, per kind."""

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total(self) -> int:
        """Input plus output tokens (cache and reasoning counts are parts of those)."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: UsageTotals) -> UsageTotals:
        return usage_of(
            a + b for a, b in zip(self.counts(), other.counts(), strict=True)
        )

    def counts(self) -> tuple[int, int, int, int, int]:
        """The five sums in ledger order (input, cache read, cache write, output, reasoning)."""
        return (
            self.input_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            self.output_tokens,
            self.reasoning_tokens,
        )


def usage_of(counts: Iterable[int | None]) -> UsageTotals:
    """`UsageTotals` from five counts in ledger order (None counts as 0)."""
    values: Sequence[int | None] = tuple(counts)
    i, cr, cw, o, r = (int(v or 0) for v in values)
    return UsageTotals(
        input_tokens=i,
        cache_read_tokens=cr,
        cache_write_tokens=cw,
        output_tokens=o,
        reasoning_tokens=r,
    )


def turn_usage(turn: Turn) -> tuple[int, int, int, int, int]:
    """The turn's own counts in ledger order (zeros when it reports no usage)."""
    usage = turn.usage
    if usage is None:
        return (0, 0, 0, 0, 0)
    return (
        usage.prompt_tokens or 0,
        usage.cache_read_tokens or 0,
        usage.cache_write_tokens or 0,
        usage.completion_tokens or 0,
        usage.reasoning_tokens or 0,
    )


def search_text(turn: Turn) -> str:
    """The text of `turn` a person wrote or read, lower-cased, one block a line."""
    pieces: list[str] = []
    for block in turn.blocks:
        if isinstance(block, TextBlock | ReasoningBlock):
            pieces.append(block.text)
        elif isinstance(block, ToolCallBlock):
            pieces.extend((block.name, block.arguments))
        elif isinstance(block, ToolResultBlock):
            pieces.append(block.text)
        else:
            readable = getattr(block, "text", None)  # a block kind added later
            if isinstance(readable, str):
                pieces.append(readable)
    return "\n".join(p for p in pieces if p).lower()

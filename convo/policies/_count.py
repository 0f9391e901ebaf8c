"""Counting a request's tokens: exact where the endpoint said so, estimated elsewhere.

Every stored answer carries the usage its endpoint reported, and its
`generated_from` digest names the request view it answered (rule R5). So the
input tokens of that request are known exactly: `reported_input_tokens` (cache
reads and writes included, whatever the provider's convention). `count_view`
finds the longest prefix of a new view that was sent already, the turns
before the newest answer whose digest matches, takes its reported count, and
estimates only the turns added since (that answer onwards). With no matching
answer, the whole view is estimated.

The estimate is a `TokenCounter`: the default `CharCounter` is convo's chars / 4
(`estimate_tokens`); pass your own for a real tokenizer. A counter counts turns
and tool definitions; message framing is part of its per-turn figure.

Assumption: the tool definitions are the same as when the prefix was sent (the
digest covers turns only); a changed tool list makes the exact part off by the
difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs

from convo._check import expect_instance
from convo._request_args import expect_request
from convo._targets import Target, expect_target
from convo._tools import Tool
from convo._turns import Turn, Usage
from convo.policies._prefix import prefix_digest
from convo.policies._trim import estimate_tokens, estimate_tool_tokens

__all__ = [
    "CharCounter",
    "TokenCounter",
    "ViewCount",
    "count_view",
    "reported_input_tokens",
]

_LOOKBACK = 8
"""How many recent answers `count_view` tries before estimating everything."""


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens of turns and tool definitions (plug in a real tokenizer)."""

    def count_turn(self, turn: Turn) -> int:
        """Tokens `turn` costs in a request, framing included."""
        ...

    def count_tools(self, tools: Sequence[Tool]) -> int:
        """Tokens the tool definitions cost in a request."""
        ...


@attrs.frozen
class CharCounter:
    """convo's estimate: chars / 4, 1,600 per image, 4 per block (see `estimate_tokens`)."""

    def count_turn(self, turn: Turn) -> int:
        """`estimate_tokens(turn)`, memoized per turn."""
        return estimate_tokens(turn)

    def count_tools(self, tools: Sequence[Tool]) -> int:
        """`estimate_tool_tokens(tools)`, 0 for no tools."""
        return estimate_tool_tokens(tools) if tools else 0


CHARS = CharCounter()
"""The default counter."""


def reported_input_tokens(usage: Usage | None, target: Target) -> int | None:
    """The whole prompt of a request as its endpoint reported it, or None.

    Claude on the chat wire reports `prompt_tokens` without the cached part,
    with cache reads and writes beside it (wire-facts: top-level
    `cache_read_input_tokens`, `cache_creation_input_tokens`), so they are added.
    Everywhere else `prompt_tokens` is the whole prompt already: OpenAI-style
    cached tokens are a subset of it, and convo's Messages decoder sums
    Anthropic's three parts into it.

    Raises:
        UsageError: `usage` is not a Usage or None, or `target` not a Target.
    """
    expect_target(target)
    if usage is not None:
        expect_instance(usage, Usage, "usage", fix="Pass a turn's usage (Turn.usage).")
    if usage is None or usage.prompt_tokens is None:
        return None
    if target.prompt_tokens_exclude_cache:
        return (
            usage.prompt_tokens
            + (usage.cache_read_tokens or 0)
            + (usage.cache_write_tokens or 0)
        )
    return usage.prompt_tokens


@attrs.frozen(kw_only=True)
class ViewCount:
    """The token count of a request: an exact prefix plus an estimated rest."""

    total: int
    """Exact prefix plus estimated rest plus tools where no prefix is known."""
    exact_turns: int
    """How many leading turns the reported usage covers (0: none)."""
    exact_tokens: int
    """Their tokens as reported (with the tool definitions), 0 when none."""
    estimated_tokens: int
    """The estimate for the rest (and for the tools when nothing is exact)."""


def count_view(
    turns: Sequence[Turn],
    *,
    target: Target,
    tools: Sequence[Tool] = (),
    counter: TokenCounter = CHARS,
) -> ViewCount:
    """The tokens of a request carrying `turns` and `tools` for `target`.

    The newest of the last few answers with reported usage whose
    `generated_from` equals the digest of the turns before it in `turns` gives
    the exact count of that prefix (tools included); the rest is counted with
    `counter`. Without such an answer every turn and the tools are estimated.

    Raises:
        UsageError: `turns`, `target` or `tools` has the wrong type.
    """
    expect_request(turns, target, None, tools)
    seen = 0
    for i in range(len(turns) - 1, 0, -1):
        turn = turns[i]
        if turn.role != "assistant" or turn.generated_from is None:
            continue
        reported = reported_input_tokens(turn.usage, target)
        if reported is None:
            continue
        seen += 1
        if prefix_digest(turns[:i], target=target) == turn.generated_from:
            rest = sum(counter.count_turn(t) for t in turns[i:])
            return ViewCount(
                total=reported + rest,
                exact_turns=i,
                exact_tokens=reported,
                estimated_tokens=rest,
            )
        if seen >= _LOOKBACK:
            break
    estimate = sum(counter.count_turn(t) for t in turns) + counter.count_tools(tools)
    return ViewCount(
        total=estimate, exact_turns=0, exact_tokens=0, estimated_tokens=estimate
    )

"""Hypothesis plugin: registers convo's value classes with `st.from_type`.

Hypothesis calls `_register` when it is imported (the `hypothesis` entry point
in pyproject.toml), so `st.from_type(convo.Turn)` works without importing
`convo.testing`. Invariant: each registered strategy resolves the strategies
module lazily, at first draw, because this hook can run while that very module
is being imported (it imports Hypothesis, which runs its plugins).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

__all__: list[str] = []


def _lazy(build: Callable[[Any], st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    def resolve() -> st.SearchStrategy[Any]:
        from convo.testing import strategies

        return build(strategies)

    return st.deferred(resolve)


def _register() -> None:
    """Register a strategy for every convo value class (called by Hypothesis)."""
    from convo._blocks import (
        ImageBlock,
        Provenance,
        ReasoningBlock,
        SummaryEncryptedText,
        SummaryText,
        TextBlock,
        ToolCallBlock,
        ToolResultBlock,
    )
    from convo._graph import Conversation
    from convo._tools import Tool
    from convo._turns import Turn, Usage

    registrations: dict[type, Callable[[Any], st.SearchStrategy[Any]]] = {
        Turn: lambda s: s.turns(),
        Conversation: lambda s: s.conversations(),
        Tool: lambda s: s.tools(),
        Usage: lambda s: s.usages(),
        Provenance: lambda s: s.provenances(),
        SummaryText: lambda s: s.reasoning_parts(encrypted=False),
        SummaryEncryptedText: lambda s: s.reasoning_parts(summary=False),
        TextBlock: lambda s: s.blocks(kinds=("text",)),
        ReasoningBlock: lambda s: s.blocks(kinds=("reasoning",)),
        ImageBlock: lambda s: s.blocks(kinds=("image",)),
        ToolCallBlock: lambda s: s.blocks(kinds=("tool_call",)),
        ToolResultBlock: lambda s: s.blocks(kinds=("tool_result",)),
    }
    for cls, build in registrations.items():
        st.register_type_strategy(cls, _lazy(build))

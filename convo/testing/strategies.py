"""Public Hypothesis strategies for convo values, for your own property tests.

Every strategy takes keyword-only options with defaults, checks them when it
is first drawn (raising `hypothesis.errors.InvalidArgument`), and draws only
values convo accepts. `st.from_type(convo.Turn)` (and every block class,
`Conversation`, `Tool`) works through convo's Hypothesis plugin.

    from hypothesis import given
    from convo.testing.strategies import conversations

    @given(conversations(branching=True))
    def test_my_renderer_never_crashes(conversation): ...

`conversations()` draws any structurally valid graph (robustness tests);
`realistic_histories(target=...)` draws only what a served model could have
produced, made by `Chat` against the fake endpoint (law and flow tests).
"""

from __future__ import annotations

from convo.testing import _hypothesis  # noqa: F401 - first: says how to install it
from convo.testing._strategies_graph import conversations, turns
from convo.testing._strategies_realistic import (
    FAKE_SECRET,
    REALISTIC_TARGETS,
    REALISTIC_TOOLS,
    RealisticHistory,
    realistic_histories,
)
from convo.testing._strategies_values import (
    SPECIAL_TEXTS,
    blocks,
    image_blocks,
    json_objects,
    json_values,
    png_bytes,
    provenances,
    reasoning_blocks,
    reasoning_parts,
    text_blocks,
    texts,
    tool_arguments,
    tool_call_blocks,
    tool_result_blocks,
    tools,
    usages,
)

__all__ = [
    "FAKE_SECRET",
    "REALISTIC_TARGETS",
    "REALISTIC_TOOLS",
    "SPECIAL_TEXTS",
    "RealisticHistory",
    "blocks",
    "conversations",
    "image_blocks",
    "json_objects",
    "json_values",
    "png_bytes",
    "provenances",
    "realistic_histories",
    "reasoning_blocks",
    "reasoning_parts",
    "text_blocks",
    "texts",
    "tool_arguments",
    "tool_call_blocks",
    "tool_result_blocks",
    "tools",
    "turns",
    "usages",
]

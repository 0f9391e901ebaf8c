"""Payload policies: what of the stored history goes into the next request.

A policy is one pure callable `RequestView -> RequestView`. Every built-in
policy is a value built by a factory called with its options:
`drop_reasoning()`, `keep_last_reasoning()`, `drop_foreign_reasoning()`,
`repair_tool_pairs()`, `apply_summaries()`, `trim(max_tokens=...)`, `fit()`,
`bind_prefixes()`, `cache_breakpoints()`. The factory is the one way to build
one; the classes it returns (`DropReasoning`, `Trim`, ...) are exported only as
types, for annotations and `isinstance`. `compose(*policies)` is the one way to
chain: it returns one policy applying them left to right, so
`compose(a, b)(view)` runs both. Policies act on the request view
only, never on stored history. Every built-in states its laws (deterministic,
pure, keeps tool pairing, and where claimed idempotent and prefix stable) in
its docstring and in its `claims`, and proves them with Hypothesis
(`convo.testing.laws.check_policy` runs the same laws on your own policies).

Order matters in a chain: `apply_summaries` (compaction) first, policies that
change content next (reasoning, `trim`, `repair_tool_pairs`, `fit`), then `bind_prefixes`, then `cache_breakpoints`,
which only decorates. `default_policies(target)` builds that chain, and
`validate(view)` checks the result against the target's rules.
"""

from __future__ import annotations

from convo.policies._cache import CacheBreakpoints, CachePlan, cache_breakpoints
from convo.policies._count import (
    CharCounter,
    TokenCounter,
    ViewCount,
    count_view,
    reported_input_tokens,
)
from convo.policies._defaults import default_policies
from convo.policies._fit import Fit, fit, preview
from convo.policies._prefix import BindPrefixes, bind_prefixes, prefix_digest
from convo.policies._reasoning import (
    DropForeignReasoning,
    DropReasoning,
    KeepLastReasoning,
    drop_foreign_reasoning,
    drop_reasoning,
    keep_last_reasoning,
)
from convo.policies._repair import RepairToolPairs, repair_tool_pairs
from convo.policies._summary import (
    SUMMARY_KEY,
    ApplySummaries,
    apply_summaries,
    is_summary,
    summary_covers,
    summary_turn,
)
from convo.policies._trim import Trim, estimate_tokens, trim
from convo.policies._validate import validate
from convo.policies._view import (
    Policy,
    PolicyNote,
    RequestView,
    compose,
)

__all__ = [
    "SUMMARY_KEY",
    "ApplySummaries",
    "BindPrefixes",
    "CacheBreakpoints",
    "CachePlan",
    "CharCounter",
    "DropForeignReasoning",
    "DropReasoning",
    "Fit",
    "KeepLastReasoning",
    "Policy",
    "PolicyNote",
    "RepairToolPairs",
    "RequestView",
    "TokenCounter",
    "Trim",
    "ViewCount",
    "apply_summaries",
    "bind_prefixes",
    "cache_breakpoints",
    "compose",
    "count_view",
    "default_policies",
    "drop_foreign_reasoning",
    "drop_reasoning",
    "estimate_tokens",
    "fit",
    "is_summary",
    "keep_last_reasoning",
    "prefix_digest",
    "preview",
    "repair_tool_pairs",
    "reported_input_tokens",
    "summary_covers",
    "summary_turn",
    "trim",
    "validate",
]

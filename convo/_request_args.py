"""The argument check every request entry point runs first.

The formats' `encode_request`, `encode_request_bytes` and `validate_request`
and the policies' `count_view` take the same arguments; a wrong one (None
for `target`, a dict among the turns) is a `UsageError` naming it, raised
before anything reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

from convo._check import expect_instance, expect_items
from convo._params import RequestParams
from convo._targets import Target, expect_target
from convo._tools import Tool
from convo._turns import Turn

__all__ = ["expect_request"]


def expect_request(
    turns: Sequence[Turn],
    target: Target,
    params: RequestParams | None,
    tools: Sequence[Tool],
) -> None:
    """Raise `UsageError` unless each argument of a request has its type."""
    expect_items(turns, Turn, "turns", fix="Pass the request view: a sequence of Turn.")
    expect_target(target)
    if params is not None:
        expect_instance(
            params, RequestParams, "params", fix="Pass RequestParams or None."
        )
    expect_items(tools, Tool, "tools", fix="Pass a sequence of Tool (or nothing).")

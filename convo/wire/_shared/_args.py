"""The argument check every format's request entry point runs first.

`encode_request`, `encode_request_bytes` and `validate_request` of every
format take the same arguments; a wrong one (None for `target`, a dict among
the turns) is a `UsageError` naming it, raised before any encoding reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

from convo._check import expect_instance, expect_items
from convo._params import RequestParams
from convo._targets import Target
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
    expect_instance(
        target, Target, "target", fix="Pass a Target, e.g. get_target(name)."
    )
    if params is not None:
        expect_instance(
            params, RequestParams, "params", fix="Pass RequestParams or None."
        )
    expect_items(tools, Tool, "tools", fix="Pass a sequence of Tool (or nothing).")

"""The argument check every format's request entry point runs first.

`encode_request`, `encode_request_bytes` and `validate_request` of every
format take the same arguments; a wrong one (None for `target`, a dict among
the turns) is a `UsageError` naming it, raised before any encoding reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from convo._check import as_tuple, expect_instance, expect_items
from convo._params import RequestParams
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn

__all__ = ["expect_events", "expect_request"]


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


def expect_events(events: Iterable[Mapping[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    """`events` (stream events to frame as SSE) as a tuple of mappings; else `UsageError`."""
    fix = "Pass the events as a list of dicts, e.g. from response_events()."
    items = as_tuple(events, "events", expected="event mappings", fix=fix)
    expect_items(items, cast("type", Mapping), "events", fix=fix)
    return items

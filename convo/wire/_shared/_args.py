"""The argument check of the formats' stream-event framing (`encode_sse`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from convo._check import as_tuple, expect_items

__all__ = ["expect_events"]


def expect_events(events: Iterable[Mapping[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    """`events` (stream events to frame as SSE) as a tuple of mappings; else `UsageError`."""
    fix = "Pass the events as a list of dicts, e.g. from response_events()."
    items = as_tuple(events, "events", expected="event mappings", fix=fix)
    expect_items(items, cast("type", Mapping), "events", fix=fix)
    return items

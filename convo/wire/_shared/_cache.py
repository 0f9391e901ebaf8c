"""The wire form of a cache marker, the same on every route that takes one.

`{"type": "ephemeral"}`, plus `"ttl": "5m" | "1h"` when the marker has one.
"""

from __future__ import annotations

from typing import Any

from convo._blocks import CacheControl
from convo.wire._shared._json import fail

__all__ = ["cache_control_json", "parse_cache_control"]

_TTLS = (None, "5m", "1h")


def cache_control_json(marker: CacheControl) -> dict[str, Any]:
    """The wire form of a cache marker."""
    out: dict[str, Any] = {"type": marker.type}
    if marker.ttl is not None:
        out["ttl"] = marker.ttl
    return out


def parse_cache_control(value: object, *, where: str) -> CacheControl | None:
    """A cache marker from its wire form (None when absent).

    Raises:
        DecodeError: not `{"type": "ephemeral", "ttl"?: "5m" | "1h"}`.
    """
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or value.get("type") != "ephemeral"
        or value.get("ttl") not in _TTLS
        or set(value) - {"type", "ttl"}
    ):
        raise fail(
            'cache_control must be {"type": "ephemeral", "ttl"?: "5m" | "1h"}',
            where=where,
            received=value,
        )
    return CacheControl(ttl=value.get("ttl"))

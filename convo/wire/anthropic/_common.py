"""Shared helpers of the Messages wire format: strict JSON loading and error builders.

Invariant: nothing here lets a builtin exception escape. Untrusted bytes are
parsed with NaN and infinities refused, depth errors caught and the size bounded,
and every failure becomes a `DecodeError` with a path; every refused request is a
`RequestRejectedError` naming the rule, the target, the path and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from convo._targets import Target
from convo.errors import (
    ConvoError,
    DecodeError,
    PayloadTooLargeError,
    RequestRejectedError,
    message,
)

__all__ = [
    "MAX_BODY_BYTES",
    "WIRE",
    "fail",
    "get_int",
    "get_str",
    "guard",
    "load_json",
    "reject",
]

WIRE = "anthropic"
MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest response body or stream event the decoders read (64 MiB)."""

_T = TypeVar("_T")


def fail(what: str, *, where: str, received: object = ...) -> DecodeError:
    """A `DecodeError` in the house message order."""
    return DecodeError(
        message(what, where=where, received=received),
        path=where,
        errors=(f"{what} @ {where}",),
    )


def _no_constant(name: str) -> NoReturn:
    msg = f"JSON constant {name} is not allowed"
    raise ValueError(msg)


def load_json(body: bytes | str, *, what: str, limit: int = MAX_BODY_BYTES) -> Any:
    """Parse untrusted JSON text strictly (no NaN or infinities, bounded size).

    Raises:
        DecodeError: the text is too large, not UTF-8 or not valid JSON.
    """
    if len(body) > limit:
        raise fail(
            f"{what} is larger than {limit} bytes",
            where="$",
            received=f"<{len(body)} bytes>",
        )
    try:
        return json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise fail(
            f"{what} is not valid JSON ({type(exc).__name__})", where="$", received=body
        ) from None


def guard(build: Callable[[], _T], *, where: str) -> _T:
    """Run a value constructor; a refused value becomes a `DecodeError` at `where`."""
    try:
        return build()
    except DecodeError:
        raise
    except ConvoError as exc:
        raise fail(exc.message, where=where) from exc
    except (ValueError, TypeError) as exc:
        raise fail(str(exc), where=where) from exc


def get_str(
    obj: Mapping[str, Any], key: str, *, where: str, default: str | None = None
) -> str:
    """`obj[key]` as a string; a missing key gives `default` or raises."""
    value = obj.get(key, default)
    if not isinstance(value, str):
        raise fail(
            f"Field {key!r} must be a string",
            where=f"{where}.{key}",
            received=value if key in obj else "<missing>",
        )
    return value


def get_int(obj: Mapping[str, Any], key: str, *, where: str) -> int | None:
    """`obj[key]` as a non-negative int, or None when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail(
            f"Field {key!r} must be a non-negative integer",
            where=f"{where}.{key}",
            received=value,
        )
    return value


def reject(
    what: str,
    *,
    rule: str,
    target: Target,
    path: str | None = None,
    received: object = ...,
    fix: str | None = None,
    too_large: bool = False,
) -> RequestRejectedError:
    """A `RequestRejectedError` (or `PayloadTooLargeError`) naming rule, target and fix."""
    cls = PayloadTooLargeError if too_large else RequestRejectedError
    return cls(
        message(
            f"{what} (rule {rule}, target {target.name!r})",
            where=path,
            received=received,
            fix=fix,
        ),
        rule=rule,
        target=target.name,
        path=path,
    )

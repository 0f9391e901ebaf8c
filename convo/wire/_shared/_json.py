"""Strict, bounded JSON loading and the decode-failure builders every format uses.

Untrusted bytes are parsed with NaN and infinities refused, the size bounded
(`ResponseTooLargeError`) and the nesting depth bounded; every failure is a
`DecodeError` carrying the JSON path of the problem.

`fail(...)` RETURNS the error (write `raise fail(...)`), in every format, so
the raise is visible at the call site and type checkers see it.

Invariant: nothing here lets a builtin exception escape.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from convo.errors import (
    ConvoError,
    DecodeError,
    ResponseTooLargeError,
    excerpt,
)

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "check_depth",
    "fail",
    "get_int",
    "get_str",
    "guard",
    "load_json",
    "shown_tag",
    "too_large",
]

MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest response body or stream event a decoder reads (64 MiB)."""

MAX_DEPTH = 64
"""The deepest JSON nesting a decoder accepts."""

_T = TypeVar("_T")


def fail(
    what: str, *, where: str, received: object = ..., fix: str | None = None
) -> DecodeError:
    """A `DecodeError` in the house message order (what, where, received, fix)."""
    return DecodeError(
        what, path=where, errors=(f"{what} @ {where}",), received=received, fix=fix
    )


def too_large(
    what: str, *, limit: int, received: object = ...
) -> ResponseTooLargeError:
    """A `ResponseTooLargeError`: a body, line or count over a decoder's limit."""
    return ResponseTooLargeError(
        what,
        limit=limit,
        received=received,
        fix="Raise the decoder's limit if this is expected.",
    )


def shown_tag(tag: object) -> str:
    """A block's `type` tag as an error's `tag` detail: a string as is, else its excerpt.

    The detail is typed `str`; a raw list nested thousands deep there would make
    `repr(error.details)` (a log line, a test report) a RecursionError.
    """
    return tag if isinstance(tag, str) else excerpt(tag)


def check_depth(value: object, *, limit: int, where: str) -> None:
    """Raise `DecodeError` when `value` nests deeper than `limit`."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise fail(
                f"JSON nests deeper than {limit} levels",
                where=where,
                received="<deep value>",
            )
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _no_constant(name: str) -> NoReturn:
    msg = f"JSON constant {name} is not allowed"
    raise ValueError(msg)


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def load_json(
    data: bytes | str,
    *,
    what: str = "The body",
    where: str = "$",
    limit: int = MAX_BODY_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """Parse untrusted JSON text strictly: no NaN or infinities, bounded size and depth.

    Raises:
        ResponseTooLargeError: the text is longer than `limit`.
        DecodeError: `data` is not text, not UTF-8, not valid JSON, or nests too deep.
    """
    if not isinstance(data, bytes | bytearray | str):
        raise fail(
            f"{what} must be JSON text (bytes or str) or a parsed JSON object",
            where=where,
            received=f"<{type(data).__name__}>",
            fix="Pass the body as received, or the dict json.loads made of it.",
        )
    if len(data) > limit:
        raise too_large(
            f"{what} is larger than {limit} bytes",
            limit=limit,
            received=f"<{len(data)} bytes>",
        )
    try:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
        value = _DECODER.decode(text)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise fail(
            f"{what} is not valid JSON ({type(exc).__name__})",
            where=where,
            received=data[:200],
        ) from None
    if isinstance(data, bytes | bytearray):
        opening = data.count(b"{") + data.count(b"[")
    else:
        opening = data.count("{") + data.count("[")
    if opening > max_depth:
        check_depth(value, limit=max_depth, where=where)
    return value


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

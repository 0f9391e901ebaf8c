"""JSON values, the text rule, and canonical JSON bytes.

Invariant: every string convo holds can be stored by SQLite and PostgreSQL
identically and encoded as UTF-8, so it contains no NUL and no lone surrogate.
Canonical bytes are `json.dumps` with sorted keys, compact separators and
`ensure_ascii=False`, encoded as UTF-8: the same value always gives the same bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, TypeAlias

from convo.errors import InvalidTextError

__all__ = [
    "JSON",
    "JSONObject",
    "canonical_bytes",
    "check_text",
    "json_object",
]

JSON: TypeAlias = "bool | int | float | str | list[JSON] | dict[str, JSON] | None"
JSONObject: TypeAlias = "dict[str, JSON]"

_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
    allow_nan=False,
)


def canonical_bytes(value: object) -> bytes:
    """Encode a plain JSON value as canonical UTF-8 bytes."""
    return _ENCODER.encode(value).encode("utf-8")


def check_text(value: str, *, path: str) -> str:
    """Return `value` if every database can store it identically, else raise.

    Raises:
        InvalidTextError: the text holds U+0000 or a lone surrogate, or is no str.
    """
    given: object = value  # checked at run time: callers are not all typed
    if not isinstance(given, str):
        raise InvalidTextError(
            "Text must be a str",
            path=path,
            received=f"<{type(given).__name__}>",
            fix="Pass the text as a str.",
        )
    if "\x00" in value:
        raise InvalidTextError(
            "Text contains U+0000 (NUL), which PostgreSQL cannot store",
            path=path,
            received=value,
            fix="Remove or replace the NUL characters before building the block.",
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidTextError(
            f"Text contains a lone surrogate at index {exc.start}, which is not "
            "valid Unicode",
            path=path,
            received=value,
            fix="Decode the source with errors='replace' or pair the surrogate.",
        ) from None
    return value


def _copy(value: object, path: str, depth: int) -> JSON:
    if depth > 200:
        raise InvalidTextError(
            "JSON value is nested deeper than 200 levels",
            path=path,
            received="<deep value>",
        )
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidTextError(
                "JSON numbers must be finite",
                path=path,
                received=value,
                fix="Send NaN and infinities as strings or null.",
            )
        return value
    if isinstance(value, str):
        return check_text(value, path=path)
    if isinstance(value, list | tuple):
        return [_copy(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        out: dict[str, JSON] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidTextError(
                    "JSON object keys must be strings", path=path, received=key
                )
            check_text(key, path=path)
            out[key] = _copy(item, f"{path}.{key}", depth + 1)
        return out
    raise InvalidTextError(
        "Value is not JSON",
        path=path,
        received=f"<{type(value).__name__}>",
        fix="Use only None, bool, int, float, str, list and dict.",
    )


def json_object(value: Mapping[str, Any], *, path: str = "$") -> JSONObject:
    """A deep, validated copy of a JSON object, so no caller can alias it."""
    if not value and isinstance(value, Mapping):
        return {}  # the common case (no extra, no metadata), taken often: keep it cheap
    copied = _copy(value, path, 0)
    assert isinstance(copied, dict)  # noqa: S101 - a Mapping copies to a dict
    return copied

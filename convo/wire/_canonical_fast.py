"""A fast decoder of canonical turns, for the closed block set, or None.

`fast_turn(plain)` builds the turn that `decode_turn(plain)` (the cattrs path
with every rule of `convo._converter`) would build, several times faster,
or answers None and builds nothing. It takes only what it can check
completely: dicts with known keys, each value of the exact JSON type the
canonical converter demands, every string passed through `check_text` and
every mapping through `json_object`, exactly as the value classes' own
validators and converters do. Anything else (an image, a cache marker, a key
it does not know, a wrong type, a text the validators refuse) answers None, and
the caller decodes with the reference path, which raises its own error with its
own path. So the fast path never decides an error and never accepts what the
reference refuses; `tests/store/test_store_fast_decode.py` checks both over
generated and tampered turns.

The hot values (turns and their blocks) are built without their generated
`__init__`, by setting each field once: the validators' work is done here, so
running them again would double the cost of a load. `FIELDS` names every field
this module sets; if a value class gains or loses a field, `ENABLED` is False
and every turn goes through the reference path until this module follows.
Equal provenances are one shared value (values are immutable).
"""

from __future__ import annotations

from typing import Any

import attrs

from convo._blocks import (
    Provenance,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._json import check_text, json_object
from convo._turns import ROLES, FinishReason, Turn, Usage

__all__ = ["ENABLED", "FIELDS", "fast_turn"]

FIELDS: dict[type, frozenset[str]] = {
    Turn: frozenset(
        {
            "role",
            "blocks",
            "model",
            "finish_reason",
            "finish_reason_raw",
            "usage",
            "generated_from",
            "metadata",
            "_memo",
        }
    ),
    TextBlock: frozenset({"type", "text", "cache_control", "extra"}),
    ReasoningBlock: frozenset(
        {"type", "parts", "provenance", "cache_control", "extra"}
    ),
    SummaryText: frozenset({"type", "text", "signature"}),
    SummaryEncryptedText: frozenset({"type", "data"}),
    ToolCallBlock: frozenset(
        {"type", "id", "name", "arguments", "cache_control", "extra"}
    ),
    ToolResultBlock: frozenset(
        {
            "type",
            "call_id",
            "content",
            "is_error",
            "synthetic",
            "cache_control",
            "extra",
        }
    ),
    Provenance: frozenset({"provider", "family", "model", "route"}),
}
"""The fields each class built here has (checked against attrs at import)."""

ENABLED = all(
    frozenset(a.name for a in attrs.fields(cls)) == names
    for cls, names in FIELDS.items()
)
"""False when a value class's fields differ from `FIELDS`: then only the reference path runs."""

_TURN_KEYS = frozenset(FIELDS[Turn] - {"_memo"})
_TEXT_KEYS = frozenset({"type", "text", "extra"})
_REASONING_KEYS = frozenset({"type", "parts", "provenance", "extra"})
_PART_KEYS = frozenset({"type", "text", "signature"})
_CALL_KEYS = frozenset({"type", "id", "name", "arguments", "extra"})
_RESULT_KEYS = frozenset(
    {"type", "call_id", "content", "is_error", "synthetic", "extra"}
)
_PROVENANCE_KEYS = FIELDS[Provenance]
_USAGE_KEYS = frozenset(a.name for a in attrs.fields(Usage))
_FINISH = {reason.value: reason for reason in FinishReason}

_ABSENT = object()
_new = object.__new__
_set = object.__setattr__


class _RefusedError(Exception):
    """Raised inside the fast path to answer None: the reference path decides."""


def _text(value: Any, path: str) -> str:
    if type(value) is not str:
        raise _RefusedError
    return check_text(value, path=path)


def _opt_text(plain: dict[str, Any], key: str, path: str) -> str | None:
    value = plain.get(key)
    return None if value is None else _text(value, path)


def _extra(plain: dict[str, Any]) -> dict[str, Any]:
    value = plain.get("extra", _ABSENT)
    if value is _ABSENT:
        return {}
    if type(value) is not dict:  # null too: the reference wants an object
        raise _RefusedError
    return json_object(value, path="$.extra")


_provenances: dict[tuple[Any, ...], Provenance] = {}


def _provenance(value: Any) -> Provenance | None:
    if value is None:
        return None
    if type(value) is not dict or not value.keys() <= _PROVENANCE_KEYS:
        raise _RefusedError
    key: tuple[Any, ...] = (
        value.get("provider"),
        value.get("family"),
        value.get("model"),
        value.get("route"),
    )
    found = _provenances.get(key)
    if found is None:
        if not all(type(v) is str or (v is None and i > 1) for i, v in enumerate(key)):
            raise _RefusedError
        found = Provenance(provider=key[0], family=key[1], model=key[2], route=key[3])
        if len(_provenances) < 256:
            _provenances[key] = found
    return found


def _part(plain: Any) -> SummaryText | SummaryEncryptedText:
    if type(plain) is not dict:
        raise _RefusedError
    tag = plain.get("type")
    if tag == "summary_text" and plain.keys() <= _PART_KEYS:
        part = _new(SummaryText)
        _set(part, "type", "summary_text")
        _set(part, "text", _text(plain.get("text", ""), "$.text"))
        _set(part, "signature", _opt_text(plain, "signature", "$.signature"))
        return part
    if tag == "summary_encrypted_text" and plain.keys() == {"type", "data"}:
        encrypted = _new(SummaryEncryptedText)
        _set(encrypted, "type", tag)
        _set(encrypted, "data", _text(plain["data"], "$.data"))
        return encrypted
    raise _RefusedError


def _text_block(plain: dict[str, Any]) -> TextBlock:
    if not plain.keys() <= _TEXT_KEYS:
        raise _RefusedError
    block = _new(TextBlock)
    _set(block, "type", "text")
    _set(block, "text", _text(plain["text"], "$.text"))
    _set(block, "cache_control", None)
    _set(block, "extra", _extra(plain))
    return block


def _reasoning_block(plain: dict[str, Any]) -> ReasoningBlock:
    parts = plain["parts"]
    if not plain.keys() <= _REASONING_KEYS or type(parts) is not list:
        raise _RefusedError
    block = _new(ReasoningBlock)
    _set(block, "type", "reasoning")
    _set(block, "parts", tuple([_part(p) for p in parts]))
    _set(block, "provenance", _provenance(plain.get("provenance")))
    _set(block, "cache_control", None)
    _set(block, "extra", _extra(plain))
    return block


def _call_block(plain: dict[str, Any]) -> ToolCallBlock:
    if not plain.keys() <= _CALL_KEYS:
        raise _RefusedError
    block = _new(ToolCallBlock)
    _set(block, "type", "tool_call")
    _set(block, "id", _text(plain["id"], "$.id"))
    _set(block, "name", _text(plain["name"], "$.name"))
    _set(block, "arguments", _text(plain.get("arguments", "{}"), "$.arguments"))
    _set(block, "cache_control", None)
    _set(block, "extra", _extra(plain))
    return block


def _flag(plain: dict[str, Any], key: str) -> bool:
    value = plain.get(key, False)
    if type(value) is not bool:
        raise _RefusedError
    return value


def _result_block(plain: dict[str, Any]) -> ToolResultBlock:
    content = plain["content"]
    if not plain.keys() <= _RESULT_KEYS:
        raise _RefusedError
    if type(content) is str:
        content = check_text(content, path="$.content")
    elif type(content) is list:
        content = tuple([_content_block(item) for item in content])
    else:
        raise _RefusedError
    block = _new(ToolResultBlock)
    _set(block, "type", "tool_result")
    _set(block, "call_id", _text(plain["call_id"], "$.call_id"))
    _set(block, "content", content)
    _set(block, "is_error", _flag(plain, "is_error"))
    _set(block, "synthetic", _flag(plain, "synthetic"))
    _set(block, "cache_control", None)
    _set(block, "extra", _extra(plain))
    return block


def _content_block(plain: Any) -> TextBlock:
    if type(plain) is not dict or plain.get("type") != "text":
        raise _RefusedError  # images take the reference path
    return _text_block(plain)


_BLOCKS = {
    "text": _text_block,
    "reasoning": _reasoning_block,
    "tool_call": _call_block,
    "tool_result": _result_block,
}


def _block(plain: Any) -> Any:
    if type(plain) is not dict:
        raise _RefusedError
    build = _BLOCKS.get(plain.get("type"))  # type: ignore[arg-type]
    if build is None:
        raise _RefusedError
    return build(plain)


def _usage(value: Any) -> Usage | None:
    if value is None:
        return None
    if type(value) is not dict or not value.keys() <= _USAGE_KEYS:
        raise _RefusedError
    if not all(v is None or type(v) is int for v in value.values()):
        raise _RefusedError
    return Usage(**value)


def _finish_reason(value: Any) -> FinishReason | None:
    if value is None:
        return None
    found = _FINISH.get(value) if type(value) is str else None
    if found is None:
        raise _RefusedError
    return found


def _metadata(plain: dict[str, Any]) -> dict[str, Any]:
    value = plain.get("metadata", _ABSENT)
    if value is _ABSENT:
        return {}
    if type(value) is not dict:
        raise _RefusedError
    return json_object(value, path="$.metadata")


def _turn(plain: Any) -> Turn:
    if type(plain) is not dict or not plain.keys() <= _TURN_KEYS:
        raise _RefusedError
    role = plain["role"]
    blocks = plain["blocks"]
    if type(role) is not str or role not in ROLES or type(blocks) is not list:
        raise _RefusedError
    turn = _new(Turn)
    _set(turn, "role", role)
    _set(turn, "blocks", tuple([_block(b) for b in blocks]))
    _set(turn, "model", _opt_text(plain, "model", "$.model"))
    _set(turn, "finish_reason", _finish_reason(plain.get("finish_reason")))
    _set(
        turn,
        "finish_reason_raw",
        _opt_text(plain, "finish_reason_raw", "$.finish_reason_raw"),
    )
    _set(turn, "usage", _usage(plain.get("usage")))
    _set(turn, "generated_from", _opt_text(plain, "generated_from", "$.generated_from"))
    _set(turn, "metadata", _metadata(plain))
    _set(turn, "_memo", {})
    return turn


def fast_turn(plain: object) -> Turn | None:
    """The turn `decode_turn(plain)` would build, or None (then decode with it)."""
    if not ENABLED:
        return None
    try:
        return _turn(plain)
    except Exception:  # noqa: BLE001 - any refusal is the reference path's to report
        return None

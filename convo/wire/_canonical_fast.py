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

`fast_turn_from_bytes(data)` does the same from a stored turn's bytes, parsed
by orjson: the store's loader (`convo.store._mapper`) calls it first for every
row. What orjson proves about the strings it returns lets it skip the
per-text check; where orjson could read a value other than `json.loads`
would (an integer beyond 64 bits becomes a float), it answers None. Where
convo's C module was built, its twin of that decoder (`C_TURN`,
`_canonical_c.c`) takes each such plain first and hands back what it does
not take, so this module still decides every refusal.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import orjson

from convo._blocks import (
    Provenance,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._converter import CANONICAL
from convo._json import check_text, json_object
from convo._native import native
from convo._slots import slot_setters
from convo._turns import ROLES, FinishReason, Turn, Usage

__all__ = ["ENABLED", "FIELDS", "fast_turn", "fast_turn_from_bytes", "fields_match"]

FIELDS: dict[type, tuple[str, ...]] = {
    Turn: (
        "role",
        "blocks",
        "model",
        "finish_reason",
        "finish_reason_raw",
        "usage",
        "generated_from",
        "metadata",
        "_memo",
    ),
    TextBlock: ("type", "text", "cache_control", "extra"),
    ReasoningBlock: ("type", "parts", "provenance", "cache_control", "extra"),
    SummaryText: ("type", "text", "signature"),
    SummaryEncryptedText: ("type", "data"),
    ToolCallBlock: ("type", "id", "name", "arguments", "cache_control", "extra"),
    ToolResultBlock: (
        "type",
        "call_id",
        "content",
        "is_error",
        "synthetic",
        "cache_control",
        "extra",
    ),
    Provenance: ("provider", "family", "model", "route"),
}
"""The fields each class built here has, in the order its setters are unpacked below."""


def fields_match(fields: Mapping[type, tuple[str, ...]]) -> bool:
    """Whether each class has exactly the fields `fields` names (attrs' own list)."""
    return all(
        frozenset(a.name for a in attrs.fields(cls)) == frozenset(names)
        for cls, names in fields.items()
    )


ENABLED = fields_match(FIELDS)
"""False when a value class's fields differ from `FIELDS`: then only the reference path runs."""

_TURN_KEYS = frozenset(FIELDS[Turn]) - {"_memo"}
_TEXT_KEYS = frozenset({"type", "text", "extra"})
_REASONING_KEYS = frozenset({"type", "parts", "provenance", "extra"})
_PART_KEYS = frozenset({"type", "text", "signature"})
_CALL_KEYS = frozenset({"type", "id", "name", "arguments", "extra"})
_RESULT_KEYS = frozenset(
    {"type", "call_id", "content", "is_error", "synthetic", "extra"}
)
_PROVENANCE_KEYS = frozenset(FIELDS[Provenance])
_USAGE_KEYS = frozenset(a.name for a in attrs.fields(Usage))
_FINISH = {reason.value: reason for reason in FinishReason}

_ABSENT = object()
_new = object.__new__


def _setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """Setters of the fields of `cls`, in `FIELDS` order (`convo._slots`)."""
    return slot_setters(cls, FIELDS[cls])


(
    _turn_role,
    _turn_blocks,
    _turn_model,
    _turn_finish_reason,
    _turn_finish_reason_raw,
    _turn_usage,
    _turn_generated_from,
    _turn_metadata,
    _turn_memo,
) = _setters(Turn)
_text_type, _text_text, _text_cache, _text_extra = _setters(TextBlock)
(
    _reasoning_type,
    _reasoning_parts,
    _reasoning_provenance,
    _reasoning_cache,
    _reasoning_extra,
) = _setters(ReasoningBlock)
_summary_type, _summary_text, _summary_signature = _setters(SummaryText)
_encrypted_type, _encrypted_data = _setters(SummaryEncryptedText)
_call_type, _call_id, _call_name, _call_arguments, _call_cache, _call_extra = _setters(
    ToolCallBlock
)
(
    _result_type,
    _result_call_id,
    _result_content,
    _result_is_error,
    _result_synthetic,
    _result_cache,
    _result_extra,
) = _setters(ToolResultBlock)


class _RefusedError(Exception):
    """Raised inside the fast path to answer None: the reference path decides."""


_provenances: dict[tuple[Any, ...], Provenance] = {}


def _provenance(value: Any) -> Provenance | None:
    if value is None:
        return None
    if type(value) is not dict or not value.keys() <= _PROVENANCE_KEYS:
        raise _RefusedError
    get = value.get
    key: tuple[Any, ...] = (get("provider"), get("family"), get("model"), get("route"))
    found = _provenances.get(key)
    if found is None:
        if not all(type(v) is str or (v is None and i > 1) for i, v in enumerate(key)):
            raise _RefusedError
        found = Provenance(provider=key[0], family=key[1], model=key[2], route=key[3])
        if len(_provenances) < 256:
            _provenances[key] = found
    return found


def _has_float(value: Any) -> bool:
    """Whether a parsed JSON value holds a float anywhere.

    A value too deep to walk raises RecursionError, which `fast_turn_from_bytes`
    takes as a refusal like any other.
    """
    if type(value) is float:
        return True
    if type(value) is dict:
        return any(_has_float(item) for item in value.values())
    if type(value) is list:
        return any(_has_float(item) for item in value)
    return False


class _Decoder:
    """The block builders, for plains from one parser.

    `check_texts`: every string goes through `check_text`; False only when the
    parser has proven every string valid (see `fast_turn_from_bytes`).
    `exact_numbers`: False when the parser may have turned an integer into a
    float (orjson does so beyond 64 bits); then a float anywhere in `extra` or
    `metadata` is refused, since it may not be what the bytes say.
    """

    __slots__ = ("_blocks", "_check_texts", "_exact_numbers")

    def __init__(self, *, check_texts: bool, exact_numbers: bool) -> None:
        self._check_texts = check_texts
        self._exact_numbers = exact_numbers
        self._blocks = {
            "text": self._text_block,
            "reasoning": self._reasoning_block,
            "tool_call": self._call_block,
            "tool_result": self._result_block,
        }

    def _text(self, value: Any, path: str) -> str:
        if type(value) is not str:
            raise _RefusedError
        return check_text(value, path=path) if self._check_texts else value

    def _opt_text(self, plain: dict[str, Any], key: str, path: str) -> str | None:
        value = plain.get(key)
        return None if value is None else self._text(value, path)

    def _object(self, plain: dict[str, Any], key: str) -> dict[str, Any]:
        value = plain.get(key, _ABSENT)
        if value is _ABSENT:
            return {}
        if type(value) is not dict:  # null too: the reference wants an object
            raise _RefusedError
        if not value:
            return {}
        if not self._exact_numbers and _has_float(value):
            raise _RefusedError
        return json_object(value, path=f"$.{key}")

    def _part(self, plain: Any) -> SummaryText | SummaryEncryptedText:
        if type(plain) is not dict:
            raise _RefusedError
        tag = plain.get("type")
        if tag == "summary_text" and plain.keys() <= _PART_KEYS:
            text = plain.get("text", "")
            signature = plain.get("signature")
            if type(text) is not str or not (
                signature is None or type(signature) is str
            ):
                raise _RefusedError
            if self._check_texts:
                check_text(text, path="$.text")
                if signature is not None:
                    check_text(signature, path="$.signature")
            part = _new(SummaryText)
            _summary_type(part, "summary_text")
            _summary_text(part, text)
            _summary_signature(part, signature)
            return part
        if tag == "summary_encrypted_text" and plain.keys() == {"type", "data"}:
            encrypted = _new(SummaryEncryptedText)
            _encrypted_type(encrypted, tag)
            _encrypted_data(encrypted, self._text(plain["data"], "$.data"))
            return encrypted
        raise _RefusedError

    def _text_block(self, plain: dict[str, Any]) -> TextBlock:
        text = plain["text"]
        if type(text) is not str or (
            len(plain) != 2 and not plain.keys() <= _TEXT_KEYS
        ):
            raise _RefusedError  # (2 keys: the type, read to come here, and the text)
        if self._check_texts:
            check_text(text, path="$.text")
        block = _new(TextBlock)
        _text_type(block, "text")
        _text_text(block, text)
        _text_cache(block, None)
        _text_extra(block, self._object(plain, "extra") if "extra" in plain else {})
        return block

    def _reasoning_block(self, plain: dict[str, Any]) -> ReasoningBlock:
        parts = plain["parts"]
        if not plain.keys() <= _REASONING_KEYS or type(parts) is not list:
            raise _RefusedError
        block = _new(ReasoningBlock)
        _reasoning_type(block, "reasoning")
        _reasoning_parts(
            block,
            (self._part(parts[0]),)  # one part, the usual case: no list built
            if len(parts) == 1
            else tuple([self._part(p) for p in parts]),
        )
        _reasoning_provenance(block, _provenance(plain.get("provenance")))
        _reasoning_cache(block, None)
        _reasoning_extra(
            block, self._object(plain, "extra") if "extra" in plain else {}
        )
        return block

    def _call_block(self, plain: dict[str, Any]) -> ToolCallBlock:
        if not plain.keys() <= _CALL_KEYS:
            raise _RefusedError
        block = _new(ToolCallBlock)
        _call_type(block, "tool_call")
        _call_id(block, self._text(plain["id"], "$.id"))
        _call_name(block, self._text(plain["name"], "$.name"))
        _call_arguments(block, self._text(plain.get("arguments", "{}"), "$.arguments"))
        _call_cache(block, None)
        _call_extra(block, self._object(plain, "extra"))
        return block

    def _result_block(self, plain: dict[str, Any]) -> ToolResultBlock:
        content = plain["content"]
        if not plain.keys() <= _RESULT_KEYS:
            raise _RefusedError
        if type(content) is str:
            content = self._text(content, "$.content")
        elif type(content) is list:
            content = tuple([self._content_block(item) for item in content])
        else:
            raise _RefusedError
        block = _new(ToolResultBlock)
        _result_type(block, "tool_result")
        _result_call_id(block, self._text(plain["call_id"], "$.call_id"))
        _result_content(block, content)
        _result_is_error(block, _flag(plain, "is_error"))
        _result_synthetic(block, _flag(plain, "synthetic"))
        _result_cache(block, None)
        _result_extra(block, self._object(plain, "extra"))
        return block

    def _content_block(self, plain: Any) -> TextBlock:
        if type(plain) is not dict or plain.get("type") != "text":
            raise _RefusedError  # images take the reference path
        return self._text_block(plain)

    def turn(self, plain: Any, memo: dict[str, Any]) -> Turn:
        """The turn of `plain`, its memo `memo`; `_RefusedError` if not certain."""
        if type(plain) is not dict:
            raise _RefusedError
        role = plain["role"]  # (a missing key raises: a refusal like any other)
        blocks = plain["blocks"]
        if len(plain) != 2 and not plain.keys() <= _TURN_KEYS:  # 2: those two keys
            raise _RefusedError
        if type(role) is not str or role not in ROLES or type(blocks) is not list:
            raise _RefusedError
        built = []
        get_builder = self._blocks.get
        for item in blocks:  # a loop, not a call per block: this runs per stored turn
            if type(item) is not dict:
                raise _RefusedError
            build = get_builder(item.get("type"))  # type: ignore[arg-type]
            if build is None:
                raise _RefusedError
            built.append(build(item))
        turn = _new(Turn)
        _turn_role(turn, role)
        _turn_blocks(turn, tuple(built))
        _turn_memo(turn, memo)
        if len(plain) == 2:  # role and blocks only (user and tool turns, mostly)
            _turn_model(turn, None)
            _turn_finish_reason(turn, None)
            _turn_finish_reason_raw(turn, None)
            _turn_usage(turn, None)
            _turn_generated_from(turn, None)
            _turn_metadata(turn, {})
            return turn
        _turn_model(turn, self._opt_text(plain, "model", "$.model"))
        _turn_finish_reason(turn, _finish_reason(plain.get("finish_reason")))
        _turn_finish_reason_raw(
            turn, self._opt_text(plain, "finish_reason_raw", "$.finish_reason_raw")
        )
        _turn_usage(turn, _usage(plain.get("usage")))
        _turn_generated_from(
            turn, self._opt_text(plain, "generated_from", "$.generated_from")
        )
        _turn_metadata(turn, self._object(plain, "metadata"))
        return turn


def _flag(plain: dict[str, Any], key: str) -> bool:
    value = plain.get(key, False)
    if type(value) is not bool:
        raise _RefusedError
    return value


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


_STRICT = _Decoder(check_texts=True, exact_numbers=True)
"""For plains of `json.loads`: every text checked, numbers exact."""
_FROM_BYTES = _Decoder(check_texts=True, exact_numbers=False)
"""For orjson plains whose bytes hold a `\\u0000` escape: texts checked."""
_FROM_CLEAN_BYTES = _Decoder(check_texts=False, exact_numbers=False)
"""For orjson plains of bytes without a `\\u0000` escape: every text is valid."""
_NUL_ESCAPE = b"\\u0000"
_CANONICAL = CANONICAL.name


def fast_turn(plain: object) -> Turn | None:
    """The turn `decode_turn(plain)` would build, or None (then decode with it)."""
    if not ENABLED:
        return None
    try:
        return _STRICT.turn(plain, {})
    except Exception:  # noqa: BLE001 - any refusal is the reference path's to report
        return None


def _c_decoder() -> Callable[[Any, dict[str, Any]], Turn | None] | None:
    """The C builder of `_FROM_CLEAN_BYTES`'s turns (`convo/wire/_canonical_c.c`), or None.

    None where it was not compiled (no C compiler when convo was installed),
    when `CONVO_PURE_PYTHON` is set, when it was built for other `FIELDS`
    (a stale build), or when a value class's fields are not the slots
    `FIELDS` names: then this module's Python decoder does it all.
    """
    _canonical_c = native("convo.wire._canonical_c")
    if _canonical_c is None or not ENABLED:
        return None
    classes = [cls for cls in FIELDS if cls is not Provenance]  # (interned here)
    if tuple(FIELDS[cls] for cls in classes) != _canonical_c.FIELDS:
        return None  # built from another version of the value classes
    specs = []
    for cls in classes:
        slots = tuple(cls.__dict__.get(name) for name in FIELDS[cls])
        if not all(isinstance(slot, types.MemberDescriptorType) for slot in slots):
            return None
        specs.append((cls, slots))
    _canonical_c.configure(
        *specs,
        ROLES,
        _FINISH,
        _provenances,
        Usage,
        (
            _TURN_KEYS,
            _TEXT_KEYS,
            _REASONING_KEYS,
            _PART_KEYS,
            _CALL_KEYS,
            _RESULT_KEYS,
            _PROVENANCE_KEYS,
            _USAGE_KEYS,
        ),
    )
    built: Callable[[Any, dict[str, Any]], Turn | None] = _canonical_c.turn
    return built


C_TURN = _c_decoder()
"""The C decoder of clean-byte plains, or None (then the Python one runs alone)."""


def fast_turn_from_bytes(data: bytes) -> Turn | None:
    """The turn `decode_turn(json.loads(data))` would build, or None (then decode so).

    Parses with orjson, which refuses what JSON forbids in a string (a raw
    control character, invalid UTF-8, an escaped lone surrogate) instead of
    passing it on: so when `data` holds no `\\u0000` escape, every string
    parsed is one that `check_text` accepts, and the per-string check (an
    encode of every text) is skipped. orjson reads an integer beyond 64 bits
    as a float: a float in `extra` or `metadata` answers None, and the typed
    fields refuse floats anyway. Anything orjson refuses answers None.

    Such a plain goes to the C decoder first (`C_TURN`), which builds the
    same turn as the Python one or answers None; then the Python one decides.

    The turn's canonical bytes are memoised as `data`: the caller must verify
    them (the store recomputes the turn id over exactly these bytes).
    """
    if not ENABLED:
        return None
    try:
        plain = orjson.loads(data)
        memo = {_CANONICAL: data}
        if _NUL_ESCAPE in data:
            return _FROM_BYTES.turn(plain, memo)
        if C_TURN is not None:
            built = C_TURN(plain, memo)
            if built is not None:
                return built
        return _FROM_CLEAN_BYTES.turn(plain, memo)
    except Exception:  # noqa: BLE001 - any refusal is the reference path's to report
        return None

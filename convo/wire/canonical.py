"""convo's own JSON: storage, hashing, export and golden fixtures.

A document is `{"convo": <version>, "kind": "block" | "turn" | "conversation",
"value": ...}` in canonical bytes (sorted keys, compact, UTF-8): the same value
always gives the same bytes. Loading is strict: unknown keys, unknown block
tags and documents of a newer version raise typed errors with the path.

A conversation's value lists every turn once, depth first, children in the
order they were added, each with its id and its parent's id; loading rebuilds
the graph and checks that every id matches its content, so a tampered or
corrupted document is refused.

Version 2 (written since convo 0.x) adds `digest` to a conversation's value: the
turn-id style hash (`"b2:"` + blake2b-256) of the canonical JSON
`{"active": ..., "branches": ..., "turns": [<turn ids in document order>]}`,
so a changed branch name, head or active branch is refused too. Version 1
documents (no digest) still load; their branch map is checked only for
consistency. Block and turn documents are the same in both versions.

The bytes must be UTF-8 without a byte-order mark; UTF-16/32, duplicate keys
and the non-JSON constants `NaN`/`Infinity` are refused, so one document has
exactly one meaning. A `str` argument is taken as already-decoded text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import immutables

from convo._blocks import Block
from convo._check import wrong_type
from convo._converter import converter, turn_bytes, turn_plain
from convo._graph import Conversation
from convo._ids import TurnId, is_turn_id
from convo._json import JSONObject, canonical_bytes
from convo._turns import Turn, expect_turn
from convo.errors import (
    DecodeError,
    InvalidConversationError,
    UnsupportedVersionError,
    excerpt,
)

__all__ = [
    "FORMAT_VERSION",
    "SUPPORTED_VERSIONS",
    "decode_block",
    "decode_turn",
    "dumps",
    "encode_block",
    "encode_turn",
    "loads_block",
    "loads_conversation",
    "loads_turn",
    "turn_bytes",
]

FORMAT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
_MAX_DOCUMENT_BYTES = 512 * 1024 * 1024


def encode_block(block: Block) -> JSONObject:
    """The canonical plain form of a block."""
    plain: JSONObject = converter().unstructure(block, Block)
    return plain


def encode_turn(turn: Turn) -> JSONObject:
    """The canonical plain form of a turn.

    Raises:
        UsageError: `turn` is not a Turn.
    """
    expect_turn(turn)
    return turn_plain(turn)


def decode_block(data: object, *, path: str = "$") -> Block:
    """A block from its canonical plain form.

    Raises:
        UnknownBlockTypeError: the `type` tag is not a canonical block tag.
        DecodeError: any other shape or content problem, with its path.
    """
    block: Block = _structure(data, Block, path=path, what="Block")
    return block


def decode_turn(data: object, *, path: str = "$") -> Turn:
    """A turn from its canonical plain form (see `decode_block` for errors)."""
    turn: Turn = _structure(data, Turn, path=path, what="Turn")
    return turn


def _structure(data: object, cls: Any, *, path: str, what: str) -> Any:
    """`data` structured as `cls` by the canonical converter; any failure a `DecodeError`."""
    from convo._converter_base import guarded  # (here: cattrs is imported on first use)

    return guarded(
        lambda: converter().structure(data, cls), root=path, what=what, received=data
    )


def _conversation_bytes(conversation: Conversation) -> bytes:
    entries = []
    for node in conversation.walk():
        parent = b"null" if node.parent is None else b'"' + node.parent.encode() + b'"'
        entries.append(
            b'{"id":"'
            + node.id.encode()
            + b'","parent":'
            + parent
            + b',"turn":'
            + turn_bytes(node.turn)
            + b"}"
        )
    branches = dict(conversation.heads.items())
    ids = [node.id for node in conversation.walk()]
    head = canonical_bytes(
        {
            "active": conversation.active,
            "branches": branches,
            "digest": _digest(conversation.active, branches, ids),
        }
    )
    # head is '{"active":...,"branches":{...},"digest":...}'; splice the turns in last.
    return (
        b'{"convo":'
        + str(FORMAT_VERSION).encode()
        + b',"kind":"conversation","value":'
        + head[:-1]
        + b',"turns":['
        + b",".join(entries)
        + b"]}}"
    )


def _digest(active: object, branches: object, ids: Sequence[str]) -> str:
    """The version-2 integrity digest of a conversation's branch map and turn ids."""
    document = canonical_bytes({"active": active, "branches": branches, "turns": ids})
    return "b2:" + hashlib.blake2b(document, digest_size=32).hexdigest()


def dumps(value: Block | Turn | Conversation) -> bytes:
    """The canonical document of a block, a turn or a conversation, as bytes.

    Raises:
        UsageError: `value` is none of those.
    """
    if isinstance(value, Conversation):
        return _conversation_bytes(value)
    if isinstance(value, Turn):
        return (
            b'{"convo":'
            + str(FORMAT_VERSION).encode()
            + b',"kind":"turn","value":'
            + turn_bytes(value)
            + b"}"
        )
    if not isinstance(value, Block):
        raise wrong_type(value, "block, Turn or Conversation", "value")
    return canonical_bytes(
        {"convo": FORMAT_VERSION, "kind": "block", "value": encode_block(value)}
    )


def _decode_error(
    what: str, received: object = ..., fix: str | None = None
) -> DecodeError:
    return DecodeError(
        what, path="$", errors=(f"{what} @ $",), received=received, fix=fix
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            msg = f"duplicate key {excerpt(key)} in one object"
            raise ValueError(msg)
        document[key] = value
    return document


def _refuse_constant(name: str) -> object:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


def _text(data: object) -> str:
    """The document's text: a `str` as is, `bytes` as strict UTF-8 without a BOM."""
    if isinstance(data, str):
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:4]:
            raise _decode_error(
                "Document looks like UTF-16 or UTF-32, not UTF-8",
                fix="Canonical documents are UTF-8; re-encode the file as UTF-8.",
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _decode_error(
                "Document is not UTF-8",
                received=f"<invalid byte at offset {exc.start}>",
                fix="Canonical documents are UTF-8; re-encode the file as UTF-8.",
            ) from None
    else:
        raise _decode_error(
            "A canonical document is bytes or str",
            received=f"<{type(data).__name__}>",
            fix="Pass the document's bytes (or its decoded text).",
        )
    if text.startswith("\ufeff"):
        raise _decode_error(
            "Document starts with a byte-order mark",
            fix="Write canonical documents as UTF-8 without a BOM.",
        )
    return text


def _envelope(data: object, kind: str) -> tuple[int, Any]:
    if isinstance(data, str | bytes | bytearray) and len(data) > _MAX_DOCUMENT_BYTES:
        raise DecodeError(
            f"Document is larger than {_MAX_DOCUMENT_BYTES} bytes",
            path="$",
            errors=("too large @ $",),
        )
    text = _text(data)
    try:
        document = json.loads(
            text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant
        )
    except (ValueError, RecursionError) as exc:
        raise DecodeError(
            "Document is not valid JSON",
            path="$",
            errors=(f"{exc} @ $",),
            received=str(exc),
        ) from None
    if not isinstance(document, dict) or set(document) != {"convo", "kind", "value"}:
        raise DecodeError(
            "Not a convo canonical document",
            path="$",
            errors=("not a convo document @ $",),
            received=list(document) if isinstance(document, dict) else document,
            fix='A document is {"convo": 2, "kind": ..., "value": ...}.',
        )
    version = document["convo"]
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersionError(
            "Canonical format version is not supported by this convo",
            path="$.convo",
            errors=("unsupported version @ $.convo",),
            version=version,
            supported=SUPPORTED_VERSIONS,
            received=version,
            fix="Upgrade convo to read documents written by a newer version.",
        )
    if document["kind"] != kind:
        raise DecodeError(
            f"Expected a {kind} document",
            path="$.kind",
            errors=(f"expected {kind} @ $.kind",),
            received=document["kind"],
        )
    return version, document["value"]


def loads_block(data: bytes | str) -> Block:
    """A block from a canonical document."""
    return decode_block(_envelope(data, "block")[1], path="$.value")


def loads_turn(data: bytes | str) -> Turn:
    """A turn from a canonical document."""
    return decode_turn(_envelope(data, "turn")[1], path="$.value")


def _shape_error(what: str, where: str, received: object) -> DecodeError:
    return DecodeError(
        what, path=where, errors=(f"{what} @ {where}",), received=received
    )


def _check_digest(value: Mapping[str, Any], ids: list[str]) -> None:
    expected = _digest(value["active"], value["branches"], ids)
    if value["digest"] != expected:
        raise DecodeError(
            "Conversation digest does not match its branches and turns",
            path="$.value.digest",
            errors=("digest mismatch @ $.value.digest",),
            received=value["digest"],
            fix="The branch map or the turn list was changed after the document "
            "was written; export the conversation again.",
        )


def loads_conversation(data: bytes | str) -> Conversation:
    """A conversation from a canonical document; every turn id is verified.

    Raises:
        DecodeError: not UTF-8 JSON with unique keys, bad shape, an id that does
            not match its content, a parent listed after its child, a branch
            head naming no turn, or (version 2) a digest that does not match.
    """
    version, value = _envelope(data, "conversation")
    keys = {"active", "branches", "turns"} | ({"digest"} if version >= 2 else set())
    if not isinstance(value, dict) or set(value) != keys:
        raise _shape_error(
            f"Conversation value (version {version}) needs exactly "
            + ", ".join(sorted(keys)),
            "$.value",
            value,
        )
    turns, branches, active = value["turns"], value["branches"], value["active"]
    if (
        not isinstance(turns, list)
        or not isinstance(branches, dict)
        or not isinstance(active, str)
    ):
        raise _shape_error(
            "Conversation value has fields of the wrong type", "$.value", value
        )
    builder = Conversation(heads=immutables.Map()).builder()
    for i, entry in enumerate(turns):
        where = f"$.value.turns[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"id", "parent", "turn"}:
            raise _shape_error(
                "A turn entry needs exactly id, parent, turn", where, entry
            )
        parent = entry["parent"]
        if parent is not None and (
            not isinstance(parent, str) or parent not in builder
        ):
            raise _shape_error(
                "A turn's parent must be listed before it", f"{where}.parent", parent
            )
        turn = decode_turn(entry["turn"], path=f"{where}.turn")
        size = len(builder)
        try:
            turn_id = builder.attach(turn, parent=TurnId(parent) if parent else None).id
        except InvalidConversationError as exc:
            raise _shape_error(exc.message, where, entry["id"]) from exc
        if len(builder) == size:
            raise _shape_error("A turn is listed twice", f"{where}.id", entry["id"])
        if entry["id"] != turn_id:
            raise _shape_error(
                f"Turn id does not match its content (expected {turn_id})",
                f"{where}.id",
                entry["id"],
            )
    conversation = builder.finish()
    for name, head in branches.items():
        if head is not None and (
            not is_turn_id(head) or head not in conversation.nodes
        ):
            raise _shape_error(
                "Branch head names no listed turn", f"$.value.branches.{name}", head
            )
    if active not in branches:
        raise _shape_error(
            "Active branch is not among the branches", "$.value.active", active
        )
    if version >= 2:
        _check_digest(value, [entry["id"] for entry in turns])
    try:
        return conversation.with_heads(branches, active=active)
    except ValueError as exc:
        raise _shape_error(str(exc), "$.value.branches", branches) from exc

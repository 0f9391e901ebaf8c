"""convo's own JSON: storage, hashing, export and golden fixtures.

A document is `{"convo": <version>, "kind": "block" | "turn" | "conversation",
"value": ...}` in canonical bytes (sorted keys, compact, UTF-8): the same value
always gives the same bytes. Loading is strict: unknown keys, unknown block
tags and documents of a newer version raise typed errors with the path.

A conversation's value lists every turn once, depth first, children in the
order they were added, each with its id and its parent's id; loading rebuilds
the graph and checks that every id matches its content, so a tampered or
corrupted document is refused.
"""

from __future__ import annotations

import json
from typing import Any

import immutables

from convo._blocks import Block
from convo._graph import Conversation
from convo._ids import TurnId, is_turn_id
from convo._json import JSONObject, canonical_bytes
from convo._turns import Turn
from convo.errors import (
    DecodeError,
    InvalidConversationError,
    UnsupportedVersionError,
    message,
)
from convo.wire._base import guarded
from convo.wire._converter import CONVERTER, turn_bytes, turn_plain

__all__ = [
    "FORMAT_VERSION",
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

FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
_MAX_DOCUMENT_BYTES = 512 * 1024 * 1024


def encode_block(block: Block) -> JSONObject:
    """The canonical plain form of a block."""
    plain: JSONObject = CONVERTER.unstructure(block, Block)
    return plain


def encode_turn(turn: Turn) -> JSONObject:
    """The canonical plain form of a turn."""
    return turn_plain(turn)


def decode_block(data: object, *, path: str = "$") -> Block:
    """A block from its canonical plain form.

    Raises:
        UnknownBlockTypeError: the `type` tag is not a canonical block tag.
        DecodeError: any other shape or content problem, with its path.
    """
    block: Block = guarded(
        lambda: CONVERTER.structure(data, Block),  # type: ignore[arg-type]
        root=path,
        what="Block",
        received=data,
    )
    return block


def decode_turn(data: object, *, path: str = "$") -> Turn:
    """A turn from its canonical plain form (see `decode_block` for errors)."""
    turn: Turn = guarded(
        lambda: CONVERTER.structure(data, Turn), root=path, what="Turn", received=data
    )
    return turn


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
    head = canonical_bytes(
        {"active": conversation.active, "branches": dict(conversation.heads.items())}
    )
    # head is '{"active":...,"branches":{...}}'; splice the turns in as the last key.
    return (
        b'{"convo":'
        + str(FORMAT_VERSION).encode()
        + b',"kind":"conversation","value":'
        + head[:-1]
        + b',"turns":['
        + b",".join(entries)
        + b"]}}"
    )


def dumps(value: Block | Turn | Conversation) -> bytes:
    """The canonical document of a block, a turn or a conversation, as bytes."""
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
    return canonical_bytes(
        {"convo": FORMAT_VERSION, "kind": "block", "value": encode_block(value)}
    )


def _envelope(data: bytes | str, kind: str) -> Any:
    if len(data) > _MAX_DOCUMENT_BYTES:
        raise DecodeError(
            message(f"Document is larger than {_MAX_DOCUMENT_BYTES} bytes", where="$"),
            path="$",
            errors=("too large @ $",),
        )
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(
            message("Document is not valid JSON", where="$", received=str(exc)),
            path="$",
            errors=(f"{exc} @ $",),
        ) from None
    if not isinstance(document, dict) or set(document) != {"convo", "kind", "value"}:
        raise DecodeError(
            message(
                "Not a convo canonical document",
                where="$",
                received=list(document) if isinstance(document, dict) else document,
                fix='A document is {"convo": 1, "kind": ..., "value": ...}.',
            ),
            path="$",
            errors=("not a convo document @ $",),
        )
    version = document["convo"]
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersionError(
            message(
                "Canonical format version is not supported by this convo",
                where="$.convo",
                received=version,
                fix="Upgrade convo to read documents written by a newer version.",
            ),
            path="$.convo",
            errors=("unsupported version @ $.convo",),
            version=version,
            supported=SUPPORTED_VERSIONS,
        )
    if document["kind"] != kind:
        raise DecodeError(
            message(
                f"Expected a {kind} document", where="$.kind", received=document["kind"]
            ),
            path="$.kind",
            errors=(f"expected {kind} @ $.kind",),
        )
    return document["value"]


def loads_block(data: bytes | str) -> Block:
    """A block from a canonical document."""
    return decode_block(_envelope(data, "block"), path="$.value")


def loads_turn(data: bytes | str) -> Turn:
    """A turn from a canonical document."""
    return decode_turn(_envelope(data, "turn"), path="$.value")


def _shape_error(what: str, where: str, received: object) -> DecodeError:
    return DecodeError(
        message(what, where=where, received=received),
        path=where,
        errors=(f"{what} @ {where}",),
    )


def loads_conversation(data: bytes | str) -> Conversation:
    """A conversation from a canonical document; every turn id is verified.

    Raises:
        DecodeError: bad shape, an id that does not match its content, a parent
            listed after its child, or a branch head naming no turn.
    """
    value = _envelope(data, "conversation")
    if not isinstance(value, dict) or set(value) != {"active", "branches", "turns"}:
        raise _shape_error(
            "Conversation value needs exactly active, branches, turns", "$.value", value
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
    try:
        return conversation.with_heads(branches, active=active)
    except ValueError as exc:
        raise _shape_error(str(exc), "$.value.branches", branches) from exc

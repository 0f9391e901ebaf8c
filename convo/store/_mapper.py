"""Rows to values and back, through the canonical format: the only module that knows both.

A turn is stored as its canonical JSON text, except that every image's base64
`data` is replaced by `"blob": "sha256:<hex>"` and the bytes go to `convo_blobs`.
Loading reverses that, decodes strictly (closed block set, no extra keys) and
recomputes every turn id from content and parent; a row that fails any step
raises `CorruptRecordError`, never a substitute. Only JSON parsers (orjson
for the fast decoder, `json.loads` for the strict path) and the canonical
decoders ever see stored data: no pickle, eval or dynamic import.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import immutables

from convo._blocks import ImageBlock, ToolResultBlock
from convo._converter import CANONICAL, turn_bytes, turn_plain
from convo._graph import Conversation, GraphBuilder, Node
from convo._ids import TurnId
from convo._json import JSONObject, canonical_bytes, json_object
from convo._turns import Turn
from convo.errors import (
    ConvoError,
    CorruptRecordError,
    InvalidConversationError,
    LookupFailedError,
)
from convo.store._args import invalid
from convo.store._cache import TurnCache
from convo.wire._canonical_fast import fast_turn, fast_turn_from_bytes
from convo.wire.canonical import decode_turn

__all__ = [
    "Blob",
    "StoredTurn",
    "corrupt",
    "decode_payload",
    "encode_turn",
    "has_images",
]

_BLOB_PREFIX = "sha256:"
_BLOB_MARKER = '"blob":"sha256:'
_BLOB_MARKER_BYTES = _BLOB_MARKER.encode()
_EMPTY: immutables.Map[str, TurnId | None] = immutables.Map()


@attrs.frozen(kw_only=True)
class Blob:
    """Image bytes to store once per conversation, keyed by their SHA-256."""

    sha256: str
    media_type: str
    data: bytes


@attrs.frozen(kw_only=True)
class StoredTurn:
    """A turn as the store writes it: payload text plus the blobs it refers to."""

    payload: str
    blobs: tuple[Blob, ...]


def corrupt(
    table: str, key: str, what: str, *, received: object = ...
) -> CorruptRecordError:
    """The error for a stored row that is not convo data."""
    return CorruptRecordError(
        f"Stored row is not valid convo data: {what}",
        table=table,
        key=key,
        where=f"{table}[{key}]",
        received=received,
        fix="Restore the row from a backup or an export; convo substitutes nothing.",
    )


def has_images(turn: Turn) -> bool:
    """Whether any block of `turn` (or of a tool result's content) is an image."""
    for block in turn.blocks:
        if isinstance(block, ImageBlock):
            return True
        if (
            isinstance(block, ToolResultBlock)
            and not isinstance(block.content, str)
            and any(isinstance(b, ImageBlock) for b in block.content)
        ):
            return True
    return False


def _offload(block: Any, blobs: dict[str, Blob]) -> None:
    if not isinstance(block, dict):
        return
    if block.get("type") == "image" and "data" in block:
        data = base64.b64decode(block.pop("data"))
        sha = hashlib.sha256(data).hexdigest()
        blobs.setdefault(
            sha, Blob(sha256=sha, media_type=str(block["media_type"]), data=data)
        )
        block["blob"] = _BLOB_PREFIX + sha
    elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
        for item in block["content"]:
            _offload(item, blobs)


def encode_turn(turn: Turn) -> StoredTurn:
    """The payload text of `turn` with its images moved out to blobs."""
    if not has_images(turn):
        return StoredTurn(payload=turn_bytes(turn).decode("utf-8"), blobs=())
    plain = turn_plain(turn)
    blobs: dict[str, Blob] = {}
    for block in plain["blocks"]:  # type: ignore[union-attr]
        _offload(block, blobs)
    return StoredTurn(
        payload=canonical_bytes(plain).decode("utf-8"), blobs=tuple(blobs.values())
    )


def mentions_blobs(payload: str | bytes) -> bool:
    """Whether a payload may refer to blobs (well formed or not): a cheap substring test."""
    if isinstance(payload, bytes):
        return b'"blob"' in payload
    return '"blob"' in payload


def blob_refs(payload: object) -> set[str]:
    """The blob keys a payload refers to (cheap: a substring test first)."""
    if isinstance(payload, bytes):
        if _BLOB_MARKER_BYTES not in payload:
            return set()
    elif not isinstance(payload, str) or _BLOB_MARKER not in payload:
        return set()
    refs: set[str] = set()
    try:
        plain = json.loads(payload)
    except (ValueError, RecursionError):
        return refs  # decode_payload reports the row as corrupt
    for block in _blocks_of(plain):
        _collect(block, refs)
    return refs


def _blocks_of(plain: object) -> list[Any]:
    if isinstance(plain, dict) and isinstance(plain.get("blocks"), list):
        blocks: list[Any] = plain["blocks"]
        return blocks
    return []


def _collect(block: Any, refs: set[str]) -> None:
    if not isinstance(block, dict):
        return
    ref = block.get("blob")
    if block.get("type") == "image" and isinstance(ref, str):
        if ref.startswith(_BLOB_PREFIX):
            refs.add(ref[len(_BLOB_PREFIX) :])
    elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
        for item in block["content"]:
            _collect(item, refs)


def _inline(block: Any, blobs: Mapping[str, bytes], key: str) -> None:
    if not isinstance(block, dict):
        return
    if block.get("type") == "image" and "blob" in block:
        ref = block.pop("blob")
        sha = ref[len(_BLOB_PREFIX) :] if isinstance(ref, str) else None
        if sha is None or not ref.startswith(_BLOB_PREFIX) or sha not in blobs:
            raise corrupt(
                "convo_turns", key, "an image refers to a missing blob", received=ref
            )
        block["data"] = base64.b64encode(blobs[sha]).decode("ascii")
    elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
        for item in block["content"]:
            _inline(item, blobs, key)


def decode_payload(payload: object, blobs: Mapping[str, bytes], *, key: str) -> Turn:
    """The turn a stored payload holds, images put back from `blobs`.

    `payload` is the row's text, as a str or as its UTF-8 bytes (SQLite loads
    read it so: the id is hashed over those bytes, which then need no copy).

    Raises:
        CorruptRecordError: the payload is not text, not JSON, not a canonical
            turn, or refers to a blob that is not there.
    """
    if isinstance(payload, bytes):
        data: bytes | None = payload
    elif isinstance(payload, str):
        try:
            data = payload.encode()
        except UnicodeEncodeError:
            data = None  # the strict path below says what is wrong
    else:
        raise corrupt(
            "convo_turns",
            key,
            "payload is not text",
            received=f"<{type(payload).__name__}>",
        )
    # The fast path refuses every image (and so every blob reference): a turn
    # it builds is whole, and its stored bytes are its canonical bytes.
    fast = None if data is None else fast_turn_from_bytes(data)
    if fast is not None:
        return fast
    inline = mentions_blobs(payload)
    text = _text(payload, key)
    try:
        plain = json.loads(text)
    except (ValueError, RecursionError):
        raise corrupt(
            "convo_turns", key, "payload is not JSON", received=text
        ) from None
    if not isinstance(plain, dict):
        raise corrupt("convo_turns", key, "payload is not a JSON object", received=text)
    if inline:
        for block in _blocks_of(plain):
            _inline(block, blobs, key)
    turn = None if inline else fast_turn(plain)
    if turn is None:
        try:
            turn = decode_turn(plain, path="$.payload")
        except ConvoError as exc:
            raise corrupt("convo_turns", key, exc.message) from exc
    if not inline:
        # A payload without blobs is the turn's canonical bytes as written: the
        # id check hashes exactly these bytes, so re-encoding them is not needed.
        turn.memo(CANONICAL, text.encode)
    return turn


def _text(payload: str | bytes, key: str) -> str:
    """A payload as text; bytes that are not UTF-8 are a corrupt row."""
    if isinstance(payload, str):
        return payload
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise corrupt(
            "convo_turns", key, "payload is not UTF-8 text", received=payload
        ) from None


Ahead = Turn | Node | CorruptRecordError
"""What `predecode` made of a row: its turn, the cache's verified node, or its error."""


def predecode(
    turn_id: TurnId,
    parent_id: TurnId | None,
    payload: object,
    *,
    into: dict[str, Ahead],
    cache: TurnCache | None,
) -> None:
    """Decode a row of a conversation without blobs ahead of `rebuild`, into `into[turn_id]`.

    For rows that arrive over time (`convo.store._stream`): each is decoded
    while the next are on their way. A row that does not decode is kept as
    its `CorruptRecordError`, raised only when `rebuild` reaches that row, so
    errors come in path order as they always do, and a row `rebuild` never
    reaches raises nothing. A row the `cache` holds is kept as its node.
    """
    known = None if cache is None else cache.match(turn_id, parent_id, payload)
    if known is not None:
        into[turn_id] = known
        return
    try:
        into[turn_id] = decode_payload(payload, _NO_BLOBS, key=turn_id)
    except CorruptRecordError as exc:
        into[turn_id] = exc


_NO_BLOBS: Mapping[str, bytes] = {}
_NOTHING_AHEAD: Mapping[str, Ahead] = {}


def rebuild(
    rows: Iterable[tuple[TurnId, TurnId | None, str | bytes]],
    blobs: Mapping[str, bytes],
    *,
    conversation: Conversation | None = None,
    cache: TurnCache | None = None,
    decoded: Mapping[str, Ahead] | None = None,
) -> Conversation:
    """A conversation graph from `(id, parent_id, payload)` rows, parents first.

    Every id is recomputed from the decoded turn and its parent and must match.
    With a `cache`, a row that is exactly one decoded before (same id, parent
    id and payload text) reuses that verified node, and every newly verified
    row without images is kept (see `convo.store._cache`).

    `decoded` holds what `predecode` made of these very rows, by row id: a
    turn is attached as decoded there, a node adopted, an error raised.

    Raises:
        CorruptRecordError: a row does not decode, does not fit the graph, or its
            id does not match its content.
    """
    graph = conversation if conversation is not None else Conversation(heads=_EMPTY)
    builder = graph.builder()
    ahead = decoded or _NOTHING_AHEAD
    match = None if cache is None else cache.match
    verified: list[tuple[Node, str | bytes]] = []
    try:
        for turn_id, parent_id, payload in rows:
            found = ahead.get(turn_id)
            if found is None and match is not None:
                found = match(turn_id, parent_id, payload)
            if isinstance(found, Node):
                _adopt(builder, found)
                continue
            node = _attach(builder, turn_id, parent_id, payload, blobs, found)
            # Kept unless it has images (they live in another table). A turn
            # whose canonical bytes are the row's own was decoded whole by the
            # fast path, which refuses images: no need to look.
            if match is not None and (
                node.turn.memoized(CANONICAL) is payload or not has_images(node.turn)
            ):
                verified.append((node, payload))
    finally:
        if cache is not None and verified:
            cache.keep_all(verified)  # every row verified before a corrupt one
    return builder.finish()


def _adopt(builder: GraphBuilder, node: Node) -> None:
    try:
        builder.adopt(node)
    except (InvalidConversationError, LookupFailedError, ValueError) as exc:
        raise corrupt("convo_turns", node.id, _reason(exc)) from exc


def _attach(
    builder: GraphBuilder,
    turn_id: TurnId,
    parent_id: TurnId | None,
    payload: str | bytes,
    blobs: Mapping[str, bytes],
    ahead: Turn | CorruptRecordError | None,
) -> Node:
    """Decode one row (or take what `predecode` made of it), attach it and check its id.

    Every failure is a corrupt record.
    """
    try:
        if ahead is None:
            turn = decode_payload(payload, blobs, key=turn_id)
        elif isinstance(ahead, CorruptRecordError):
            raise ahead
        else:
            turn = ahead
        node = builder.attach(turn, parent=parent_id)
    except (InvalidConversationError, LookupFailedError, ValueError) as exc:
        raise corrupt("convo_turns", turn_id, _reason(exc)) from exc
    if node.id != turn_id:
        raise corrupt(
            "convo_turns",
            turn_id,
            f"its id does not match its content (content hashes to {node.id})",
        )
    return node


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, ConvoError) else str(exc)


def metadata_plain(value: Mapping[str, Any] | None) -> JSONObject:
    """Application metadata as a validated JSON object (a deep copy)."""
    if value is not None and not isinstance(value, Mapping):
        raise invalid(
            "metadata must be a mapping (a JSON object) or None",
            "$.metadata",
            value,
            "Pass a dict.",
        )
    return json_object(value or {}, path="$.metadata")

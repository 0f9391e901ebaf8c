"""The export document of a stored conversation: the graph plus its title and metadata.

    {"convo": 1, "kind": "stored_conversation",
     "value": {"conversation": <a conversation document's value>,
               "metadata": {...}, "title": "..." | null}}

Canonical JSON like every convo document, so an export is byte-stable. The
conversation part carries every turn, every branch head and the active branch.
`read` also takes a bare conversation document (what `export` wrote before
title and metadata travelled with it), giving no title and no metadata.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from convo._graph import Conversation
from convo._json import JSON, canonical_bytes
from convo.errors import DecodeError
from convo.wire.canonical import dumps, loads_conversation

__all__ = ["KIND", "read", "write"]

KIND = "stored_conversation"


def write(
    conversation: Conversation, *, title: str | None, metadata: Mapping[str, JSON]
) -> bytes:
    """The export document of a stored conversation."""
    inner = json.loads(dumps(conversation))["value"]
    return canonical_bytes(
        {
            "convo": 1,
            "kind": KIND,
            "value": {
                "conversation": inner,
                "metadata": dict(metadata),
                "title": title,
            },
        }
    )


def _error(what: str, where: str, received: object) -> DecodeError:
    return DecodeError(
        what,
        path=where,
        errors=(f"{what} @ {where}",),
        received=received,
        fix="Pass a document Store.export wrote (or a conversation document).",
    )


def read(data: bytes | str) -> tuple[Conversation, str | None, dict[str, Any]]:
    """The conversation, title and metadata of an export (or of a conversation document).

    Raises:
        DecodeError: not such a document, or a part of it is invalid.
    """
    if not isinstance(data, bytes | str):
        raise _error("A document must be bytes or str", "$", f"<{type(data).__name__}>")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        document = None  # loads_conversation says precisely what is wrong
    if not (isinstance(document, dict) and document.get("kind") == KIND):
        return loads_conversation(data), None, {}
    value = document.get("value")
    if (
        set(document) != {"convo", "kind", "value"}
        or document["convo"] != 1
        or not isinstance(value, dict)
        or set(value) != {"conversation", "metadata", "title"}
    ):
        raise _error(
            "A stored conversation needs exactly conversation, metadata, title",
            "$.value",
            value,
        )
    title, metadata = value["title"], value["metadata"]
    if title is not None and not isinstance(title, str):
        raise _error("title must be a string or null", "$.value.title", title)
    if not isinstance(metadata, dict):
        raise _error("metadata must be an object", "$.value.metadata", metadata)
    graph = value["conversation"]
    # The conversation inside keeps the canonical version it was written in:
    # version 2 carries a digest over its branches, version 1 does not.
    version = 2 if isinstance(graph, dict) and "digest" in graph else 1
    inner = canonical_bytes({"convo": version, "kind": "conversation", "value": graph})
    return loads_conversation(inner), title, metadata

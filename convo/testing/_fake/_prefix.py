"""The prefix a Claude answer was generated from, as a digest (rule R5).

Newer Claude models (here Opus 4.5) bind a thinking block to the exact prefix it
was produced after: tools, system and every earlier message, earlier thinking
included. The digest normalises only what carries no meaning — JSON formatting,
`cache_control` markers, a string content versus a one-text-block list, and
provider extras on tool calls — so a client that replays history unchanged
always matches, and one that drops, edits or reorders anything does not.
Invariant: equal digests mean the model saw the same prefix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["prefix_digest"]


def _part(part: Any) -> Any:
    if isinstance(part, Mapping):
        return {k: v for k, v in part.items() if k != "cache_control"}
    return part


def _message(msg: Mapping[str, Any]) -> dict[str, Any]:
    content = msg.get("content")
    if isinstance(content, str):
        parts: list[Any] = [{"type": "text", "text": content}]
    elif isinstance(content, list):
        parts = [_part(p) for p in content]
    else:
        parts = []
    calls = [
        {
            "id": c.get("id"),
            "name": (c.get("function") or {}).get("name"),
            "arguments": (c.get("function") or {}).get("arguments"),
        }
        for c in msg.get("tool_calls") or ()
        if isinstance(c, Mapping)
    ]
    return {
        "role": msg.get("role"),
        "content": parts,
        "calls": calls,
        "answers": msg.get("tool_call_id"),
    }


def _tool(tool: Any) -> Any:
    if not isinstance(tool, Mapping):
        return tool
    function = tool.get("function")
    if isinstance(function, Mapping):
        function = {k: v for k, v in function.items() if k != "cache_control"}
    return {"function": function}


def prefix_digest(
    body: Mapping[str, Any], messages: Sequence[Mapping[str, Any]]
) -> str:
    """The digest of the request's tools plus `messages` (the prefix before an answer)."""
    value = {
        "tools": [_tool(t) for t in body.get("tools") or ()],
        "messages": [_message(m) for m in messages],
    }
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()

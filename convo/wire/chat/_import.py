"""Import an existing chat-completions `messages` array into convo turns.

Lossless for everything convo models: text, images (data URLs), reasoning
parts byte for byte, tool calls with their arguments and provider fields, tool
results with their content as sent (strings stay strings). Consecutive `tool`
messages become one tool turn. Fields convo does not model go where they can be
replayed or inspected: unknown keys of a tool message (e.g. `name`) into the
result block's `extra`; unknown keys of other messages (e.g. `name`, which
Databricks rejects, R16) into the turn's metadata under "chat.message"; a
`developer` message becomes a system turn with metadata {"chat.role": "developer"}.
Reasoning gets the provenance of `target` when given, else none (unknown origin).

Invariant: the result is a tuple of valid turns, or a `DecodeError` naming the
path of the first message convo cannot represent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convo._blocks import ImageBlock, TextBlock, ToolResultBlock
from convo._targets import Target
from convo._turns import Turn
from convo.errors import ConvoError, DecodeError
from convo.wire._shared._json import fail
from convo.wire._shared._provenance import provenance_for
from convo.wire.chat._decode import message_blocks, message_fields, parse_part

__all__ = ["import_messages"]

_TOOL_KEYS = frozenset({"role", "tool_call_id", "content"})


def _tool_result(msg: Mapping[str, Any], where: str) -> ToolResultBlock:
    call_id = msg.get("tool_call_id")
    if not isinstance(call_id, str):
        raise fail(
            "A tool message needs a tool_call_id string",
            where=f"{where}.tool_call_id",
            received=call_id,
        )
    content = msg.get("content")
    value: str | tuple[TextBlock | ImageBlock, ...]
    if content is None:
        value = ""
    elif isinstance(content, str):
        value = content
    elif isinstance(content, list):
        parts = []
        for i, item in enumerate(content):
            block = parse_part(item, where=f"{where}.content[{i}]", provenance=None)
            if not isinstance(block, TextBlock | ImageBlock):
                raise fail(
                    "A tool message may carry only text and image parts",
                    where=f"{where}.content[{i}]",
                    received=item,
                )
            parts.append(block)
        value = tuple(parts)
    else:
        raise fail(
            "Tool content must be a string or a list",
            where=f"{where}.content",
            received=content,
        )
    extra = {k: v for k, v in msg.items() if k not in _TOOL_KEYS}
    return ToolResultBlock(call_id=call_id, content=value, extra=extra)


def _one(msg: object, where: str, target: Target | None) -> Turn:
    if not isinstance(msg, Mapping):
        raise fail("A message must be an object", where=where, received=msg)
    role = msg.get("role")
    metadata: dict[str, Any] = {}
    if role == "developer":
        role = "system"
        metadata["chat.role"] = "developer"
    if role not in ("system", "user", "assistant"):
        raise fail(
            "Unknown message role",
            where=f"{where}.role",
            received=role,
            fix="Roles are system, developer, user, assistant and tool.",
        )
    provenance = provenance_for(target, None) if target is not None else None
    if role == "assistant":
        blocks = message_blocks(
            msg, where=where, provenance=provenance, keep_empty=False
        )
    else:
        if (
            msg.get("tool_calls") is not None
            or msg.get("reasoning_content") is not None
        ):
            raise fail(
                f"A {role} message cannot carry tool calls or reasoning",
                where=where,
                received=sorted(msg),
            )
        blocks = message_blocks(msg, where=where, provenance=None, keep_empty=True)
    extra = message_fields(msg)
    if extra:
        metadata["chat.message"] = extra
    return Turn(role=role, blocks=tuple(blocks), metadata=metadata)


def import_messages(
    messages: Sequence[Mapping[str, Any]], *, target: Target | None = None
) -> tuple[Turn, ...]:
    """Turns for a chat-completions `messages` array (see the module docstring).

    Raises:
        DecodeError: a message cannot be represented; the path names it.
    """
    raw: object = messages
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise fail("messages must be a list", where="$", received=messages)
    turns: list[Turn] = []
    pending: list[ToolResultBlock] = []
    try:
        for i, msg in enumerate(messages):
            where = f"$[{i}]"
            item: object = msg
            if isinstance(item, Mapping) and item.get("role") == "tool":
                pending.append(_tool_result(msg, where))
                continue
            if pending:
                turns.append(Turn(role="tool", blocks=tuple(pending)))
                pending = []
            turns.append(_one(msg, where, target))
        if pending:
            turns.append(Turn(role="tool", blocks=tuple(pending)))
    except DecodeError:
        raise
    except (ConvoError, ValueError, TypeError) as exc:
        text = exc.message if isinstance(exc, ConvoError) else str(exc)
        raise DecodeError(
            f"A message holds a value convo refuses: {text}", path="$", errors=(text,)
        ) from exc
    return tuple(turns)

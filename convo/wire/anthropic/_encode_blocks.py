"""Encode convo blocks and turns as Messages API content blocks, memoized per turn.

Mapping (the inverse of `_decode`):
- `ReasoningBlock` -> one block per part, in part order: `SummaryText` ->
  `{"type": "thinking", "thinking": text, "signature": sig}` (the key left out
  only when the part has no signature at all), `SummaryEncryptedText` ->
  `{"type": "redacted_thinking", "data": data}`. Text and signatures are copied,
  never trimmed; signature-only parts (empty text) are kept (R1, R21);
- `TextBlock` -> `text`, with its `extra` keys (citations, ...) verbatim;
  empty or whitespace-only text blocks are left out (rule R12);
- `ImageBlock` -> `{"type": "image", "source": {"type": "base64", ...}}`;
- `ToolCallBlock` -> `tool_use` whose `input` is the parsed arguments object
  (`""` counts as `{}`, the zero-argument form some endpoints send), with its
  `extra` keys only when the target echoes tool-call extras (R17);
- `ToolResultBlock` -> `tool_result` (`is_error` only when true; an empty string
  content is left out; `synthetic` is convo's own flag and never sent);
- `cache_control` -> `{"type": "ephemeral"[, "ttl"]}` on the block that carries it.

Invariant: a turn's encoding is a pure function of the turn (and of the
target's `echoes_tool_call_extras`, which is part of the memo key), so it is
computed once (`Turn.memo`) as pairs of (block dict, canonical block bytes); request
bytes are joined from these, and a turn is never encoded twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn, TypeAlias

from convo._blocks import (
    Block,
    CacheControl,
    ImageBlock,
    ReasoningBlock,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._json import canonical_bytes
from convo._targets import Target
from convo._turns import MemoKey, Turn
from convo.wire._shared._cache import cache_control_json
from convo.wire._shared._reject import reject

__all__ = [
    "Encoded",
    "cache_control_json",
    "copy_json",
    "encode_turn_blocks",
    "is_blank",
]

Encoded: TypeAlias = tuple[dict[str, Any], bytes]
"""One Messages content block and its canonical bytes."""

BLOCKS: MemoKey[tuple[Encoded, ...]] = MemoKey("anthropic.blocks")
"""A turn's encoded Messages blocks; `.variant("bare")` without tool-call extras."""
_BARE = BLOCKS.variant("bare")


def is_blank(text: str) -> bool:
    """Whether Claude would refuse `text` as a text block (empty or whitespace)."""
    return not text.strip()


def copy_json(value: Any) -> Any:
    """A deep copy of a plain JSON value (strings are shared; they are immutable)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def _with_marker(out: dict[str, Any], marker: CacheControl | None) -> dict[str, Any]:
    if marker is not None:
        out["cache_control"] = cache_control_json(marker)
    return out


def _no_constant(name: str) -> NoReturn:
    msg = f"JSON constant {name} is not allowed"
    raise ValueError(msg)


def _tool_input(call: ToolCallBlock, target: Target, where: str) -> dict[str, Any]:
    if not call.arguments.strip():
        return {}
    try:
        value = json.loads(call.arguments, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        value = None
        valid = False
    else:
        valid = isinstance(value, dict)
    if not valid:
        raise reject(
            f"Arguments of tool call {call.id!r} ({call.name}) are not a JSON object; "
            "the Messages API takes tool_use input only as an object",
            rule="anthropic.tool_input",
            target=target,
            path=f"{where}.arguments",
            received=call.arguments,
            fix="Repair the arguments, or drop the call and answer it with an error "
            "tool result.",
        )
    assert isinstance(value, dict)  # noqa: S101 - checked just above
    return value


def _text(block: TextBlock, target: Target, where: str) -> list[dict[str, Any]]:
    if is_blank(block.text):
        return []  # never sent (R12); a marker on it is refused by the shared check (R7)
    out = {**block.extra, "type": "text", "text": block.text}
    return [_with_marker(out, block.cache_control)]


def _image(block: ImageBlock, _target: Target, _where: str) -> list[dict[str, Any]]:
    source = {"type": "base64", "media_type": block.media_type, "data": block.base64}
    return [_with_marker({"type": "image", "source": source}, block.cache_control)]


def _reasoning(
    block: ReasoningBlock, target: Target, where: str
) -> list[dict[str, Any]]:
    # A marker on reasoning is refused by the shared check (R7), never sent.
    out: list[dict[str, Any]] = []
    for part in block.parts:
        if isinstance(part, SummaryText):
            item: dict[str, Any] = {"type": "thinking", "thinking": part.text}
            if part.signature is not None:
                item["signature"] = part.signature
            out.append(item)
        else:
            out.append({"type": "redacted_thinking", "data": part.data})
    return out


def _tool_call(
    block: ToolCallBlock, target: Target, where: str
) -> list[dict[str, Any]]:
    extra = block.extra if target.echoes_tool_call_extras else {}
    out = {
        **extra,
        "type": "tool_use",
        "id": block.id,
        "name": block.name,
        "input": _tool_input(block, target, where),
    }
    return [_with_marker(out, block.cache_control)]


def _tool_result(
    block: ToolResultBlock, target: Target, where: str
) -> list[dict[str, Any]]:
    out: dict[str, Any] = {
        **block.extra,
        "type": "tool_result",
        "tool_use_id": block.call_id,
    }
    if isinstance(block.content, str):
        if block.content:
            out["content"] = block.content
    else:
        items: list[dict[str, Any]] = []
        for j, item in enumerate(block.content):
            sub = f"{where}.content[{j}]"
            items.extend(
                _text(item, target, sub)
                if isinstance(item, TextBlock)
                else _image(item, target, sub)
            )
        out["content"] = items
    if block.is_error:
        out["is_error"] = True
    return [_with_marker(out, block.cache_control)]


_ENCODERS: dict[type, Callable[[Any, Target, str], list[dict[str, Any]]]] = {
    TextBlock: _text,
    ImageBlock: _image,
    ReasoningBlock: _reasoning,
    ToolCallBlock: _tool_call,
    ToolResultBlock: _tool_result,
}


def _encode_block(block: Block, target: Target, where: str) -> list[dict[str, Any]]:
    return _ENCODERS[type(block)](block, target, where)


def encode_turn_blocks(
    turn: Turn, *, target: Target, where: str
) -> tuple[Encoded, ...]:
    """The Messages content blocks of one turn, with their canonical bytes (memoized)."""

    def build() -> tuple[Encoded, ...]:
        out: list[Encoded] = []
        for j, block in enumerate(turn.blocks):
            for item in _encode_block(block, target, f"{where}.blocks[{j}]"):
                out.append((item, canonical_bytes(item)))
        return tuple(out)

    return turn.memo(BLOCKS if target.echoes_tool_call_extras else _BARE, build)

"""Encode canonical turns as Responses input items (docs/responses.md, "Items").

- a leading system turn of one text block is `instructions`; any other system
  turn is a `developer` message;
- user text and images are `input_text` and `input_image` (`data:` URL) parts;
- an assistant turn's blocks become items in their order (RR2, RR13):
  reasoning → a `reasoning` item with its `summary` parts, its
  `encrypted_content` and its `rs_` id replayed unchanged (never regenerated,
  RR9; left out only under `ResponsesOptions.reasoning_ids="omit"`); text →
  `message` items; calls → `function_call` items with `call_id`, `name` and
  `arguments` verbatim, and their `fc_` id only while the reasoning item they
  came with is sent too (RR3);
- a tool turn's results are `function_call_output` items (string output, or
  `input_text` / `input_image` parts).

Item fields the blocks do not model (message `id`/`status`/`phase` and part
annotations, the `fc_` id and Gemini's `encrypted_content` of a call) come
from the turn's `metadata["responses"]`, and only when it was recorded on the
target's own route (RR10): an answer from another route is replayed with the
fields every route takes, and nothing else. Cache markers have no field and
are left out (RR14).

Invariant: deterministic; every call builds fresh dicts, so a caller may
change the payload it gets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convo._blocks import (
    ImageBlock,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._targets import Target
from convo._turns import Turn
from convo.wire.responses._decode import ITEMS_KEY

__all__ = ["encode_items", "turn_items"]


def _user_part(block: TextBlock | ImageBlock) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "input_text", "text": block.text}
    return {"type": "input_image", "image_url": block.data_url}


def _user_parts(turn: Turn) -> list[dict[str, Any]]:
    return [_user_part(b) for b in turn.blocks if isinstance(b, TextBlock | ImageBlock)]


def reasoning_item(block: ReasoningBlock, target: Target) -> dict[str, Any]:
    """The `reasoning` input item of `block`, its fields as received (RR2).

    A raw chain of thought (`content`, gpt-oss) is not replayed: the Open
    Responses spec types it null-only on input."""
    item: dict[str, Any] = {k: v for k, v in block.extra.items() if k != "content"}
    if target.responses.reasoning_ids == "omit":
        item.pop("id", None)
    item["type"] = "reasoning"
    item["summary"] = [
        {"type": "summary_text", "text": p.text}
        for p in block.parts
        if isinstance(p, SummaryText)
    ]
    blobs = [p.data for p in block.parts if isinstance(p, SummaryEncryptedText)]
    if blobs:
        item["encrypted_content"] = blobs[-1]
    return item


def _own_meta(turn: Turn, target: Target) -> Mapping[str, Any] | None:
    meta = turn.metadata.get(ITEMS_KEY)
    if isinstance(meta, dict) and meta.get("route") == target.route:
        return meta
    return None


def _message_item(
    texts: Sequence[TextBlock], meta: Mapping[str, Any] | None, target: Target
) -> dict[str, Any]:
    kind = target.responses.assistant_text_part
    parts: list[dict[str, Any]] = []
    part_meta = meta.get("parts") if meta is not None else None
    for i, block in enumerate(texts):
        got = part_meta[i] if isinstance(part_meta, list) else {}
        got = got if isinstance(got, dict) else {}
        if got.get("type") == "refusal":
            parts.append({"type": "refusal", "refusal": block.text})
        elif kind == "input_text":
            parts.append({"type": "input_text", "text": block.text})
        else:
            part = {k: v for k, v in got.items() if k != "logprobs"}
            part.setdefault("annotations", [])
            part.update({"type": "output_text", "text": block.text})
            parts.append(part)
    item: dict[str, Any] = {}
    if meta is not None:
        item.update((k, v) for k, v in meta.items() if k != "parts")
    item.update({"type": "message", "role": "assistant", "content": parts})
    return item


def _assistant_items(turn: Turn, target: Target) -> list[dict[str, Any]]:
    meta = _own_meta(turn, target)
    messages: list[Any] = list(meta.get("messages", [])) if meta else []
    calls: Mapping[str, Any] = (meta.get("calls") or {}) if meta else {}
    # A function_call sent with its `fc_` id must come after the reasoning item
    # it was emitted with (RR3); a turn whose reasoning was dropped sends its
    # calls as new items, without ids.
    orphaned = bool(meta and meta.get("reasoned")) and not any(
        isinstance(b, ReasoningBlock) for b in turn.blocks
    )
    texts = [b for b in turn.blocks if isinstance(b, TextBlock)]
    counts = [
        len(m["parts"])
        if isinstance(m, dict) and isinstance(m.get("parts"), list)
        else -1
        for m in messages
    ]
    if sum(counts) != len(texts) or any(c < 1 for c in counts):
        messages = []  # edited since it was received: plain messages, no ids
    items: list[dict[str, Any]] = []
    run: list[TextBlock] = []

    def flush() -> None:
        if run:
            items.append(_message_item(run, None, target))
            run.clear()

    blocks = list(turn.blocks)
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if isinstance(block, TextBlock):
            if messages:
                message_meta = messages.pop(0)
                n = len(message_meta["parts"])
                items.append(_message_item(blocks[i : i + n], message_meta, target))  # type: ignore[arg-type]
                i += n
                continue
            run.append(block)
        else:
            flush()
            if isinstance(block, ReasoningBlock):
                items.append(reasoning_item(block, target))
            elif isinstance(block, ToolCallBlock):
                item: dict[str, Any] = dict(calls.get(block.id) or {})
                if orphaned:
                    item.pop("id", None)
                item.update(
                    type="function_call",
                    call_id=block.id,
                    name=block.name,
                    arguments=block.arguments,
                )
                items.append(item)
        i += 1
    flush()
    return items


def _output(result: ToolResultBlock) -> str | list[dict[str, Any]]:
    if isinstance(result.content, str):
        return result.content
    return [_user_part(b) for b in result.content]


def turn_items(turn: Turn, target: Target, *, first: bool) -> list[dict[str, Any]]:
    """The input items of one turn (fresh dicts each call)."""
    if turn.role == "system":
        if first:
            return []
        return [{"type": "message", "role": "developer", "content": _user_parts(turn)}]
    if turn.role == "user":
        return [{"type": "message", "role": "user", "content": _user_parts(turn)}]
    if turn.role == "tool":
        return [
            {"type": "function_call_output", "call_id": b.call_id, "output": _output(b)}
            for b in turn.blocks
            if isinstance(b, ToolResultBlock)
        ]
    return _assistant_items(turn, target)


def instructions_of(turns: Sequence[Turn]) -> str | None:
    """The `instructions` text: a leading system turn of exactly one text block."""
    if turns and turns[0].role == "system" and len(turns[0].blocks) == 1:
        only = turns[0].blocks[0]
        if isinstance(only, TextBlock):
            return only.text
    return None


def encode_items(turns: Sequence[Turn], target: Target) -> list[dict[str, Any]]:
    """Every input item of `turns`, in order."""
    lead = instructions_of(turns) is not None
    items: list[dict[str, Any]] = []
    for i, turn in enumerate(turns):
        items.extend(turn_items(turn, target, first=lead and i == 0))
    return items

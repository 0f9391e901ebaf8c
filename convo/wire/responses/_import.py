"""Turns from a Responses `input` item list (history written for this format).

Grouping: a user message is a user turn; a `system` or `developer` message a
system turn (as is `instructions`, passed separately); consecutive reasoning,
assistant-message and `function_call` items are one assistant turn, in their
order; consecutive `function_call_output` items are one tool turn. A plain
`{"role": ..., "content": "text"}` message (no `type`) is a message too.

Reasoning gets `target`'s provenance (route included) when a target is given,
else none: reasoning of unknown origin is never replayed. Item fields the
blocks do not model are kept in `Turn.metadata["responses"]` as on decode.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from convo._blocks import Block, ImageBlock, TextBlock, ToolResultBlock
from convo._targets import Target
from convo._turns import Turn
from convo.wire._shared._json import fail, get_str, guard
from convo.wire.responses._decode import ITEMS_KEY, turn_from_items

__all__ = ["import_messages"]

_ASSISTANT_ITEMS = ("reasoning", "function_call")


def _kind(item: Mapping[str, Any]) -> str | None:
    kind = item.get("type")
    if kind is None and "role" in item:
        return "message"
    return kind if isinstance(kind, str) else None


def _parts(content: object, *, where: str) -> list[TextBlock | ImageBlock]:
    if isinstance(content, str):
        return [guard(lambda: TextBlock(text=content), where=where)]
    if not isinstance(content, list):
        raise fail("content must be a string or a list of parts", where=where)
    out: list[TextBlock | ImageBlock] = []
    for i, part in enumerate(content):
        at = f"{where}[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text") and isinstance(part, dict):
            text = get_str(part, "text", where=at)
            out.append(guard(functools.partial(TextBlock, text=text), where=at))
        elif kind == "input_image" and isinstance(part, dict):
            url = get_str(part, "image_url", where=at)
            out.append(
                guard(functools.partial(ImageBlock.from_data_url, url), where=at)
            )
        else:
            raise fail("A content part of an unknown type", where=at, received=kind)
    return out


def _assistant_item(item: Mapping[str, Any]) -> dict[str, Any]:
    if item.get("type") != "message" or not isinstance(item.get("content"), str):
        return dict(item)
    text = item["content"]
    return {
        **item,
        "type": "message",
        "content": [{"type": "output_text", "text": text}],
    }


def _tool_result(item: Mapping[str, Any], where: str) -> ToolResultBlock:
    """The result block of a `function_call_output` item."""
    call_id = get_str(item, "call_id", where=where)
    output = item.get("output", "")
    content: str | list[TextBlock | ImageBlock] = (
        output if isinstance(output, str) else _parts(output, where=f"{where}.output")
    )
    return guard(
        functools.partial(ToolResultBlock, call_id=call_id, content=content),
        where=where,
    )


def _plain_turn(
    item: Mapping[str, Any], kind: object, role: object, where: str
) -> Turn:
    """The user or system turn of a `message` item (developer counts as system)."""
    if kind != "message" or role not in ("user", "system", "developer"):
        raise fail(
            "An input item of a type convo does not import",
            where=where,
            received=kind if kind != "message" else role,
        )
    blocks = _parts(item.get("content"), where=f"{where}.content")
    return guard(
        functools.partial(
            Turn, role="user" if role == "user" else "system", blocks=tuple(blocks)
        ),
        where=where,
    )


def import_messages(
    messages: Sequence[Mapping[str, Any]], *, target: Target | None = None
) -> tuple[Turn, ...]:
    """Turns from an `input` item list (see the module docstring).

    Raises:
        DecodeError: an item or part is not of this format.
    """
    raw: object = messages
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise fail("input must be a list of items", where="$", received=messages)
    turns: list[Turn] = []
    pending: list[dict[str, Any]] = []
    start = 0
    results: list[Block] = []

    def flush_assistant() -> None:
        if not pending:
            return
        blocks, meta = turn_from_items(
            pending, where=f"$[{start}]", target=target, model=None, imported=True
        )
        turns.append(
            guard(
                lambda: Turn(
                    role="assistant", blocks=tuple(blocks), metadata={ITEMS_KEY: meta}
                ),
                where=f"$[{start}]",
            )
        )
        pending.clear()

    def flush_results() -> None:
        if results:
            turns.append(Turn(role="tool", blocks=tuple(results)))
            results.clear()

    for i, item in enumerate(messages):
        where = f"$[{i}]"
        if not isinstance(item, Mapping):
            raise fail("An input item must be an object", where=where, received=item)
        kind = _kind(item)
        role = item.get("role")
        if kind in _ASSISTANT_ITEMS or (kind == "message" and role == "assistant"):
            flush_results()
            if not pending:
                start = i
            pending.append(_assistant_item({"type": kind, **item}))
            continue
        flush_assistant()
        if kind == "function_call_output":
            # Results gather into one tool turn until the next other item.
            results.append(_tool_result(item, where))
            continue
        flush_results()
        turns.append(_plain_turn(item, kind, role, where))
    flush_assistant()
    flush_results()
    return tuple(turns)

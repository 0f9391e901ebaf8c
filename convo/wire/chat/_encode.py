"""Encode a request view into a chat-completions payload (dict or canonical bytes).

Shapes (wire-facts A3, C):
- user and system content is a plain string when it is one text block with no
  marker and no extra fields, otherwise a list of parts; the same rule holds for
  an assistant message without reasoning;
- images are `image_url` parts holding `data:` URLs (R18);
- reasoning is sent only as `{"type": "reasoning", "summary": [...]}` parts
  inside the assistant `content`, parts in their original order and bytes; a
  part's `signature` key is left out only when the part's signature is None (R1, R3);
- tool calls ride on the assistant message with their `arguments` string
  verbatim and their unknown provider fields echoed on the same call (R17);
- one `tool` message per tool result; a result's own marker turns a string
  content into a one-part list carrying it (R7);
- targets that reject empty text never get an empty or whitespace-only text part;
  an assistant message with tool calls and no content omits `content` (or sends
  null, as the target says) (R12);
- for targets whose tool messages must directly follow the call (R11), an
  assistant turn with parallel calls is split into assistant(A), tool(A),
  assistant(B), tool(B); reasoning and text stay on the first part;
- tool definitions carry `cache_control` inside `tools[i].function`, where
  goose places it and worked example 4 of wire-facts shows it (unconfirmed
  live; the native Anthropic form is `tools[-1].cache_control`).

Invariant: encoding is deterministic. Each turn's messages are encoded once per
target and memoized as canonical bytes on the (immutable) turn, so the bytes of
request N+1 cost the new turns plus a join, and equal
`convo._json.canonical_bytes(encode_request(...))` exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from convo._blocks import (
    ImageBlock,
    ReasoningBlock,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._json import canonical_bytes
from convo._params import RequestParams
from convo._request_args import expect_request
from convo._targets import Target, expect_target
from convo._tools import Tool
from convo._turns import MemoKey, Turn, expect_turn
from convo.wire._shared._cache import cache_control_json
from convo.wire._shared._check import check_request, check_size
from convo.wire._shared._facts import NO_FACTS, Facts, turn_facts
from convo.wire.chat._encode_fast import Entry as _Entry
from convo.wire.chat._encode_fast import fast as _fast
from convo.wire.chat._encode_fields import emitted_fields, params_fields
from convo.wire.chat._validate import check_shape

__all__ = [
    "encode_request",
    "encode_request_bytes",
    "encode_turn_messages",
    "params_fields",
    "validate_request",
]


_DEFAULT_PARAMS = RequestParams()
WIRE: MemoKey[_Wire] = MemoKey("chat")
"""A turn's encoded messages and facts, per target (`.variant(...)` of its rules)."""


_KEYS: dict[int, tuple[Target, MemoKey[_Wire]]] = {}


def _memo_key(target: Target) -> MemoKey[_Wire]:
    cached = _KEYS.get(id(target))
    if cached is not None and cached[0] is target:
        return cached[1]
    key = _make_key(target)
    if len(_KEYS) > 1000:
        _KEYS.clear()
    _KEYS[id(target)] = (target, key)
    return key


def _make_key(target: Target) -> MemoKey[_Wire]:
    return WIRE.variant(
        f"{target.name}:{int(target.rejects_empty_text)}"
        f"{int(target.tool_results_need_preceding_call)}"
        f"{int(target.echoes_tool_call_extras)}{target.empty_assistant_content}"
        f"{','.join(sorted(target.rejected_message_fields))}"
    )


def _is_blank(block: TextBlock, target: Target) -> bool:
    return target.rejects_empty_text and (not block.text or block.text.isspace())


def _text_part(block: TextBlock) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "text", "text": block.text}
    if block.extra:
        for key, value in block.extra.items():
            part.setdefault(key, value)
    if block.cache_control is not None:
        part["cache_control"] = cache_control_json(block.cache_control)
    return part


def _image_part(block: ImageBlock) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "image_url", "image_url": {"url": block.data_url}}
    if block.cache_control is not None:
        part["cache_control"] = cache_control_json(block.cache_control)
    return part


def _reasoning_part(block: ReasoningBlock) -> dict[str, Any]:
    summary: list[dict[str, Any]] = []
    for p in block.parts:
        if isinstance(p, SummaryText):
            item: dict[str, Any] = {"type": "summary_text", "text": p.text}
            if p.signature is not None:
                item["signature"] = p.signature
        else:
            item = {"type": "summary_encrypted_text", "data": p.data}
        summary.append(item)
    part: dict[str, Any] = {"type": "reasoning", "summary": summary}
    if block.extra:
        for key, value in block.extra.items():
            part.setdefault(key, value)
    if block.cache_control is not None:
        part["cache_control"] = cache_control_json(block.cache_control)
    return part


def _tool_call(block: ToolCallBlock, target: Target) -> dict[str, Any]:
    call: dict[str, Any] = {
        "id": block.id,
        "type": "function",
        "function": {"name": block.name, "arguments": block.arguments},
    }
    if block.extra and target.echoes_tool_call_extras:
        for key, value in block.extra.items():
            call.setdefault(key, value)
    if block.cache_control is not None:
        call["cache_control"] = cache_control_json(block.cache_control)
    return call


def _content(
    blocks: Sequence[TextBlock | ImageBlock | ReasoningBlock], target: Target
) -> str | list[dict[str, Any]] | None:
    """The `content` of a message: a string, a list of parts, or None when empty."""
    kept = [
        b for b in blocks if not (isinstance(b, TextBlock) and _is_blank(b, target))
    ]
    if not kept:
        return None
    if len(kept) == 1:
        only = kept[0]
        if (
            isinstance(only, TextBlock)
            and only.cache_control is None
            and not only.extra
        ):
            return only.text
    parts: list[dict[str, Any]] = []
    for b in kept:
        if isinstance(b, TextBlock):
            parts.append(_text_part(b))
        elif isinstance(b, ImageBlock):
            parts.append(_image_part(b))
        else:
            parts.append(_reasoning_part(b))
    return parts


def _plain_message(turn: Turn, target: Target) -> dict[str, Any]:
    blocks = [b for b in turn.blocks if isinstance(b, TextBlock | ImageBlock)]
    content = _content(blocks, target)
    return {"role": turn.role, "content": "" if content is None else content}


def _assistant_messages(
    turn: Turn, target: Target
) -> list[tuple[str | None, dict[str, Any]]]:
    body = [
        b for b in turn.blocks if isinstance(b, TextBlock | ImageBlock | ReasoningBlock)
    ]
    calls = [_tool_call(b, target) for b in turn.blocks if isinstance(b, ToolCallBlock)]
    content = _content(body, target)
    first: dict[str, Any] = {"role": "assistant"}
    if content is not None:
        first["content"] = content
    elif not calls:
        first["content"] = ""
    elif target.empty_assistant_content == "null":
        first["content"] = None
    if not calls:
        return [(None, first)]
    if not target.tool_results_need_preceding_call or len(calls) == 1:
        first["tool_calls"] = calls
        return [(calls[0]["id"] if len(calls) == 1 else None, first)]
    # R11: one assistant message per call, reasoning and text on the first.
    first["tool_calls"] = [calls[0]]
    out: list[tuple[str | None, dict[str, Any]]] = [(calls[0]["id"], first)]
    for call in calls[1:]:
        part: dict[str, Any] = {"role": "assistant", "tool_calls": [call]}
        if target.empty_assistant_content == "null":
            part["content"] = None
        out.append((call["id"], part))
    return out


def _tool_message(result: ToolResultBlock, target: Target) -> dict[str, Any]:
    content: str | list[dict[str, Any]]
    if isinstance(result.content, str):
        content = result.content
        if result.cache_control is not None:
            content = [
                {
                    "type": "text",
                    "text": result.content,
                    "cache_control": cache_control_json(result.cache_control),
                }
            ]
    else:
        content = [
            _text_part(b) if isinstance(b, TextBlock) else _image_part(b)
            for b in result.content
        ]
        if result.cache_control is not None and content:
            content[-1]["cache_control"] = cache_control_json(result.cache_control)
    msg: dict[str, Any] = {
        "role": "tool",
        "tool_call_id": result.call_id,
        "content": content,
    }
    if result.extra:
        for key, value in result.extra.items():
            if key not in target.rejected_message_fields:
                msg.setdefault(key, value)
    return msg


def _build(turn: Turn, target: Target) -> list[tuple[str | None, dict[str, Any]]]:
    if turn.role == "assistant":
        return _assistant_messages(turn, target)
    if turn.role == "tool":
        return [
            (b.call_id, _tool_message(b, target))
            for b in turn.blocks
            if isinstance(b, ToolResultBlock)
        ]
    return [(None, _plain_message(turn, target))]


_Wire = tuple[tuple[_Entry, ...], Facts]


def _build_wire(turn: Turn, target: Target) -> _Wire:
    entries = _fast(turn, target)
    if entries is None:
        entries = tuple((cid, canonical_bytes(m)) for cid, m in _build(turn, target))
    return entries, turn_facts(turn)


def _encoded(turn: Turn, target: Target) -> _Wire:
    """The turn's memoized encoded messages for `target`, and its facts."""
    return turn.memo(_memo_key(target), lambda: _build_wire(turn, target))


def encode_turn_messages(turn: Turn, *, target: Target) -> list[dict[str, Any]]:
    """One turn's chat messages, in a fresh list of fresh dicts (memoized per turn and target).

    Raises:
        UsageError: `turn` is not a Turn or `target` not a Target.
    """
    expect_turn(turn)
    expect_target(target)
    return [json.loads(b) for _, b in _encoded(turn, target)[0]]


def messages_bytes(
    turns: Sequence[Turn], target: Target
) -> tuple[list[bytes], list[tuple[int, Facts]]]:
    """Every message's canonical bytes in wire order, and the turns' notable facts."""
    split = target.tool_results_need_preceding_call
    key = _memo_key(target)
    out: list[bytes] = []
    facts: list[tuple[int, Facts]] = []
    wires: list[_Wire] = []
    for turn in turns:
        wires.append(turn.memo(key, partial(_build_wire, turn, target)))
    for t, (_, f) in enumerate(wires):
        if f is not NO_FACTS:
            facts.append((t, f))
    i, n = 0, len(turns)
    while i < n:
        entries = wires[i][0]
        if len(entries) == 1:
            out.append(entries[0][1])
            i += 1
            continue
        if not (split and turns[i].role == "assistant"):
            out.extend(data for _, data in entries)
            i += 1
            continue
        j = i + 1
        answers: dict[str | None, list[bytes]] = {}
        order: list[str | None] = []
        while j < n and turns[j].role == "tool":
            for cid, data in wires[j][0]:
                if cid not in answers:
                    answers[cid] = []
                    order.append(cid)
                answers[cid].append(data)
            j += 1
        for cid, data in entries:
            out.append(data)
            out.extend(answers.pop(cid, ()))
        for cid in order:
            out.extend(answers.pop(cid, ()))
        i = j
    return out, facts


def _join(fields: Mapping[str, Any], messages: list[bytes]) -> bytes:
    """Canonical bytes of `fields` plus `messages`, spliced in sorted key order."""
    before: list[bytes] = []
    after: list[bytes] = []
    for key in sorted(fields):
        item = canonical_bytes(key) + b":" + canonical_bytes(fields[key])
        (before if key < "messages" else after).append(item)
    head = b"{" + b"".join(x + b"," for x in before) + b'"messages":['
    tail = b"]" + b"".join(b"," + x for x in after) + b"}"
    if not messages:
        return head + tail
    pieces = list(messages)
    pieces[0] = head + pieces[0]
    pieces[-1] = pieces[-1] + tail
    return b",".join(pieces)


def encode_request_bytes(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
    include_model: bool = True,
) -> bytes:
    """The canonical bytes of `encode_request(...)` (same arguments), built by a join.

    Raises:
        RequestRejectedError: the target would reject the request (see `validate_request`).
    """
    expect_request(turns, target, params, tools)
    p = _DEFAULT_PARAMS if params is None else params
    messages, facts = messages_bytes(turns, target)
    check_request(
        turns,
        target=target,
        params=p,
        tools=tools,
        fields=emitted_fields(target, p, tools),
        facts=facts,
    )
    check_shape(target, facts)
    fields = params_fields(target, p, tools, include_model=include_model)
    data = _join(fields, messages)
    check_size(len(data), target)
    return data


def encode_request(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
    include_model: bool = True,
) -> dict[str, Any]:
    """The chat-completions JSON payload for `turns` sent to `target`.

    Args:
        turns: the request view, in order.
        target: the served model; decides shapes, fields and checks.
        params: request parameters (None: defaults; `stream` is sent only when true).
        tools: tool definitions offered to the model.
        include_model: send `model` (needed on the OpenAI-style route; the
            invocations URL names the endpoint in its path).

    Returns:
        A fresh dict: mutating it never changes a memoized encoding.

    Raises:
        RequestRejectedError: the target would reject the request.
    """
    expect_request(turns, target, params, tools)
    p = _DEFAULT_PARAMS if params is None else params
    messages, facts = messages_bytes(turns, target)
    check_request(
        turns,
        target=target,
        params=p,
        tools=tools,
        fields=emitted_fields(target, p, tools),
        facts=facts,
    )
    check_shape(target, facts)
    fields = params_fields(target, p, tools, include_model=include_model)
    size = sum(len(m) + 1 for m in messages) + len(canonical_bytes(fields)) + 14
    check_size(size, target)
    payload = dict(fields)
    payload["messages"] = [json.loads(m) for m in messages]
    return payload


def validate_request(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
) -> None:
    """Raise if `target` would answer this request with a 400.

    Raises:
        RequestRejectedError: a rule is broken; `.rule` names it (e.g. "R14").
        PayloadTooLargeError: an image or the request is over a target limit.
    """
    encode_request_bytes(turns, target=target, params=params, tools=tools)

"""The native Anthropic Messages surface (`/serving-endpoints/anthropic/v1/messages`).

A Messages request is checked for what only this surface has (its top-level
fields, `max_tokens` required, roles, block types, tool results first in their
user message), then translated to the equivalent chat-completions request —
thinking blocks become signed reasoning blocks, `tool_use` becomes `tool_calls`,
`tool_result` blocks become `tool` messages — so the same provider rules, cache
accounting and deterministic model apply. The answer is rendered as a Messages
response or as its SSE event stream (`message_start`, content blocks with
`thinking_delta` / `signature_delta` / `text_delta` / `input_json_delta`,
`message_delta`, `message_stop`). Invariant: the translation never repairs a
request; anything the real surface refuses is refused (rule paths in messages
refer to the translated chat request).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from convo.testing._fake._brain import Answer
from convo.testing._fake._rules import Violation

__all__ = ["STOP_REASONS", "message_response", "message_stream", "translate"]

_FIELDS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "stream",
        "metadata",
        "service_tier",
    }
)
_TOOL_KEYS = frozenset({"name", "description", "input_schema", "cache_control", "type"})
STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}


def _bad(rule: str, text: str) -> Violation:
    return Violation(rule=rule, text=text, upstream=True)


def translate(body: Any) -> tuple[dict[str, Any] | None, Violation | None]:
    """The chat-completions equivalent of a Messages request, or the violation refusing it."""
    if not isinstance(body, Mapping):
        return None, Violation(
            rule="schema", text="Request body must be a JSON object."
        )
    for key in body:
        if key == "reasoning_effort":
            return None, _bad("R15", "reasoning_effort: Extra inputs are not permitted")
        if key not in _FIELDS:
            return None, _bad("R16", f"{key}: Extra inputs are not permitted")
    max_tokens = body.get("max_tokens")
    if (
        not isinstance(max_tokens, int)
        or isinstance(max_tokens, bool)
        or max_tokens < 1
    ):
        return None, _bad(
            "schema", "max_tokens: Field required (an integer greater than 0)"
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return None, _bad("schema", "messages: Field required (a non-empty list)")
    out: dict[str, Any] = {"model": body.get("model"), "max_tokens": max_tokens}
    for key in ("thinking", "temperature", "top_p", "top_k", "stream"):
        if key in body:
            out[key] = body[key]
    if "stop_sequences" in body:
        out["stop"] = body["stop_sequences"]
    if "tools" in body:
        tools, problem = _tools(body["tools"])
        if problem is not None:
            return None, problem
        out["tools"] = tools
    if "tool_choice" in body:
        choice, problem = _tool_choice(body["tool_choice"])
        if problem is not None:
            return None, problem
        out["tool_choice"] = choice
    chat: list[dict[str, Any]] = []
    system = body.get("system")
    if system is not None:
        if not isinstance(system, str | list):
            return None, _bad(
                "schema", "system: Input should be a string or a list of text blocks"
            )
        chat.append({"role": "system", "content": system})
    for index, msg in enumerate(messages):
        problem = _message(msg, index, chat)
        if problem is not None:
            return None, problem
    out["messages"] = chat
    return out, None


def _tools(tools: Any) -> tuple[list[dict[str, Any]], Violation | None]:
    if not isinstance(tools, list):
        return [], _bad("schema", "tools: Input should be a valid list")
    out: list[dict[str, Any]] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
            return [], _bad("schema", f"tools.{index}.name: Field required")
        for key in tool:
            if key not in _TOOL_KEYS:
                return [], _bad(
                    "R16", f"tools.{index}.{key}: Extra inputs are not permitted"
                )
        function: dict[str, Any] = {"name": tool["name"]}
        if "description" in tool:
            function["description"] = tool["description"]
        function["parameters"] = tool.get("input_schema", {"type": "object"})
        converted: dict[str, Any] = {"type": "function", "function": function}
        if "cache_control" in tool:
            converted["cache_control"] = tool["cache_control"]
        out.append(converted)
    return out, None


def _tool_choice(choice: Any) -> tuple[Any, Violation | None]:
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    if kind in ("auto", "none"):
        return kind, None
    if kind == "any":
        return "required", None
    if kind == "tool" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}, None
    return None, _bad(
        "schema", "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
    )


def _image(
    block: Mapping[str, Any], where: str
) -> tuple[dict[str, Any] | None, Violation | None]:
    source = block.get("source")
    if not isinstance(source, Mapping):
        return None, _bad("schema", f"{where}.source: Field required")
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data', '')}"
    elif source.get("type") == "url":
        url = str(source.get("url"))
    else:
        return None, _bad(
            "schema", f"{where}.source.type: Input should be 'base64' or 'url'"
        )
    part: dict[str, Any] = {"type": "image_url", "image_url": {"url": url}}
    if "cache_control" in block:
        part["cache_control"] = block["cache_control"]
    return part, None


def _message(msg: Any, index: int, chat: list[dict[str, Any]]) -> Violation | None:
    where = f"messages.{index}"
    if not isinstance(msg, Mapping) or msg.get("role") not in ("user", "assistant"):
        return _bad("schema", f"{where}.role: Input should be 'user' or 'assistant'")
    for key in msg:
        if key not in ("role", "content"):
            return _bad(
                "R16" if key != "cache_control" else "R7",
                f"{where}.{key}: Extra inputs are not permitted",
            )
    content = msg.get("content")
    if isinstance(content, str):
        chat.append({"role": msg["role"], "content": content})
        return None
    if not isinstance(content, list):
        return _bad("schema", f"{where}.content: Field required")
    if msg["role"] == "user":
        return _user(content, where, chat)
    return _assistant(content, where, chat)


def _user(
    content: list[Any], where: str, chat: list[dict[str, Any]]
) -> Violation | None:
    parts: list[dict[str, Any]] = []
    for position, block in enumerate(content):
        here = f"{where}.content.{position}"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "tool_result":
            if parts:
                return _bad(
                    "R10",
                    f"{here}: tool_result blocks must come first in a user message, before any other content",
                )
            result = block.get("content", "")
            if isinstance(result, list):
                converted: list[dict[str, Any]] = []
                for item in result:
                    if isinstance(item, Mapping) and item.get("type") == "image":
                        image, problem = _image(item, here)
                        if problem is not None:
                            return problem
                        converted.append(image or {})
                    else:
                        converted.append(
                            dict(item)
                            if isinstance(item, Mapping)
                            else {"type": "text", "text": str(item)}
                        )
                result = converted
            chat.append(
                {
                    "role": "tool",
                    "tool_call_id": block.get("tool_use_id"),
                    "content": result,
                }
            )
        elif kind == "image":
            image, problem = _image(block, here)
            if problem is not None:
                return problem
            parts.append(image or {})
        elif kind == "text":
            parts.append(dict(block))
        elif kind in ("thinking", "redacted_thinking"):
            return _bad(
                "R3", f"{here}: thinking blocks are only allowed in assistant messages"
            )
        else:
            return _bad(
                "schema",
                f"{here}: Input tag '{kind}' found using 'type' does not match any of the expected tags",
            )
    if parts or not any(
        isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content
    ):
        chat.append({"role": "user", "content": parts})
    return None


def _assistant(
    content: list[Any], where: str, chat: list[dict[str, Any]]
) -> Violation | None:
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for position, block in enumerate(content):
        here = f"{where}.content.{position}"
        kind = block.get("type") if isinstance(block, Mapping) else None
        marker = (
            {"cache_control": block["cache_control"]}
            if isinstance(block, Mapping) and "cache_control" in block
            else {}
        )
        if kind == "thinking":
            item = {
                "type": "summary_text",
                "text": block.get("thinking", ""),
                "signature": block.get("signature", ""),
            }
            parts.append({"type": "reasoning", "summary": [item], **marker})
        elif kind == "redacted_thinking":
            parts.append(
                {
                    "type": "reasoning",
                    "summary": [
                        {
                            "type": "summary_encrypted_text",
                            "data": block.get("data", ""),
                        }
                    ],
                    **marker,
                }
            )
        elif kind == "text":
            parts.append(dict(block))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input", {}))
            calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": arguments},
                    **marker,
                }
            )
        else:
            return _bad(
                "schema",
                f"{here}: Input tag '{kind}' found using 'type' does not match any of the expected tags",
            )
    message: dict[str, Any] = {"role": "assistant", "content": parts or None}
    if calls:
        message["tool_calls"] = calls
    elif not parts:
        message["content"] = []
    chat.append(message)
    return None


def _blocks(answer: Answer, signature: str | None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if answer.reasoning is not None:
        blocks.append(
            {
                "type": "thinking",
                "thinking": answer.reasoning,
                "signature": signature or "",
            }
        )
    if answer.text:
        blocks.append({"type": "text", "text": answer.text})
    for call in answer.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": json.loads(call.arguments),
            }
        )
    return blocks


def native_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Chat-style Claude usage as Messages usage (input_tokens excludes cache reads and writes)."""
    return {
        "input_tokens": usage["prompt_tokens"],
        "output_tokens": usage["completion_tokens"],
        "cache_creation_input_tokens": usage.get("cache_creation_input_tokens", 0),
        "cache_read_input_tokens": usage.get("cache_read_input_tokens", 0),
        "cache_creation": usage.get(
            "cache_creation",
            {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        ),
    }


def message_response(
    answer: Answer,
    *,
    signature: str | None,
    rid: str,
    model: str,
    usage: Mapping[str, Any],
) -> dict[str, Any]:
    """The non-streamed Messages response."""
    return {
        "id": rid,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _blocks(answer, signature),
        "stop_reason": STOP_REASONS.get(answer.finish_reason, answer.finish_reason),
        "stop_sequence": None,
        "usage": native_usage(usage),
    }


def _event(kind: str, data: Mapping[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data}, separators=(',', ':'))}\n\n".encode()


def _halves(text: str) -> list[str]:
    cut = max(1, len(text) // 2)
    return [p for p in (text[:cut], text[cut:]) if p]


def _deltas(index: int, kind: str, field: str, text: str) -> list[bytes]:
    """`text` streamed in two `content_block_delta` events of type `kind`."""
    return [
        _event(
            "content_block_delta",
            {"index": index, "delta": {"type": kind, field: piece}},
        )
        for piece in _halves(text)
    ]


def _block_events(index: int, block: Mapping[str, Any]) -> list[bytes]:
    """The start, deltas and stop events of one content block."""
    kind = block["type"]
    opening: dict[str, Any]
    if kind == "thinking":
        opening = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = _deltas(index, "thinking_delta", "thinking", block["thinking"])
        if block["signature"]:
            # The signature arrives whole, after the thinking.
            deltas.append(
                _event(
                    "content_block_delta",
                    {
                        "index": index,
                        "delta": {
                            "type": "signature_delta",
                            "signature": block["signature"],
                        },
                    },
                )
            )
    elif kind == "text":
        opening = {"type": "text", "text": ""}
        deltas = _deltas(index, "text_delta", "text", block["text"])
    else:
        opening = {
            "type": "tool_use",
            "id": block["id"],
            "name": block["name"],
            "input": {},
        }
        arguments = json.dumps(block["input"])
        deltas = _deltas(index, "input_json_delta", "partial_json", arguments)
    return [
        _event("content_block_start", {"index": index, "content_block": opening}),
        *deltas,
        _event("content_block_stop", {"index": index}),
    ]


def message_stream(
    answer: Answer,
    *,
    signature: str | None,
    rid: str,
    model: str,
    usage: Mapping[str, Any],
) -> list[bytes]:
    """The SSE events of a streamed Messages answer."""
    final = native_usage(usage)
    start = {**final, "output_tokens": 1}
    events = [
        _event(
            "message_start",
            {
                "message": {
                    "id": rid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start,
                }
            },
        )
    ]
    for index, block in enumerate(_blocks(answer, signature)):
        events.extend(_block_events(index, block))
    stop = STOP_REASONS.get(answer.finish_reason, answer.finish_reason)
    events.append(
        _event(
            "message_delta",
            {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": final},
        )
    )
    events.append(_event("message_stop", {}))
    return events


ERROR_EVENT = _event(
    "error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}
)
"""The injected mid-stream error on the Messages surface."""

"""Answers in the Databricks chat-completions shape, whole or as SSE chunks.

Non-streamed: `{id, object: chat.completion, created, model, choices, usage}` with
`content` a list `[reasoning, text]` when the model reasoned, a string otherwise,
and `tool_calls` beside it. Streamed (wire-facts A5, example 2): reasoning text in
fragments whose signature is "", then one signature-only fragment (Claude), then
text deltas as plain strings, tool calls by index (id and name first, then the
arguments in pieces), a finish chunk, and `data: [DONE]`; every chunk carries
usage as a cumulative snapshot. Invariant: concatenating the stream gives exactly
the non-streamed answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from convo.testing._fake._brain import Answer, ToolCall
from convo.testing._fake._cache import CacheUsage, estimate_tokens

__all__ = ["completion", "completion_tokens", "stream_events", "usage"]


def completion_tokens(answer: Answer) -> int:
    """Completion tokens of an answer: reasoning, text and arguments at 4 bytes a token."""
    parts = [answer.reasoning or "", answer.text or ""]
    parts += [c.name + c.arguments for c in answer.tool_calls]
    return sum(estimate_tokens(p) for p in parts if p)


def usage(
    cache: CacheUsage, completion: int, *, family: str, reasoning_tokens: int
) -> dict[str, Any]:
    """The usage object: Claude gets top-level cache fields, GPT-style models token details."""
    if family == "claude":
        return {
            "prompt_tokens": cache.uncached,
            "completion_tokens": completion,
            "total_tokens": cache.total + completion,
            "cache_read_input_tokens": cache.read,
            "cache_creation_input_tokens": cache.creation,
            "cache_creation": {
                "ephemeral_5m_input_tokens": cache.creation_5m,
                "ephemeral_1h_input_tokens": cache.creation_1h,
            },
        }
    out: dict[str, Any] = {
        "prompt_tokens": cache.total,
        "completion_tokens": completion,
        "total_tokens": cache.total + completion,
    }
    if family in ("gpt", "gpt-oss"):
        out["prompt_tokens_details"] = {"cached_tokens": 0}
        out["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return out


def _reasoning_part(text: str, signature: str | None) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "summary_text", "text": text}
    if signature is not None:
        part["signature"] = signature
    return {"type": "reasoning", "summary": [part]}


def _tool_calls(answer: Answer) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments},
            **c.extra,
        }
        for c in answer.tool_calls
    ]


def completion(
    answer: Answer,
    *,
    signature: str | None,
    rid: str,
    created: int,
    model: str,
    usage: Mapping[str, Any],
) -> dict[str, Any]:
    """The non-streamed chat.completion body."""
    content: Any
    if answer.reasoning is not None:
        content = [_reasoning_part(answer.reasoning, signature)]
        if answer.text:
            content.append({"type": "text", "text": answer.text})
    else:
        content = answer.text or None
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if answer.tool_calls:
        message["tool_calls"] = _tool_calls(answer)
    return {
        "id": rid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": answer.finish_reason}
        ],
        "usage": dict(usage),
    }


def _pieces(text: str, size: int) -> list[str]:
    words = text.split(" ")
    out: list[str] = []
    for start in range(0, len(words), size):
        piece = " ".join(words[start : start + size])
        out.append(piece if start + size >= len(words) else piece + " ")
    return [p for p in out if p] or [text]


def _sse(payload: Mapping[str, Any] | str) -> bytes:
    data = (
        payload
        if isinstance(payload, str)
        else json.dumps(payload, separators=(",", ":"))
    )
    return f"data: {data}\n\n".encode()


def _deltas(answer: Answer, signature: str | None) -> list[tuple[dict[str, Any], int]]:
    """Every delta of the answer, in order, with the completion tokens it costs."""
    deltas: list[tuple[dict[str, Any], int]] = []
    if answer.reasoning is not None:
        for piece in _pieces(answer.reasoning, 4):
            part = _reasoning_part(piece, "" if signature is not None else None)
            deltas.append(
                ({"role": "assistant", "content": [part]}, estimate_tokens(piece))
            )
        if signature is not None:
            # A signature-only part closes the streamed reasoning.
            deltas.append(
                ({"role": "assistant", "content": [_reasoning_part("", signature)]}, 0)
            )
    if answer.text:
        for piece in _pieces(answer.text, 3):
            deltas.append(
                ({"role": "assistant", "content": piece}, estimate_tokens(piece))
            )
    for index, call in enumerate(answer.tool_calls):
        deltas.extend(_call_deltas(index, call))
    return deltas


def _call_deltas(index: int, call: ToolCall) -> list[tuple[dict[str, Any], int]]:
    """A tool call's head (id, name), then its arguments in two fragments."""
    head = {
        "index": index,
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
        **call.extra,
    }
    out = [({"role": "assistant", "tool_calls": [head]}, estimate_tokens(call.name))]
    cut = max(1, len(call.arguments) // 2)
    for fragment in (call.arguments[:cut], call.arguments[cut:]):
        if fragment:
            delta = {"index": index, "function": {"arguments": fragment}}
            out.append(
                (
                    {"role": "assistant", "tool_calls": [delta]},
                    estimate_tokens(fragment),
                )
            )
    return out


def stream_events(
    answer: Answer,
    *,
    signature: str | None,
    rid: str,
    created: int,
    model: str,
    final_usage: Mapping[str, Any],
) -> list[bytes]:
    """The SSE events of a streamed answer, `data: [DONE]` last."""
    deltas = _deltas(answer, signature)
    prompt = {
        k: v
        for k, v in final_usage.items()
        if k not in ("completion_tokens", "total_tokens", "completion_tokens_details")
    }
    total_completion = int(final_usage["completion_tokens"])
    input_total = int(final_usage["total_tokens"]) - total_completion
    events: list[bytes] = []
    spent = 0
    for delta, tokens in deltas:
        spent = min(total_completion, spent + tokens)
        snapshot = {
            **prompt,
            "completion_tokens": spent,
            "total_tokens": input_total + spent,
        }
        events.append(_sse(_chunk(rid, created, model, delta, None, snapshot)))
    finish_delta: dict[str, Any] = (
        {} if answer.tool_calls else {"role": "assistant", "content": ""}
    )
    events.append(
        _sse(
            _chunk(
                rid,
                created,
                model,
                finish_delta,
                answer.finish_reason,
                dict(final_usage),
            )
        )
    )
    events.append(_sse("[DONE]"))
    return events


def _chunk(
    rid: str,
    created: int,
    model: str,
    delta: Mapping[str, Any],
    finish: str | None,
    snapshot: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": dict(delta), "finish_reason": finish}],
        "usage": dict(snapshot),
    }

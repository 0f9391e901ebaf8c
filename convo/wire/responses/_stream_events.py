"""Produce the event sequence of a Responses stream from a response object.

The order is the one the Open Responses spec and OpenAI's SDK describe
(docs/responses.md, "Streaming"): `response.created`, `response.in_progress`,
then per output item `output_item.added`, its part and delta events, and
`output_item.done` with the complete item; last the terminal event
(`response.completed`, or `response.incomplete`) carrying the whole response.
Every payload has its `sequence_number`. `encode_sse` frames the events as
`event:` / `data:` pairs, ending with `data: [DONE]` when asked (the Open
Responses spec requires it; OpenAI-native streams end at the terminal event).

Used by the fake endpoint and by tests; deltas are cut into `chunk`-character
pieces so streams exercise reassembly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from convo._check import expect_mapping
from convo.wire._shared._args import expect_events

__all__ = ["encode_sse", "response_events"]


def _pieces(text: str, chunk: int) -> list[str]:
    return [text[i : i + chunk] for i in range(0, len(text), chunk)] or [""]


def _skeleton(item: Mapping[str, Any]) -> dict[str, Any]:
    kind = item.get("type")
    if kind == "message":
        return {**item, "status": "in_progress", "content": []}
    if kind == "reasoning":
        out = {k: v for k, v in item.items() if k != "encrypted_content"}
        out["summary"] = []
        if "status" in out:
            out["status"] = "in_progress"
        return out
    if kind == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    return dict(item)


def _item_events(
    item: Mapping[str, Any], index: int, chunk: int
) -> Iterable[dict[str, Any]]:
    item_id = item.get("id")
    base = {"item_id": item_id, "output_index": index}
    yield {
        "type": "response.output_item.added",
        "output_index": index,
        "item": _skeleton(item),
    }
    kind = item.get("type")
    if kind == "reasoning":
        for s, part in enumerate(item.get("summary") or []):
            text = part.get("text", "")
            where = {**base, "summary_index": s}
            yield {
                "type": "response.reasoning_summary_part.added",
                **where,
                "part": {"type": "summary_text", "text": ""},
            }
            for piece in _pieces(text, chunk):
                yield {
                    "type": "response.reasoning_summary_text.delta",
                    **where,
                    "delta": piece,
                }
            yield {
                "type": "response.reasoning_summary_text.done",
                **where,
                "text": text,
            }
            yield {
                "type": "response.reasoning_summary_part.done",
                **where,
                "part": dict(part),
            }
    elif kind == "message":
        for c, part in enumerate(item.get("content") or []):
            where = {**base, "content_index": c}
            is_text = part.get("type") == "output_text"
            key = "text" if is_text else "refusal"
            empty = {**part, key: ""}
            yield {"type": "response.content_part.added", **where, "part": empty}
            name = "output_text" if is_text else "refusal"
            for piece in _pieces(part.get(key, ""), chunk):
                delta = {"type": f"response.{name}.delta", **where, "delta": piece}
                if is_text:
                    delta["logprobs"] = []
                yield delta
            done = {"type": f"response.{name}.done", **where, key: part.get(key, "")}
            if is_text:
                done["logprobs"] = []
            yield done
            yield {"type": "response.content_part.done", **where, "part": dict(part)}
    elif kind == "function_call":
        arguments = item.get("arguments", "")
        for piece in _pieces(arguments, chunk):
            yield {
                "type": "response.function_call_arguments.delta",
                **base,
                "delta": piece,
            }
        yield {
            "type": "response.function_call_arguments.done",
            **base,
            "arguments": arguments,
        }
    yield {
        "type": "response.output_item.done",
        "output_index": index,
        "item": dict(item),
    }


def response_events(
    response: Mapping[str, Any], *, chunk: int = 16
) -> list[dict[str, Any]]:
    """The stream events describing `response`, numbered from 0.

    Raises:
        UsageError: `response` is not a mapping.
    """
    expect_mapping(response, "response", fix="Pass a decoded Responses body (a dict).")
    start = {**response, "status": "in_progress", "output": [], "usage": None}
    start.pop("incomplete_details", None)
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
    ]
    for index, item in enumerate(response.get("output") or []):
        events.extend(_item_events(item, index, chunk))
    terminal = (
        "response.incomplete"
        if response.get("status") == "incomplete"
        else "response.failed"
        if response.get("status") == "failed"
        else "response.completed"
    )
    events.append({"type": terminal, "response": dict(response)})
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


def encode_sse(events: Iterable[Mapping[str, Any]], *, done: bool) -> bytes:
    """The SSE bytes of `events` (`event:` and `data:` lines), `[DONE]` last if asked.

    Raises:
        UsageError: `events` is not a collection of mappings.
    """
    out: list[str] = []
    for event in expect_events(events):
        data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        out.append(f"event: {event['type']}\ndata: {data}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode("utf-8")

"""Assemble a streamed Messages API answer (SSE) into a turn.

Events handled: `message_start` (model, first usage snapshot),
`content_block_start` / `content_block_delta` / `content_block_stop` with
`text_delta`, `thinking_delta`, `signature_delta`, `input_json_delta` and
`citations_delta`; `message_delta` (stop reason, cumulative usage: each field
replaces the last value, never summed, rule R20); `message_stop`; `ping`;
`error` (raises `StreamError` carrying the partial turn). Unknown event and
delta types are ignored and counted (`ignored`).

Invariants:
- the assembler rebuilds the Messages response object the stream describes and
  decodes it with the same function as `decode_response`, so any split of the
  SSE bytes, and any split of the deltas, gives the very turn the non-streamed
  response gives (chunking invariance);
- a thinking block keeps its appended text and its last non-empty signature,
  so the closing signature-only delta is never lost (R21);
- a `Turn` comes only after `message_stop` with a stop reason; anything less
  raises `StreamInterruptedError` whose `.partial` is a `PartialTurn` listing
  what is missing, whose text is what fully arrived;
- memory is bounded: line length, event count and block count are capped
  (`ResponseTooLargeError`); an unterminated last event is never dispatched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from convo._blocks import ToolCallBlock
from convo._check import expect_mapping
from convo._events import (
    Finished,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageUpdate,
)
from convo._json import canonical_bytes
from convo._targets import Target
from convo._turns import PartialTurn, Turn
from convo.errors import (
    StreamError,
    excerpt,
)
from convo.wire._shared._args import expect_events
from convo.wire._shared._json import MAX_DEPTH, fail, guard, load_json, too_large
from convo.wire._shared._stream import (
    MAX_EVENTS,
    MAX_LINE_BYTES,
    BaseStreamAssembler,
    incomplete_stream,
)
from convo.wire.anthropic._decode import turn_from_message, usage_from

__all__ = ["StreamAssembler", "encode_sse", "message_events"]

_ACCUMULATED = {"text": "text", "thinking": "thinking"}
_DELTA_FIELDS = {
    "text_delta": ("text", "text"),
    "thinking_delta": ("thinking", "thinking"),
    "input_json_delta": ("tool_use", "partial_json"),
}


class StreamAssembler(BaseStreamAssembler):
    """Fold Messages API stream events into a `Turn` (`.partial` of the error if cut).

    Use `feed(bytes)` for raw SSE bytes split anywhere, or `feed_chunk(event)`
    for already-parsed event objects; then `finish()` (the shared shape,
    `convo.wire._shared._stream.BaseStreamAssembler`).

    Args:
        target: the target asked; its family goes into the reasoning provenance.
        max_line_bytes: the longest SSE line (and event JSON) accepted.
        max_events: the most events one stream may carry.
        max_depth: the deepest JSON nesting accepted in an event.
        max_blocks: the highest content block index accepted.
    """

    def __init__(
        self,
        *,
        target: Target | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_events: int = MAX_EVENTS,
        max_depth: int = MAX_DEPTH,
        max_blocks: int = 10_000,
    ) -> None:
        super().__init__(
            target=target,
            max_line_bytes=max_line_bytes,
            max_events=max_events,
            max_depth=max_depth,
        )
        self.max_blocks = max_blocks
        self.ignored = 0
        self._started = False
        self._model: str | None = None
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}
        self._parts: dict[int, list[str]] = {}
        self._open: set[int] = set()
        self._stop_reason: str | None = None
        self._stop_seen = False
        self._stopped = False
        self._result: Turn | PartialTurn | None = None

    def _fold(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        kind = chunk.get("type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None or (self._stopped and kind != "error"):
            self.ignored += 1
            return []
        return handler(self, chunk)

    def _message_start(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        body = chunk.get("message")
        if not isinstance(body, dict):
            raise fail("message_start needs a message object", where="$.message")
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            raise fail(
                "model must be a string", where="$.message.model", received=model
            )
        self._started = True
        self._model = model
        return self._merge_usage(body.get("usage"), "$.message.usage")

    def _merge_usage(self, usage: object, where: str) -> list[StreamEvent]:
        if usage is None:
            return []
        usage_from(usage, where=where)  # validates the shape
        assert isinstance(usage, dict)  # noqa: S101 - usage_from checked it
        self._usage.update({k: v for k, v in usage.items() if v is not None})
        snapshot = usage_from(self._usage, where=where)
        return [] if snapshot is None else [UsageUpdate(usage=snapshot)]

    def _index(self, chunk: Mapping[str, Any], *, opening: bool) -> int:
        index = chunk.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise fail(
                "index must be a non-negative integer", where="$.index", received=index
            )
        if index >= self.max_blocks:
            raise too_large(
                f"The stream passed its bound on content blocks ({self.max_blocks})",
                limit=self.max_blocks,
            )
        if opening and index in self._blocks:
            raise fail(
                "content block index started twice", where="$.index", received=index
            )
        if not opening and index not in self._open:
            raise fail(
                "no open content block at this index", where="$.index", received=index
            )
        return index

    def _block_start(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        index = self._index(chunk, opening=True)
        block = chunk.get("content_block")
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise fail(
                "content_block_start needs a typed content_block",
                where="$.content_block",
            )
        block = dict(block)
        self._blocks[index] = block
        self._open.add(index)
        kind = block["type"]
        if kind in _ACCUMULATED:
            field = _ACCUMULATED[kind]
            start = block.get(field, "")
            if not isinstance(start, str):
                raise fail(
                    f"{field} must be a string", where=f"$.content_block.{field}"
                )
            self._parts[index] = [start]
            if kind == "text":
                return [TextDelta(text=start)] if start else []
            return [ReasoningDelta(text=start)] if start else []
        if kind == "tool_use":
            call_id, name = block.get("id"), block.get("name")
            if not isinstance(call_id, str) or not call_id:
                raise fail(
                    "a tool_use block needs a non-empty string id",
                    where="$.content_block.id",
                    received=call_id,
                )
            self._parts[index] = []
            return [
                ToolCallDelta(
                    index=index,
                    id=call_id,
                    name=name if isinstance(name, str) else None,
                )
            ]
        if kind == "redacted_thinking" and isinstance(block.get("data"), str):
            return [ReasoningDelta(text="", encrypted=block["data"])]
        return []

    def _block_delta(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        index = self._index(chunk, opening=False)
        delta = chunk.get("delta")
        if not isinstance(delta, dict):
            raise fail("content_block_delta needs a delta object", where="$.delta")
        kind = delta.get("type")
        if not isinstance(kind, str):
            raise fail(
                "content_block_delta needs a string delta.type",
                where="$.delta.type",
                received=kind,
            )
        block = self._blocks[index]
        if kind == "signature_delta":
            signature = delta.get("signature")
            if block["type"] != "thinking" or not isinstance(signature, str):
                raise fail(
                    "signature_delta needs a thinking block and a string",
                    where="$.delta",
                )
            if signature:
                block["signature"] = signature
                return [ReasoningDelta(text="", signature=signature)]
            return []
        if kind == "citations_delta":
            if block["type"] != "text" or "citation" not in delta:
                raise fail(
                    "citations_delta needs a text block and a citation", where="$.delta"
                )
            citations = block.get("citations")
            block["citations"] = [*(citations or []), delta["citation"]]
            return []
        if kind not in _DELTA_FIELDS:
            self.ignored += 1
            return []
        block_type, field = _DELTA_FIELDS[kind]
        text = delta.get(field)
        if block["type"] != block_type or not isinstance(text, str):
            raise fail(
                f"{kind} needs a {block_type} block and a string {field}",
                where="$.delta",
                received=delta,
            )
        self._parts[index].append(text)
        if kind == "text_delta":
            return [TextDelta(text=text)]
        if kind == "thinking_delta":
            return [ReasoningDelta(text=text)]
        return [ToolCallDelta(index=index, arguments=text)]

    def _close(self, index: int) -> None:
        block = self._blocks[index]
        parts = self._parts.pop(index, None)
        self._open.discard(index)
        if parts is None:
            return
        if block["type"] in _ACCUMULATED:
            block[_ACCUMULATED[block["type"]]] = "".join(parts)
            return
        text = "".join(parts)
        if text:
            block["input"] = load_json(text, what=f"Tool input of block {index}")

    def _block_stop(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        self._close(self._index(chunk, opening=False))
        return []

    def _message_delta(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        delta = chunk.get("delta")
        if delta is not None and not isinstance(delta, dict):
            raise fail("message_delta.delta must be an object", where="$.delta")
        if delta and "stop_reason" in delta:
            reason = delta["stop_reason"]
            if reason is not None and not isinstance(reason, str):
                raise fail("stop_reason must be a string", where="$.delta.stop_reason")
            if reason is not None:
                self._stop_reason = reason
                self._stop_seen = True
        return self._merge_usage(chunk.get("usage"), "$.usage")

    def _message_stop(self, _chunk: Mapping[str, Any]) -> list[StreamEvent]:
        for index in sorted(self._open):
            self._close(index)
        self._stopped = True
        result = self._build()
        self._result = result
        if isinstance(result, PartialTurn):
            raise incomplete_stream(result)
        return [Finished(finish_reason=result.finish_reason, turn=result)]

    def _ping(self, _chunk: Mapping[str, Any]) -> list[StreamEvent]:
        return []

    def _error(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        error = chunk.get("error")
        error = error if isinstance(error, dict) else {}
        error_type = error.get("type")
        text = error.get("message")
        partial = self.partial()  # None when what arrived does not decode
        raise StreamError(
            "The stream carried an error after it began"
            + (f": {excerpt(text)}" if isinstance(text, str) else ""),
            partial=partial,
            error_type=error_type if isinstance(error_type, str) else None,
            received=error_type if isinstance(error_type, str) else ...,
            fix="Retry the request; what arrived is in .partial and must not "
            "be stored as a complete answer.",
        )

    # ------------------------------------------------------------------ results

    def _content(self, *, cut: list[str]) -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = []
        for index in sorted(self._blocks):
            block = self._blocks[index]
            if index not in self._open:
                content.append(block)
                continue
            kind = block["type"]
            parts = self._parts.get(index, [])
            if kind == "text":
                content.append({**block, "text": "".join(parts)})
            elif kind == "tool_use":
                cut.append(f"tool_call:{block.get('id')} arguments")
                content.append({**block, "input": {}, "_partial": "".join(parts)})
            else:
                cut.append(f"{kind}:{index}")
        return content

    def _build(self) -> Turn | PartialTurn:
        missing: list[str] = []
        content = self._content(cut=missing)
        partial_args = {b["id"]: b.pop("_partial") for b in content if "_partial" in b}
        body: dict[str, Any] = {
            "role": "assistant",
            "model": self._model,
            "content": content,
            "stop_reason": self._stop_reason,
            "usage": self._usage or None,
        }
        turn = turn_from_message(body, target=self.target)
        if partial_args:
            blocks = tuple(
                attrs.evolve(b, arguments=partial_args[b.id])
                if isinstance(b, ToolCallBlock) and b.id in partial_args
                else b
                for b in turn.blocks
            )
            turn = guard(lambda: turn.with_blocks(blocks), where="$.content")
        if not self._started:
            missing.append("message_start")
        if not self._stop_seen:
            missing.append("stop_reason")
        if not self._stopped:
            missing.append("message_stop")
        if missing:
            return PartialTurn(turn=turn, missing=tuple(missing))
        return turn

    def _assemble(self) -> Turn | PartialTurn:
        """The turn, once `message_stop` arrived with a stop reason; else a `PartialTurn`.

        Raises:
            DecodeError: the content that arrived does not decode.
        """
        if self._result is not None:
            return self._result
        return self._build()


_HANDLERS: dict[
    str, Callable[[StreamAssembler, Mapping[str, Any]], list[StreamEvent]]
] = {
    "message_start": StreamAssembler._message_start,
    "content_block_start": StreamAssembler._block_start,
    "content_block_delta": StreamAssembler._block_delta,
    "content_block_stop": StreamAssembler._block_stop,
    "message_delta": StreamAssembler._message_delta,
    "message_stop": StreamAssembler._message_stop,
    "ping": StreamAssembler._ping,
    "error": StreamAssembler._error,
}


# ------------------------------------------------------------- producing streams


def _whole(text: str) -> list[str]:
    return [text] if text else []


def message_events(
    body: Mapping[str, Any],
    *,
    split: Callable[[str], Iterable[str]] = _whole,
) -> list[dict[str, Any]]:
    """The stream events that deliver the Messages response `body`.

    `split` cuts each text, thinking and tool-input string into delta fragments
    (default: one fragment). Used by tests and fake endpoints; the assembler
    turns these events back into `decode_response(body)`.

    Raises:
        UsageError: `body` is not a mapping.
    """
    expect_mapping(body, "body", fix="Pass a decoded Messages response (a dict).")
    usage = dict(body.get("usage") or {})
    final_output = usage.pop("output_tokens", None)
    start = {
        k: v
        for k, v in body.items()
        if k not in ("content", "stop_reason", "stop_sequence")
    }
    start.update(content=[], stop_reason=None, stop_sequence=None, usage=usage)
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "ping"},
    ]
    for index, block in enumerate(body.get("content") or []):
        kind = block["type"]
        first = dict(block)
        deltas: list[dict[str, Any]] = []
        if kind == "text":
            first["text"] = ""
            deltas = [{"type": "text_delta", "text": t} for t in split(block["text"])]
        elif kind == "thinking":
            first["thinking"] = ""
            deltas = [
                {"type": "thinking_delta", "thinking": t}
                for t in split(block["thinking"])
            ]
            if block.get("signature"):
                first["signature"] = ""
                deltas.append(
                    {"type": "signature_delta", "signature": block["signature"]}
                )
        elif kind == "tool_use":
            first["input"] = {}
            text = canonical_bytes(block["input"]).decode() if block["input"] else ""
            deltas = [
                {"type": "input_json_delta", "partial_json": t} for t in split(text)
            ]
        events.append(
            {"type": "content_block_start", "index": index, "content_block": first}
        )
        events.extend(
            {"type": "content_block_delta", "index": index, "delta": d} for d in deltas
        )
        events.append({"type": "content_block_stop", "index": index})
    delta_usage = {} if final_output is None else {"output_tokens": final_output}
    events.append(
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": body.get("stop_reason"),
                "stop_sequence": body.get("stop_sequence"),
            },
            "usage": delta_usage,
        }
    )
    events.append({"type": "message_stop"})
    return events


def encode_sse(events: Iterable[Mapping[str, Any]], *, newline: str = "\n") -> bytes:
    """Server-sent-event bytes for `events` (`event:` and `data:` lines, UTF-8).

    Text that cannot be UTF-8 (a lone surrogate) is written as a JSON escape.

    Raises:
        UsageError: `events` is not a collection of mappings.
    """
    out: list[bytes] = []
    for event in expect_events(events):
        data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        name = (
            json.dumps(event.get("type"))[1:-1]
            if isinstance(event.get("type"), str)
            else ""
        )
        text = f"event: {name}{newline}data: {data}{newline}{newline}"
        try:
            out.append(text.encode("utf-8"))
        except UnicodeEncodeError:
            # A lone surrogate cannot be UTF-8; escape it so the bytes stay valid.
            data = json.dumps(event, separators=(",", ":"))
            out.append(f"event: {name}{newline}data: {data}{newline}{newline}".encode())
    return b"".join(out)

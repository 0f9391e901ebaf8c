"""Assemble a streamed Responses answer (SSE events) into a turn.

Events handled (docs/responses.md, "Streaming"): `response.created` and
`response.in_progress` (model); `response.output_item.added` and `.done`;
`response.content_part.added`/`.done`; `response.output_text.delta`/`.done`;
`response.refusal.delta`/`.done`; `response.reasoning_summary_part.added`/
`.done`; `response.reasoning_summary_text.delta`/`.done`;
`response.function_call_arguments.delta`/`.done`; the terminal
`response.completed`, `response.incomplete` and `response.done`;
`response.failed` and `error` raise `StreamError` carrying the partial turn.
Other events (raw `reasoning_text` deltas, annotations) are ignored and
counted (`ignored`). A literal `[DONE]` is handled by the client; a stream
without it ends at its terminal event (both occur, by route).

Invariants:
- every finished item is the copy from `response.output_item.done`, never
  from `.added` (RR8), and the turn is decoded by `decode_response` from the
  terminal event's response, so a stream gives the very turn the
  non-streamed response gives; when a relay sends the terminal response with
  an empty `output`, the items rebuilt from the events are used;
- a `Turn` comes only after a terminal event; before it, `finish()` raises
  `StreamInterruptedError` whose `.partial` is a `PartialTurn` of what arrived.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from convo._events import (
    Finished,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageUpdate,
)
from convo._targets import Target
from convo._turns import PartialTurn, Turn
from convo.errors import StreamError, excerpt
from convo.wire._shared._json import MAX_DEPTH, fail
from convo.wire._shared._stream import MAX_EVENTS, MAX_LINE_BYTES, BaseStreamAssembler
from convo.wire.responses._decode import decode_response

__all__ = ["TERMINAL_EVENTS", "StreamAssembler"]

TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.done")
_MAX_ITEMS = 10_000


class StreamAssembler(BaseStreamAssembler):
    """Fold Responses stream events into a `Turn` (`.partial` of the error if cut).

    Feed raw SSE bytes to `feed`, or parsed events to `feed_chunk`; then call
    `finish()` (the shared design, `convo.wire._shared._stream`).

    Args:
        target: the target asked; its family and route go into the reasoning
            provenance.
        max_line_bytes: the longest SSE line, and the largest event, accepted.
        max_events: the most events accepted.
        max_depth: the deepest JSON nesting accepted in an event.
    """

    def __init__(
        self,
        *,
        target: Target | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_events: int = MAX_EVENTS,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        super().__init__(
            target=target,
            max_line_bytes=max_line_bytes,
            max_events=max_events,
            max_depth=max_depth,
        )
        self.ignored = 0
        self._items: dict[int, dict[str, Any]] = {}
        self._calls: dict[int, int] = {}
        self._model: str | None = None
        self._result: Turn | None = None

    # ----------------------------------------------------------------- helpers

    def _item(self, chunk: Mapping[str, Any]) -> dict[str, Any]:
        index = chunk.get("output_index")
        item = self._items.get(index) if isinstance(index, int) else None
        if item is None:
            raise fail(
                "A stream event names an output item that was never added",
                where="$.output_index",
                received=index,
            )
        return item

    def _part(
        self, chunk: Mapping[str, Any], key: str, index_key: str
    ) -> dict[str, Any]:
        item = self._item(chunk)
        parts = item.setdefault(key, [])
        index = chunk.get(index_key)
        if not isinstance(parts, list) or not isinstance(index, int) or index < 0:
            raise fail(
                "A stream event names no part", where=f"$.{index_key}", received=index
            )
        while len(parts) <= index:
            parts.append({})
        part = parts[index]
        if not isinstance(part, dict):
            raise fail(
                "A part is not an object", where=f"$.{key}[{index}]", received=part
            )
        return part

    @staticmethod
    def _delta(chunk: Mapping[str, Any]) -> str:
        delta = chunk.get("delta")
        if not isinstance(delta, str):
            raise fail("A delta must be a string", where="$.delta", received=delta)
        return delta

    # ---------------------------------------------------------------- handlers

    def _created(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        response = chunk.get("response")
        if isinstance(response, dict) and isinstance(response.get("model"), str):
            self._model = response["model"]
        return []

    def _added(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        index, item = chunk.get("output_index"), chunk.get("item")
        if not isinstance(index, int) or not isinstance(item, dict):
            raise fail(
                "output_item.added needs output_index and item",
                where="$",
                received=chunk,
            )
        if len(self._items) >= _MAX_ITEMS:
            raise fail("Too many output items in one stream", where="$.output_index")
        self._items[index] = copy.deepcopy(item)
        if item.get("type") == "function_call":
            number = len(self._calls)
            self._calls[index] = number
            return [
                ToolCallDelta(
                    index=number, id=item.get("call_id"), name=item.get("name")
                )
            ]
        return []

    def _item_done(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        index, item = chunk.get("output_index"), chunk.get("item")
        if not isinstance(index, int) or not isinstance(item, dict):
            raise fail(
                "output_item.done needs output_index and item",
                where="$",
                received=chunk,
            )
        self._items[index] = copy.deepcopy(item)
        blob = item.get("encrypted_content")
        if item.get("type") == "reasoning" and isinstance(blob, str):
            return [ReasoningDelta(text="", encrypted=blob)]
        return []

    def _part_added(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        part = self._part(chunk, "content", "content_index")
        got = chunk.get("part")
        if isinstance(got, dict):
            part.clear()
            part.update(copy.deepcopy(got))
        return []

    def _text_delta(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        delta = self._delta(chunk)
        part = self._part(chunk, "content", "content_index")
        part.setdefault("type", "output_text")
        part["text"] = str(part.get("text", "")) + delta
        return [TextDelta(text=delta)]

    def _refusal_delta(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        delta = self._delta(chunk)
        part = self._part(chunk, "content", "content_index")
        part.setdefault("type", "refusal")
        part["refusal"] = str(part.get("refusal", "")) + delta
        return [TextDelta(text=delta)]

    def _summary_added(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        part = self._part(chunk, "summary", "summary_index")
        part.setdefault("type", "summary_text")
        part.setdefault("text", "")
        return []

    def _summary_delta(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        delta = self._delta(chunk)
        part = self._part(chunk, "summary", "summary_index")
        part.setdefault("type", "summary_text")
        part["text"] = str(part.get("text", "")) + delta
        return [ReasoningDelta(text=delta)]

    def _arguments_delta(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        delta = self._delta(chunk)
        item = self._item(chunk)
        item["arguments"] = str(item.get("arguments", "")) + delta
        number = self._calls.get(chunk["output_index"], 0)
        return [ToolCallDelta(index=number, arguments=delta)]

    def _settled(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        del chunk  # the `.done` copy of an item arrives with output_item.done
        return []

    def _terminal(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        response = chunk.get("response")
        if not isinstance(response, dict):
            raise fail("A terminal event carries no response", where="$.response")
        if response.get("status") == "failed":
            return self._failed(chunk)
        body = dict(response)
        if not body.get("output"):
            body["output"] = self._ordered()
        if body.get("model") is None and self._model is not None:
            body["model"] = self._model
        turn = decode_response(body, target=self.target)
        self._result = turn
        events: list[StreamEvent] = []
        if turn.usage is not None:
            events.append(UsageUpdate(usage=turn.usage))
        events.append(Finished(finish_reason=turn.finish_reason, turn=turn))
        return events

    def _failed(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        response = chunk.get("response")
        error = response.get("error") if isinstance(response, dict) else chunk
        if not isinstance(error, dict):
            error = {}
        code = error.get("code")
        text = error.get("message")
        raise StreamError(
            "The stream carried an error after it began"
            + (f": {excerpt(text)}" if isinstance(text, str) else ""),
            partial=self.partial(),
            error_type=code if isinstance(code, str) else None,
            received=code if isinstance(code, str) else ...,
            fix="Retry the request; what arrived is in .partial and must not "
            "be stored as a complete answer.",
        )

    # ------------------------------------------------------------------ public

    def _fold(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        """Fold one parsed event; return the stream events it completes."""
        if self._result is not None:
            return []
        kind = chunk.get("type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self.ignored += 1
            return []
        return handler(self, chunk)

    def _ordered(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(self._items[i]) for i in sorted(self._items)]

    def _assemble(self) -> Turn | PartialTurn:
        """The turn after a terminal event; before it, a `PartialTurn`.

        Raises:
            DecodeError: what arrived does not decode.
        """
        if self._result is not None:
            return self._result
        items = [
            item
            for item in self._ordered()
            if item.get("type") != "reasoning" or item.get("encrypted_content")
        ]
        body = {"status": "in_progress", "output": items, "model": self._model}
        turn = decode_response(body, target=self.target)
        return PartialTurn(turn=turn, missing=("response.completed",))


_HANDLERS: dict[
    str, Callable[[StreamAssembler, Mapping[str, Any]], list[StreamEvent]]
] = {
    "response.created": StreamAssembler._created,
    "response.in_progress": StreamAssembler._created,
    "response.output_item.added": StreamAssembler._added,
    "response.output_item.done": StreamAssembler._item_done,
    "response.content_part.added": StreamAssembler._part_added,
    "response.content_part.done": StreamAssembler._settled,
    "response.output_text.delta": StreamAssembler._text_delta,
    "response.output_text.done": StreamAssembler._settled,
    "response.refusal.delta": StreamAssembler._refusal_delta,
    "response.refusal.done": StreamAssembler._settled,
    "response.reasoning_summary_part.added": StreamAssembler._summary_added,
    "response.reasoning_summary_part.done": StreamAssembler._settled,
    "response.reasoning_summary_text.delta": StreamAssembler._summary_delta,
    "response.reasoning_summary_text.done": StreamAssembler._settled,
    "response.function_call_arguments.delta": StreamAssembler._arguments_delta,
    "response.function_call_arguments.done": StreamAssembler._settled,
    "response.completed": StreamAssembler._terminal,
    "response.incomplete": StreamAssembler._terminal,
    "response.done": StreamAssembler._terminal,
    "response.failed": StreamAssembler._failed,
    "error": StreamAssembler._failed,
}

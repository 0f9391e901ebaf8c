"""Assemble a streamed chat completion: SSE bytes or chunk dicts in, a turn out.

The core is a pure fold, `step(snapshot, chunk) -> (snapshot, events)`, over
frozen `StreamSnapshot` values; `StreamAssembler` (`_stream.py`) is the thin
stateful shell that splits SSE bytes and keeps the latest snapshot.

Folding rules (wire-facts A5, C; rules R20, R21):
- text deltas (strings, or `text` parts) append to the open text block;
- reasoning fragments append to the open `summary_text` part; a non-empty
  signature closes the part (the last non-empty signature is kept); a
  signature-only fragment with no open part becomes its own part (R1); an
  encrypted part arrives whole. Reasoning closes when text starts and the
  other way round, so content keeps its order;
- tool-call fragments are grouped by `index`; id and name come with the first;
  argument fragments are concatenated verbatim, and a stray `"{}"` fragment is
  dropped only when the arguments parse without it but not with it;
- chunks with empty `choices` are fine; usage is the last snapshot, never summed;
- an error payload mid-stream raises `StreamError` whose `partial` is the
  `PartialTurn` assembled so far.

Invariant: a stream that ends without a finish reason never yields a `Turn`,
only a `PartialTurn` saying what is missing; any malformed input raises a
`convo.errors` class (`DecodeError`, `ResponseTooLargeError`, `StreamError`).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from typing import Any

import attrs
import immutables

from convo._blocks import (
    Block,
    ReasoningBlock,
    ReasoningPart,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
)
from convo._events import (
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageUpdate,
)
from convo._targets import Target
from convo._turns import PartialTurn, Turn, Usage, normalise_finish_reason
from convo.errors import (
    StreamError,
)
from convo.wire._shared._errors import parse_envelope
from convo.wire._shared._json import fail
from convo.wire._shared._provenance import provenance_for
from convo.wire.chat._decode import (
    parse_part,
    parse_usage,
)

__all__ = [
    "StreamSnapshot",
    "accumulate",
    "finish",
    "step",
]

Cons = tuple[Any, ...]
"""An immutable singly linked list: () or (previous, item). O(1) append."""

_EMPTY_CALLS: immutables.Map[int, _Call] = immutables.Map()


def _items(cons: Cons) -> list[Any]:
    out: list[Any] = []
    while cons:
        cons, item = cons
        out.append(item)
    out.reverse()
    return out


@attrs.frozen(kw_only=True, slots=True)
class _Call:
    index: int
    id: str | None = None
    name: str | None = None
    fragments: Cons = ()
    extra: Cons = ()
    """(key, value) pairs in arrival order; the last value of a key wins."""


@attrs.define(slots=True)
class _Fields:
    """The fields of a snapshot, listed once (the snapshot and the scratch state share them)."""

    closed: Cons = ()
    """Finished content items: ("text", str, extras) | ("reasoning", parts, extras) | ("block", Block)."""
    text: Cons | None = None
    text_extra: Cons = ()
    reasoning: tuple[ReasoningPart, ...] | None = None
    reasoning_extra: Cons = ()
    part: Cons | None = None
    part_signature: str | None = None
    calls: immutables.Map[int, _Call] = _EMPTY_CALLS
    model: str | None = None
    finish_raw: str | None = None
    usage: Usage | None = None
    fields: Cons = ()
    chunks: int = 0


_FIELD_NAMES = tuple(a.name for a in attrs.fields(_Fields))


@attrs.frozen(slots=True)
class StreamSnapshot(_Fields):
    """Everything assembled so far; each chunk gives a new snapshot."""


def _close_part(
    parts: tuple[ReasoningPart, ...], part: Cons | None, sig: str | None
) -> tuple[ReasoningPart, ...]:
    if part is None:
        return parts
    return (*parts, SummaryText(text="".join(_items(part)), signature=sig))


_values = operator.attrgetter(*_FIELD_NAMES)
"""Every field of a snapshot or state, in declaration order: one C call per copy.

`_State(*_values(snapshot))` and `StreamSnapshot(*_values(state))` go through
attrs' generated (unrolled) `__init__`; a loop of setattr per field cost about
2 µs more per chunk."""


@attrs.define(slots=True)
class _State(_Fields):
    """The mutable scratch copy of a snapshot used inside one `step` call only."""

    @classmethod
    def of(cls, snapshot: StreamSnapshot) -> _State:
        return cls(*_values(snapshot))

    def freeze(self) -> StreamSnapshot:
        return StreamSnapshot(*_values(self))

    def close_text(self) -> None:
        if self.text is not None:
            self.closed = (
                self.closed,
                ("text", "".join(_items(self.text)), self.text_extra),
            )
            self.text, self.text_extra = None, ()

    def close_reasoning(self) -> None:
        if self.reasoning is not None:
            parts = _close_part(self.reasoning, self.part, self.part_signature)
            self.closed = (self.closed, ("reasoning", parts, self.reasoning_extra))
            self.reasoning, self.reasoning_extra = None, ()
            self.part, self.part_signature = None, None

    def add_text(self, text: str, extra: Mapping[str, Any] | None) -> None:
        self.close_reasoning()
        self.text = ((), text) if self.text is None else (self.text, text)
        if extra:
            for pair in extra.items():
                self.text_extra = (self.text_extra, pair)

    def add_reasoning(
        self, item: Mapping[str, Any], where: str, events: list[StreamEvent]
    ) -> None:
        self.close_text()
        if self.reasoning is None:
            self.reasoning = ()
        for key, value in item.items():
            if key not in ("type", "summary"):
                self.reasoning_extra = (self.reasoning_extra, (key, value))
        summary = item.get("summary")
        if not isinstance(summary, list):
            raise fail(
                "A reasoning delta needs a summary list",
                where=f"{where}.summary",
                received=summary,
            )
        for i, raw in enumerate(summary):
            pwhere = f"{where}.summary[{i}]"
            if not isinstance(raw, dict):
                raise fail(
                    "A reasoning part must be an object", where=pwhere, received=raw
                )
            kind = raw.get("type")
            if kind == "summary_encrypted_text":
                data = raw.get("data")
                if not isinstance(data, str) or set(raw) - {"type", "data"}:
                    raise fail(
                        "Bad summary_encrypted_text part", where=pwhere, received=raw
                    )
                self.reasoning = (
                    *_close_part(self.reasoning, self.part, self.part_signature),
                    SummaryEncryptedText(data=data),
                )
                self.part, self.part_signature = None, None
                events.append(ReasoningDelta(text="", encrypted=data))
                continue
            if kind != "summary_text" or set(raw) - {"type", "text", "signature"}:
                raise fail(
                    "Unknown reasoning part in a delta", where=pwhere, received=raw
                )
            text = raw.get("text", "")
            sig = raw.get("signature")
            if not isinstance(text, str) or not (sig is None or isinstance(sig, str)):
                raise fail(
                    "A summary_text part needs string text and signature",
                    where=pwhere,
                    received=raw,
                )
            self.add_fragment(text, sig)
            events.append(ReasoningDelta(text=text, signature=sig))

    def add_fragment(self, text: str, sig: str | None) -> None:
        if self.reasoning is None:
            self.close_text()
            self.reasoning = ()
        if self.part is None:
            if sig and not text:
                self.reasoning = (*self.reasoning, SummaryText(text="", signature=sig))
                return
            self.part, self.part_signature = ((), text), sig
        else:
            self.part = (self.part, text)
            if sig is not None and (sig or self.part_signature is None):
                self.part_signature = sig
        if sig:
            self.reasoning = _close_part(self.reasoning, self.part, self.part_signature)
            self.part, self.part_signature = None, None

    def add_call(self, item: object, where: str, events: list[StreamEvent]) -> None:
        if not isinstance(item, dict):
            raise fail(
                "A tool call delta must be an object", where=where, received=item
            )
        index = item.get("index")
        call_id = item.get("id")
        if index is None:
            known = [c.index for c in self.calls.values()]
            if call_id is not None and all(self.calls[k].id != call_id for k in known):
                index = len(known)
            else:
                index = max(known, default=0)
        if (
            isinstance(index, bool)
            or not isinstance(index, int)
            or not 0 <= index < 10_000
        ):
            raise fail(
                "A tool call delta needs an integer index",
                where=f"{where}.index",
                received=index,
            )
        function = item.get("function")
        if function is None:
            function = {}
        if not isinstance(function, dict):
            raise fail(
                "function must be an object",
                where=f"{where}.function",
                received=function,
            )
        name = function.get("name")
        args = function.get("arguments")
        if (
            not (call_id is None or isinstance(call_id, str))
            or not (name is None or isinstance(name, str))
            or not (args is None or isinstance(args, str))
        ):
            raise fail(
                "Tool call id, name and arguments must be strings",
                where=where,
                received=item,
            )
        call = self.calls.get(index) or _Call(index=index)
        extra = call.extra
        for key, value in item.items():
            if key not in ("index", "id", "type", "function"):
                extra = (extra, (key, value))
        call = _Call(
            index=index,
            id=call.id or call_id or None,
            name=call.name or name or None,
            fragments=(call.fragments, args) if args else call.fragments,
            extra=extra,
        )
        self.calls = self.calls.set(index, call)
        events.append(
            ToolCallDelta(index=index, id=call_id, name=name, arguments=args or "")
        )


_DELTA_KEYS = frozenset(
    {
        "role",
        "content",
        "tool_calls",
        "reasoning_content",
    }
)


def _error_payload(chunk: Mapping[str, Any]) -> bool:
    return chunk.get("error") is not None or (
        "error_code" in chunk and "choices" not in chunk
    )


def step(
    snapshot: StreamSnapshot,
    chunk: Mapping[str, Any],
    *,
    choice: int = 0,
    target: Target | None = None,
) -> tuple[StreamSnapshot, tuple[StreamEvent, ...]]:
    """Fold one chunk into a snapshot: the new snapshot and the events it produced.

    Raises:
        DecodeError: the chunk is not a chat-completions chunk.
        StreamError: the chunk is an error payload (`partial` holds what arrived).
    """
    if not isinstance(chunk, Mapping):
        raise fail("A stream chunk must be a JSON object", where="$", received=chunk)
    if _error_payload(chunk):
        raise _stream_error(snapshot, chunk, target)
    s = _State.of(snapshot)
    s.chunks += 1
    events: list[StreamEvent] = []
    model = chunk.get("model")
    if s.model is None and model is not None:
        if not isinstance(model, str):
            raise fail("model must be a string", where="$.model", received=model)
        s.model = model
    choices = chunk.get("choices")
    if choices is None:
        choices = []
    if not isinstance(choices, list):
        raise fail("choices must be a list", where="$.choices", received=choices)
    for ci, c in enumerate(choices):
        where = f"$.choices[{ci}]"
        if not isinstance(c, dict):
            raise fail("A choice must be an object", where=where, received=c)
        if c.get("index", 0) == choice:
            _fold_choice(s, c, where, events)
    _fold_usage(s, chunk.get("usage"), events)
    return s.freeze(), tuple(events)


def _stream_error(
    snapshot: StreamSnapshot, chunk: Mapping[str, Any], target: Target | None
) -> StreamError:
    """The `StreamError` of an error payload; `.partial` is what arrived before it."""
    found = parse_envelope(dict(chunk))
    partial = finish(snapshot, target=target, force_partial=True)
    assert isinstance(partial, PartialTurn)  # noqa: S101 - force_partial guarantees it
    return StreamError(
        f"The stream carried an error: {found.message or 'no message'}",
        partial=partial,
        error_type=found.code,
        request_id=found.request_id,
        received=found.code or "error",
        fix="What arrived before the error is in .partial.",
    )


def _fold_choice(
    s: _State, c: Mapping[str, Any], where: str, events: list[StreamEvent]
) -> None:
    """One choice of a chunk: its delta, kind by kind, then its finish reason."""
    delta = c.get("delta")
    if delta is None:
        delta = {}
    if not isinstance(delta, dict):
        raise fail("delta must be an object", where=f"{where}.delta", received=delta)
    _fold_reasoning_content(s, delta.get("reasoning_content"), where, events)
    _fold_content(s, delta.get("content"), where, events)
    _fold_tool_calls(s, delta.get("tool_calls"), where, events)
    for key, value in delta.items():
        if key not in _DELTA_KEYS and value is not None and value != [] and value != {}:
            s.fields = (s.fields, (key, value))
    finish_raw = c.get("finish_reason")
    if finish_raw is not None:
        if not isinstance(finish_raw, str):
            raise fail(
                "finish_reason must be a string",
                where=f"{where}.finish_reason",
                received=finish_raw,
            )
        s.finish_raw = finish_raw


def _fold_reasoning_content(
    s: _State, reasoning: object, where: str, events: list[StreamEvent]
) -> None:
    """`delta.reasoning_content`: a plain reasoning fragment (no signature)."""
    if not reasoning:
        return
    if not isinstance(reasoning, str):
        raise fail(
            "reasoning_content must be a string",
            where=f"{where}.delta.reasoning_content",
            received=reasoning,
        )
    s.add_fragment(reasoning, None)
    events.append(ReasoningDelta(text=reasoning))


def _fold_content(
    s: _State, content: object, where: str, events: list[StreamEvent]
) -> None:
    """`delta.content`: a string of text, or a list of parts."""
    if isinstance(content, str):
        if content:
            s.add_text(content, None)
            events.append(TextDelta(text=content))
    elif isinstance(content, list):
        for pi, item in enumerate(content):
            _fold_content_part(s, item, f"{where}.delta.content[{pi}]", events)
    elif content is not None:
        raise fail(
            "delta content must be a string, a list or null",
            where=f"{where}.delta.content",
            received=content,
        )


def _fold_content_part(
    s: _State, item: object, where: str, events: list[StreamEvent]
) -> None:
    """One part of a list `delta.content`: text, reasoning, or a whole block."""
    kind = item.get("type") if isinstance(item, dict) else None
    if kind == "text" and isinstance(item, dict):
        text = item.get("text")
        if not isinstance(text, str):
            raise fail(
                "A text delta needs a string", where=f"{where}.text", received=text
            )
        extra = {k: v for k, v in item.items() if k not in ("type", "text")}
        if text or extra:
            s.add_text(text, extra)
        if text:
            events.append(TextDelta(text=text))
    elif kind == "reasoning" and isinstance(item, dict):
        s.add_reasoning(item, where, events)
    else:
        block = parse_part(item, where=where, provenance=None)
        s.close_text()
        s.close_reasoning()
        s.closed = (s.closed, ("block", block))


def _fold_tool_calls(
    s: _State, calls: object, where: str, events: list[StreamEvent]
) -> None:
    """`delta.tool_calls`: fragments of calls, grouped by index."""
    if calls is None:
        return
    if not isinstance(calls, list):
        raise fail(
            "tool_calls must be a list",
            where=f"{where}.delta.tool_calls",
            received=calls,
        )
    for ti, item in enumerate(calls):
        s.add_call(item, f"{where}.delta.tool_calls[{ti}]", events)


def _fold_usage(s: _State, usage_raw: object, events: list[StreamEvent]) -> None:
    """`usage`: the latest report replaces the last one (never summed)."""
    if usage_raw is None:
        return
    usage = parse_usage(usage_raw, where="$.usage")
    if usage != s.usage:
        s.usage = usage
        assert usage is not None  # noqa: S101 - parse_usage returns a value for a non-null input
        events.append(UsageUpdate(usage=usage))


def accumulate(snapshot: StreamSnapshot, chunk: Mapping[str, Any]) -> StreamSnapshot:
    """The snapshot after `chunk` (the pure fold, events left out)."""
    return step(snapshot, chunk)[0]


def _pairs(cons: Cons) -> dict[str, Any]:
    return dict(_items(cons))


def _valid_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _arguments(fragments: list[str]) -> tuple[str, bool]:
    whole = "".join(fragments)
    if not whole:
        return "{}", True
    if _valid_json(whole):
        return whole, True
    if "{}" in fragments:
        without = "".join(f for f in fragments if f != "{}")
        if not without:
            return "{}", True
        if _valid_json(without):
            return without, True
    return whole, False


def finish(
    snapshot: StreamSnapshot,
    *,
    target: Target | None = None,
    force_partial: bool = False,
    missing: tuple[str, ...] = (),
) -> Turn | PartialTurn:
    """The turn a snapshot holds; a `PartialTurn` when no finish reason arrived.

    Raises:
        DecodeError: a finished stream holds a tool call without id or name.
    """
    s = _State.of(snapshot)
    unsigned = snapshot.part is not None
    s.close_text()
    s.close_reasoning()
    provenance = provenance_for(target, s.model)
    blocks: list[Block] = []
    for item in _items(s.closed):
        if item[0] == "text":
            blocks.append(TextBlock(text=item[1], extra=_pairs(item[2])))
        elif item[0] == "reasoning":
            blocks.append(
                ReasoningBlock(
                    parts=item[1], provenance=provenance, extra=_pairs(item[2])
                )
            )
        else:
            block = item[1]
            blocks.append(block)
    partial = force_partial or s.finish_raw is None
    lacking = list(missing)
    if s.finish_raw is None:
        lacking.insert(0, "finish_reason")
    if partial and unsigned:
        lacking.append("reasoning signature")
    indexes = sorted(s.calls.keys())
    last_index = indexes[-1] if indexes else None
    for index in indexes:
        call = s.calls[index]
        if call.id is None or call.name is None:
            if not partial:
                raise fail(
                    "A streamed tool call never got its id or name",
                    where=f"$.tool_calls[{index}]",
                )
            lacking.append(f"tool_call:#{index} id and name")
            continue
        arguments, ok = _arguments(_items(call.fragments))
        if partial and (not ok or index == last_index):
            # The call still being streamed at the cut may be incomplete even
            # when its arguments parse ("" reads as "{}"): it must never run.
            lacking.append(f"tool_call:{call.id} arguments")
        blocks.append(
            ToolCallBlock(
                id=call.id,
                name=call.name,
                arguments=arguments,
                extra=_pairs(call.extra),
            )
        )
    fields = _pairs(s.fields)
    turn = Turn(
        role="assistant",
        blocks=tuple(blocks),
        model=s.model,
        finish_reason=normalise_finish_reason(s.finish_raw),
        finish_reason_raw=s.finish_raw,
        usage=s.usage,
        metadata={"chat.message": fields} if fields else {},
    )
    if partial:
        return PartialTurn(turn=turn, missing=tuple(lacking) or ("finish_reason",))
    return turn

"""One streaming design for every format: SSE framing, chunk parsing, `partial()`.

`BaseStreamAssembler` is the shape every format's `StreamAssembler` has:

- `feed(bytes)`: SSE bytes split anywhere, framed by the shared `SSEParser`
  (LF, CRLF or CR line ends; comments ignored; an unterminated last event
  never dispatched), each event's data parsed by `parse_chunk` (strict JSON,
  size- and depth-bounded; an `event:` name becomes the chunk's `type` when
  the chunk has none; `[DONE]` ends the stream);
- `feed_chunk(chunk)`: one parsed chunk, counted against `max_events`, handed
  to the format's `_fold`; returns the stream events it completes;
- `finish()`: the `Turn` once the stream finished; before that it raises
  `StreamInterruptedError` whose `.partial` is the `PartialTurn` naming what
  is missing (the format's `_assemble`);
- `partial()`: what arrived so far, always a `PartialTurn` (a finished turn is
  wrapped with `missing=("end of stream",)`), or None when what arrived does
  not decode; `finish_event()`: `finish()` as the `Finished` event.

One way to report an incomplete answer, everywhere (assemblers, the client,
`Chat`): an error whose `.partial` is a `PartialTurn` (`StreamInterruptedError`
built by `incomplete_stream`; `StreamError` for an error payload;
`APITimeoutError` past a deadline). `Finished` always holds a whole turn.

Invariant: every failure is a `convo.errors` class; a format only folds chunks.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from convo._events import Finished, StreamEvent
from convo._targets import Target
from convo._turns import PartialTurn, Turn
from convo.errors import ConvoError, DecodeError, StreamInterruptedError
from convo.wire._shared._json import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    fail,
    load_json,
    too_large,
)
from convo.wire._shared._sse import SSEEvent, SSEParser

__all__ = [
    "MAX_EVENTS",
    "MAX_LINE_BYTES",
    "BaseStreamAssembler",
    "incomplete_stream",
    "parse_chunk",
]

MAX_LINE_BYTES = MAX_BODY_BYTES
"""The longest SSE line (and one event's data) an assembler accepts."""

MAX_EVENTS = 1_000_000
"""The most events one stream may carry."""


def incomplete_stream(partial: PartialTurn) -> StreamInterruptedError:
    """The error for a stream that ended without its finish; `.partial` is what arrived."""
    return StreamInterruptedError(
        "The stream ended before its finish",
        partial=partial,
        error_type="incomplete_stream",
        received=f"<missing: {', '.join(partial.missing)}>",
        fix="Retry the request; what arrived is in .partial and must not "
        "be stored as a complete answer.",
    )


def parse_chunk(
    event: SSEEvent, *, limit: int = MAX_LINE_BYTES, max_depth: int = MAX_DEPTH
) -> Any:
    """The JSON value of one SSE event (None for `[DONE]`).

    An `event:` name becomes the `type` of an object that has none, so formats
    whose events are named by the SSE field (Messages, Responses) fold the same
    chunk whether it came from bytes or from an SDK.

    Raises:
        DecodeError: the data is not valid JSON or nests too deep.
        ResponseTooLargeError: the data is longer than `limit`.
    """
    data = event.data
    if data == "[DONE]" or (len(data) < 16 and data.strip() == "[DONE]"):
        return None
    chunk = load_json(
        event.data, what="A stream event", limit=limit, max_depth=max_depth
    )
    if isinstance(chunk, dict) and "type" not in chunk and event.event:
        chunk["type"] = event.event
    return chunk


def _unfolded(exc: Exception, doing: str) -> DecodeError:
    """The `DecodeError` for a builtin exception a hostile stream raised in a fold."""
    return fail(
        f"convo could not {doing} ({type(exc).__name__})",
        where="$",
        fix="The stream is malformed; if it came from a conforming server, "
        "report it with the stream attached.",
    )


class BaseStreamAssembler(abc.ABC):
    """Feed SSE bytes (split anywhere) or parsed chunks; get events; `finish()`.

    Args:
        target: the target that answers; gives reasoning its provenance.
        max_line_bytes: the longest SSE line, and the largest event, accepted.
        max_events: the most events (chunks) accepted.
        max_depth: the deepest JSON nesting accepted in a chunk.
    """

    def __init__(
        self,
        *,
        target: Target | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_events: int = MAX_EVENTS,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        self.target = target
        self.max_line_bytes = max_line_bytes
        self.max_events = max_events
        self.max_depth = max_depth
        self.events = 0
        """Chunks folded so far."""
        self.done = False
        """`[DONE]` arrived; nothing after it is read."""
        self._sse = SSEParser(max_line_bytes=max_line_bytes, max_events=max_events + 1)

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Take more raw SSE bytes; return the events of every complete chunk in them.

        Raises:
            ResponseTooLargeError: a line, an event or the event count is over its bound.
            DecodeError: `data` is not bytes; a chunk is not valid JSON or not a
                chunk of this format.
            StreamError: an error payload arrived mid-stream (`.partial` holds what arrived).
        """
        if not isinstance(data, bytes | bytearray):
            raise fail(
                "A stream assembler reads bytes",
                where="feed()",
                received=f"<{type(data).__name__}>",
                fix="Pass the response body's raw bytes; feed_chunk() takes "
                "a parsed chunk.",
            )
        out: list[StreamEvent] = []
        for event in self._sse.feed(bytes(data)):
            if self.done:
                break
            chunk = parse_chunk(
                event, limit=self.max_line_bytes, max_depth=self.max_depth
            )
            if chunk is None:
                self.done = True
                break
            out.extend(self.feed_chunk(chunk))
        return out

    def feed_chunk(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        """Fold one parsed chunk; return the stream events it completes.

        Raises:
            ResponseTooLargeError: more chunks than `max_events`.
            DecodeError: the chunk is not an object, or not a chunk of this format.
            StreamError: the chunk is an error payload.
        """
        self.events += 1
        if self.events > self.max_events:
            raise too_large(
                f"The stream sent more than {self.max_events} events",
                limit=self.max_events,
            )
        if not isinstance(chunk, Mapping):
            raise fail(
                "A stream chunk must be a JSON object", where="$", received=chunk
            )
        try:
            return self._fold(chunk)
        except ConvoError:
            raise
        except Exception as exc:  # a hostile chunk must not escape untyped
            raise _unfolded(exc, "fold this stream chunk") from exc

    @abc.abstractmethod
    def _fold(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        """The format's fold of one chunk (an object)."""

    @abc.abstractmethod
    def _assemble(self) -> Turn | PartialTurn:
        """The format's result: the turn if the stream finished, else a `PartialTurn`.

        Raises:
            DecodeError: what arrived does not decode.
        """

    def finish(self) -> Turn:
        """The turn, once the stream finished.

        Raises:
            StreamInterruptedError: it did not finish; `.partial` is what arrived.
            DecodeError: what arrived does not decode.
        """
        try:
            result = self._assemble()
        except ConvoError:
            raise
        except Exception as exc:  # what arrived must not escape untyped either
            raise _unfolded(exc, "assemble this stream") from exc
        if isinstance(result, PartialTurn):
            raise incomplete_stream(result)
        return result

    def partial(self) -> PartialTurn | None:
        """What arrived so far as a `PartialTurn`; None when it does not decode.

        Never raises: any exception `_assemble()` raises on a hostile stream (a
        `ConvoError` or not) means what arrived does not decode.
        """
        try:
            result = self._assemble()
        except Exception:  # noqa: BLE001 - any failure: what arrived does not decode
            # Called while another error is being raised (a timeout, a cut
            # stream): a second, untyped exception here would replace it.
            return None
        if isinstance(result, Turn):
            return PartialTurn(turn=result, missing=("end of stream",))
        return result

    def finish_event(self) -> Finished:
        """`finish()` as the `Finished` event a stream ends with.

        Raises:
            StreamInterruptedError: the stream did not finish (`.partial`).
        """
        turn = self.finish()
        return Finished(finish_reason=turn.finish_reason, turn=turn)

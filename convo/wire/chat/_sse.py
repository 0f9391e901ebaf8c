"""The stateful shell around the stream fold: SSE bytes in, events out.

`StreamAssembler` splits raw SSE bytes (split anywhere; LF, CRLF or CR line
ends; `data:` lines joined per event; comments and keep-alives ignored;
`[DONE]` ends the stream), parses each event's JSON within bounds (line length,
event count, nesting depth), and folds it with `convo.wire.chat._stream.step`,
keeping only the latest frozen snapshot.

Invariant: every failure is a `convo.errors` class; `finish()` never returns a
`Turn` for a stream that did not send its finish reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convo._events import Finished, StreamEvent
from convo._targets import Target
from convo._turns import PartialTurn, Turn
from convo.errors import DecodeError, ResponseTooLargeError, message
from convo.wire.chat._decode import MAX_DEPTH, load_json
from convo.wire.chat._stream import StreamSnapshot, finish, step

__all__ = ["MAX_EVENTS", "MAX_LINE_BYTES", "StreamAssembler"]


MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_EVENTS = 1_000_000


class StreamAssembler:
    """Feed SSE bytes (split anywhere) or chunk dicts; get events; `finish()` for the turn.

    Args:
        target: the target that answers; gives reasoning its provenance.
        choice: which choice index to assemble.
        max_line_bytes: the longest SSE line accepted.
        max_events: the most SSE events (chunks) accepted.
        max_depth: the deepest JSON nesting accepted in a chunk.
        max_event_bytes: the most `data:` bytes one event may join (default:
            `max_line_bytes`), however many lines carry them.

    `feed` is linear in its input however it is split: an unterminated line is
    kept as pieces and joined once its end arrives.
    """

    def __init__(
        self,
        *,
        target: Target | None = None,
        choice: int = 0,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_events: int = MAX_EVENTS,
        max_depth: int = MAX_DEPTH,
        max_event_bytes: int | None = None,
    ) -> None:
        self.target = target
        self.max_event_bytes = (
            max_line_bytes if max_event_bytes is None else max_event_bytes
        )
        self._pieces: list[bytes] = []
        self._piece_bytes = 0
        self._data_bytes = 0
        self.choice = choice
        self.max_line_bytes = max_line_bytes
        self.max_events = max_events
        self.max_depth = max_depth
        self.snapshot = StreamSnapshot()
        self.done = False
        self._buffer = b""
        self._data: list[bytes] = []
        self._events = 0
        self._lost: tuple[str, ...] = ()

    def _too_large(self, what: str, limit: int) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            message(
                what, fix="Raise the assembler's limit if this stream is expected."
            ),
            limit=limit,
            request_id=None,
            attempts=1,
        )

    def feed_chunk(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        """Fold one parsed chunk; return the events it produced."""
        self._events += 1
        if self._events > self.max_events:
            raise self._too_large(
                f"The stream sent more than {self.max_events} events", self.max_events
            )
        self.snapshot, events = step(
            self.snapshot, chunk, choice=self.choice, target=self.target
        )
        return list(events)

    def _dispatch(self, out: list[StreamEvent]) -> None:
        data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
        self._data, self._data_bytes = [], 0
        if data.strip() == b"[DONE]":
            self.done = True
            return
        if self.done or not data.strip():
            return
        out.extend(
            self.feed_chunk(load_json(data, where="$", max_depth=self.max_depth))
        )

    def _line(self, line: bytes, out: list[StreamEvent]) -> None:
        if not line:
            if self._data:
                self._dispatch(out)
            return
        if line[0] == 58:  # b":" comment / keep-alive
            return
        field, _, value = line.partition(b":")
        if field == b"data":
            value = value[1:] if value[:1] == b" " else value
            self._data_bytes += len(value) + 1
            if self._data_bytes > self.max_event_bytes:
                raise self._too_large(
                    f"An SSE event carries more than {self.max_event_bytes} bytes "
                    "of data",
                    self.max_event_bytes,
                )
            self._data.append(value)

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Take more raw SSE bytes; return the events of every complete chunk in them.

        Raises:
            ResponseTooLargeError: a line or the event count is over its limit.
            DecodeError: a chunk is not valid JSON or not a chunk.
            StreamError: an error payload arrived mid-stream.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise DecodeError(
                message(
                    "Stream data must be bytes",
                    where="$",
                    received=f"<{type(data).__name__}>",
                ),
                path="$",
                errors=("not bytes @ $",),
            )
        data = bytes(data)
        if b"\n" not in data and b"\r" not in data:
            # No line ends here: keep the piece, join only when a line completes.
            self._piece_bytes += len(data)
            if self._piece_bytes + len(self._buffer) > self.max_line_bytes:
                raise self._too_large(
                    f"An SSE line is longer than {self.max_line_bytes} bytes",
                    self.max_line_bytes,
                )
            self._pieces.append(data)
            return []
        if self._pieces:
            self._buffer += b"".join(self._pieces)
            self._pieces, self._piece_bytes = [], 0
        buffer = self._buffer + data if self._buffer else data
        held = b""
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):
                buffer, held = buffer[:-1], b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        rest = lines.pop()
        if len(rest) > self.max_line_bytes:
            raise self._too_large(
                f"An SSE line is longer than {self.max_line_bytes} bytes",
                self.max_line_bytes,
            )
        self._buffer = rest + held
        out: list[StreamEvent] = []
        for line in lines:
            if len(line) > self.max_line_bytes:
                raise self._too_large(
                    f"An SSE line is longer than {self.max_line_bytes} bytes",
                    self.max_line_bytes,
                )
            self._line(line, out)
        return out

    def finish(self) -> Turn | PartialTurn:
        """The assembled turn (after `[DONE]` or at EOF), or a `PartialTurn`.

        A final event left without its blank line is used when it parses; a
        truncated one is dropped and reported in `missing`.
        """
        if self._pieces:
            self._buffer += b"".join(self._pieces)
            self._pieces, self._piece_bytes = [], 0
        if self._buffer.strip():
            self._line(self._buffer.rstrip(b"\r"), [])
            self._buffer = b""
        if self._data:
            try:
                self._dispatch([])
            except DecodeError:
                self._lost = ("truncated final event",)
        return finish(self.snapshot, target=self.target, missing=self._lost)

    def finish_event(self) -> Finished:
        """`finish()` as the `Finished` event a stream ends with."""
        result = self.finish()
        if isinstance(result, PartialTurn):
            return Finished(finish_reason=None, partial=result)
        return Finished(finish_reason=result.finish_reason, turn=result)

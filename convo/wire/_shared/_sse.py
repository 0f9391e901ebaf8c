"""Incremental, bounded server-sent-events framing, for every format and the client.

`SSEParser.feed(bytes)` takes the stream split anywhere and returns the events
those bytes complete. Lines end with `\\n`, `\\r` or `\\r\\n` (a `\\r` at the
end of one chunk and a `\\n` at the start of the next are one ending).
Comments and unknown fields are dropped as they arrive; an unterminated last
event is never dispatched (the WHATWG rule).

Invariants: memory is bounded (`max_line_bytes` for a line and for one
event's data, `max_events`) and passing a bound raises
`ResponseTooLargeError`; feeding the same bytes in any split gives the same
events; work is linear in the input.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

from convo.errors import ResponseTooLargeError
from convo.wire._shared._json import fail, too_large

__all__ = ["SSEEvent", "SSEParser"]

_EOL: Final = re.compile(rb"\r\n|\r|\n")


def _bound(what: str, limit: int) -> ResponseTooLargeError:
    return too_large(
        f"The stream passed its bound on {what}",
        limit=limit,
        received=f"<more than {limit}>",
    )


@attrs.frozen(kw_only=True)
class SSEEvent:
    """One dispatched event: its `event:` name (if any) and its joined `data:` lines."""

    event: str | None
    data: str


class SSEParser:
    """Frame SSE bytes into events, incrementally and within bounds."""

    def __init__(self, *, max_line_bytes: int, max_events: int) -> None:
        self.max_line_bytes = max_line_bytes
        self.max_events = max_events
        self.events = 0
        self._buffer = bytearray()
        self._after_cr = False
        self._data: list[str] = []
        self._data_bytes = 0
        self._event: str | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Take more bytes (any split); return the events they complete."""
        if self._after_cr and data[:1] == b"\n":
            data = data[1:]
        self._after_cr = False
        if not data:
            return []
        start = len(self._buffer)
        self._buffer += data
        out: list[SSEEvent] = []
        if b"\r" not in data:
            # Fast path (LF only): the remainder holds no line end, so only the
            # new bytes are searched, and the complete lines split at once.
            end = self._buffer.rfind(b"\n", start)
            if end >= 0:
                block = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                for line in block.split(b"\n"):
                    event = self._line(line)
                    if event is not None:
                        out.append(event)
            if len(self._buffer) > self.max_line_bytes:
                raise _bound("SSE line length (bytes)", self.max_line_bytes)
            return out
        pos = 0
        # Only the new bytes can hold a line ending the old remainder lacked,
        # except a "\r\n" whose "\r" ended the remainder (handled by _after_cr).
        search_from = max(0, start - 1)
        while True:
            match = _EOL.search(self._buffer, search_from)
            if match is None:
                break
            line = bytes(self._buffer[pos : match.start()])
            if match.group() == b"\r" and match.end() == len(self._buffer):
                self._after_cr = True
            pos = search_from = match.end()
            event = self._line(line)
            if event is not None:
                out.append(event)
        del self._buffer[:pos]
        if len(self._buffer) > self.max_line_bytes:
            raise _bound("SSE line length (bytes)", self.max_line_bytes)
        return out

    def _line(self, raw: bytes) -> SSEEvent | None:
        if len(raw) > self.max_line_bytes:
            raise _bound("SSE line length (bytes)", self.max_line_bytes)
        if not raw:
            return self._dispatch()
        if raw.startswith(b"data: "):
            name, value = b"data", raw[6:]
        elif raw.startswith(b":"):
            return None
        else:
            name, colon, value = raw.partition(b":")
            if colon and value.startswith(b" "):
                value = value[1:]
        if name == b"data":
            self._data_bytes += len(value) + 1
            if self._data_bytes > self.max_line_bytes:
                raise _bound("SSE event size (bytes)", self.max_line_bytes)
            self._data.append(_text(value))
        elif name == b"event":
            self._event = _text(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        data, event = self._data, self._event
        self._data, self._event, self._data_bytes = [], None, 0
        if not data:
            return None
        self.events += 1
        if self.events > self.max_events:
            raise _bound("event count", self.max_events)
        return SSEEvent(event=event, data="\n".join(data))


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise fail(
            "A stream line is not UTF-8", where="$", received=value[:100]
        ) from None

"""Incremental, bounded server-sent-events framing, and bounded body decoding.

`SSEParser.feed(bytes)` takes the stream split anywhere and returns the events
those bytes complete. Lines end with `\\n`, `\\r` or `\\r\\n` (a `\\r` at the
end of one chunk and a `\\n` at the start of the next are one ending).
Comments and unknown fields are dropped as they arrive; an unterminated last
event is never dispatched (the WHATWG rule). `BodyDecoder` undoes
`gzip`/`deflate` with a bound on the decompressed size.

Invariants: memory is bounded (`max_line_bytes` for a line and for one
event's data, `max_events`, `max_bytes` decompressed) and passing a bound
raises `ResponseTooLargeError`; feeding the same bytes in any split gives the
same events; work is linear in the input.
"""

from __future__ import annotations

import re
import zlib
from typing import Final

import attrs

from convo.errors import DecodeError, ResponseTooLargeError, message

__all__ = ["BodyDecoder", "SSEEvent", "SSEParser", "too_large"]

_EOL: Final = re.compile(rb"\r\n|\r|\n")
_PIECE: Final = 64 * 1024


def too_large(what: str, limit: int) -> ResponseTooLargeError:
    """The error for a response that passed the bound `limit` on `what`."""
    return ResponseTooLargeError(
        message(
            f"The response passed its bound on {what}",
            received=f"<more than {limit}>",
            fix="Raise the client's limit if this answer is legitimate.",
        ),
        limit=limit,
        request_id=None,
        attempts=1,
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
            raise too_large("SSE line length (bytes)", self.max_line_bytes)
        return out

    def _line(self, raw: bytes) -> SSEEvent | None:
        if len(raw) > self.max_line_bytes:
            raise too_large("SSE line length (bytes)", self.max_line_bytes)
        if not raw:
            return self._dispatch()
        if raw.startswith(b":"):
            return None
        name, colon, value = raw.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data_bytes += len(value) + 1
            if self._data_bytes > self.max_line_bytes:
                raise too_large("SSE event size (bytes)", self.max_line_bytes)
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
            raise too_large("event count", self.max_events)
        return SSEEvent(event=event, data="\n".join(data))


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        what = "A stream line is not UTF-8"
        raise DecodeError(
            message(what, where="$", received=value[:100]),
            path="$",
            errors=(f"{what} @ $",),
        ) from None


class BodyDecoder:
    """Undo a `Content-Encoding` (identity, gzip, deflate) with a bound on output."""

    def __init__(self, encoding: str | None, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.total = 0
        codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "deflate")):
            what = "The response uses a content encoding convo does not decode"
            raise DecodeError(
                message(what, where="$", received=encoding),
                path="$",
                errors=(f"{what} @ $",),
            )
        self._coding = codings[0] if codings else None
        self._zlib: zlib._Decompress | None = None
        self._first = True
        if self._coding == "gzip":
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _count(self, data: bytes) -> bytes:
        self.total += len(data)
        if self.total > self.max_bytes:
            raise too_large("decompressed size (bytes)", self.max_bytes)
        return data

    def _inflate(self, data: bytes) -> list[bytes]:
        assert self._zlib is not None  # noqa: S101 - set for gzip and deflate
        out: list[bytes] = []
        pending = data
        while pending:
            piece = self._zlib.decompress(pending, _PIECE)
            out.append(self._count(piece))
            pending = self._zlib.unconsumed_tail
        return out

    def decode(self, data: bytes) -> list[bytes]:
        """Decoded pieces of `data`, each counted against the bound."""
        if self._coding is None:
            return [self._count(data)] if data else []
        if self._coding == "deflate" and self._first and data:
            # RFC 9110's deflate is zlib-wrapped, but raw deflate is common too.
            wbits = zlib.MAX_WBITS if (data[0] & 0x0F) == 8 else -zlib.MAX_WBITS
            self._zlib = zlib.decompressobj(wbits)
        self._first = False
        try:
            return self._inflate(data)
        except zlib.error as exc:
            what = "The compressed response body is corrupt"
            raise DecodeError(
                message(what, where="$"), path="$", errors=(f"{what} @ $",)
            ) from exc

    def flush(self) -> list[bytes]:
        """Whatever the decompressor still holds."""
        if self._zlib is None:
            return []
        return [self._count(self._zlib.flush())]

"""Bounded body decoding; SSE framing is `convo.wire._shared._sse` (re-exported).

`BodyDecoder` undoes `gzip`/`deflate` with a bound on the decompressed size
(`ResponseTooLargeError` past it). `SSEParser` / `SSEEvent` live with the wire
formats, which frame their streams with the same parser as the client.
"""

from __future__ import annotations

import zlib
from typing import Final

from convo.errors import DecodeError, ResponseTooLargeError
from convo.wire._shared._sse import SSEEvent, SSEParser

__all__ = ["BodyDecoder", "SSEEvent", "SSEParser", "too_large"]

_PIECE: Final = 64 * 1024


def too_large(what: str, limit: int) -> ResponseTooLargeError:
    """The error for a response that passed the bound `limit` on `what`."""
    return ResponseTooLargeError(
        f"The response passed its bound on {what}",
        limit=limit,
        received=f"<more than {limit}>",
        fix="Raise the client's limit if this answer is legitimate.",
    )


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
                what, path="$", errors=(f"{what} @ $",), received=encoding
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
            raise DecodeError(what, path="$", errors=(f"{what} @ $",)) from exc

    def flush(self) -> list[bytes]:
        """Whatever the decompressor still holds."""
        if self._zlib is None:
            return []
        return [self._count(self._zlib.flush())]

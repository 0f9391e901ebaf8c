"""One logical request, sans I/O: attempts, the deadline, errors, and the stream fold.

`Settings` is a client's resolved configuration. A `Call` is created per
`send`/`stream`; the sync and async shells ask it for each attempt's request,
hand it each response (head, then bytes) and ask it what to do after a
failure: it returns the seconds to wait or raises the error to surface.
`StreamFold` turns a response's raw bytes into stream events (bounded
decompression, SSE framing, the wire format's assembler).

Invariants: the shells hold no policy of their own; every error leaving a
`Call` is a `convo.errors` class carrying the request id and attempt count;
a stream is retried only while no event has been delivered.
"""

from __future__ import annotations

import logging
import random as _random
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import httpx

from convo._events import Finished, StreamEvent
from convo._targets import Target
from convo._turns import PartialTurn
from convo.client._core import (
    GiveUp,
    Response,
    RetryConfig,
    attempt_timeout,
    build_request,
    classify,
    endpoint_url,
    kept_headers,
    load_body,
    parse_retry_after,
    redirect_error,
    request_id_of,
    retry_decision,
    strip_query,
    timeout_error,
)
from convo.client._errors import adding
from convo.client._protocol import Assembler, WireFormat
from convo.client._sse import BodyDecoder, SSEParser
from convo.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConvoError,
    DecodeError,
    ResponseTooLargeError,
    StreamError,
    StreamInterruptedError,
)
from convo.wire._format import wire_for
from convo.wire._shared._stream import parse_chunk

__all__ = ["Call", "Settings", "StreamFold", "default_wire", "logger", "prefetched"]

logger = logging.getLogger("convo.client")

_NOT_RETRYABLE_STREAM_ERRORS = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "BAD_REQUEST",
        "INVALID_PARAMETER_VALUE",
    }
)


@attrs.frozen(kw_only=True)
class Settings:
    """A client's resolved configuration (no credentials: those live in `auth`)."""

    host: str | None
    base_url: str | None
    retry: RetryConfig
    timeout: httpx.Timeout
    idle_timeout: float
    deadline: float | None
    max_response_bytes: int
    max_line_bytes: int
    max_events: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    secrets: tuple[str, ...] = attrs.field(repr=False)


def default_wire(target: Target) -> WireFormat:
    """The wire format `target` speaks (`convo.wire.wire_for`)."""
    return wire_for(target)


def prefetched(response: httpx.Response) -> bytes | None:
    """The body of a response httpx already read (in-memory test responses), else None.

    Such a body is already decoded, so it is read as identity-encoded.
    """
    if not response.is_stream_consumed:
        return None
    try:
        return response.content
    except httpx.ResponseNotRead:
        return None


def _encoding(response: httpx.Response) -> str | None:
    if prefetched(response) is not None:
        return None
    value = response.headers.get("content-encoding")
    return value if isinstance(value, str) else None


class StreamFold:
    """Raw response bytes in, stream events out, then the final `Finished`."""

    def __init__(
        self,
        *,
        assembler: Assembler,
        settings: Settings,
        encoding: str | None,
        request_id: str | None,
        attempts: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._assembler = assembler
        self._clock = clock
        self._idle_timeout = settings.idle_timeout
        self._last_event = clock()
        self._decoder = BodyDecoder(encoding, max_bytes=settings.max_response_bytes)
        self._sse = SSEParser(
            max_line_bytes=settings.max_line_bytes, max_events=settings.max_events
        )
        self._request_id = request_id
        self._attempts = attempts
        self.done = False
        """`[DONE]` arrived; nothing after it is read."""
        self.terminal: Finished | None = None
        self.delivered = False
        """At least one event was handed to the caller (no retry after this)."""
        self._pending: ConvoError | None = None

    def raise_pending(self) -> None:
        """Raise an error that arrived after events the caller has now been given."""
        if self._pending is not None:
            error, self._pending = self._pending, None
            raise error

    def feed(self, raw: bytes) -> list[StreamEvent]:
        """Events completed by `raw` (still compressed, split anywhere)."""
        try:
            return self._feed(self._decoder.decode(raw))
        except ConvoError as exc:
            raise adding(
                exc, request_id=self._request_id, attempts=self._attempts
            ) from exc.__cause__

    def _feed(self, pieces: list[bytes]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for piece in pieces:
            for event in self._sse.feed(piece):
                self._last_event = self._clock()
                if self.done:
                    break
                chunk = parse_chunk(event, limit=self._sse.max_line_bytes)
                if chunk is None:
                    self.done = True
                    break
                try:
                    items = self._assembler.feed_chunk(chunk)
                except ConvoError as exc:
                    if not out:
                        raise
                    # Deliver what arrived first; the error follows right after.
                    self._pending = adding(
                        exc, request_id=self._request_id, attempts=self._attempts
                    )
                    self.delivered = True
                    return out
                for item in items:
                    if isinstance(item, Finished):
                        self.terminal = item
                    else:
                        out.append(item)
        if out:
            self.delivered = True
        return out

    def check_idle(self) -> None:
        """Raise `APITimeoutError` once no event arrived for `idle_timeout` seconds.

        The socket's read timeout catches a silent server; this catches one
        that keeps the connection busy without progress (only keep-alive
        comments, or a line trickled byte by byte), which would otherwise hold
        a stream without a deadline forever.
        """
        silent = self._clock() - self._last_event
        if silent > self._idle_timeout:
            raise APITimeoutError(
                f"The stream sent no event for {silent:.1f} s, more than its "
                f"idle timeout of {self._idle_timeout:g} s",
                partial=self.partial(),
                request_id=self._request_id,
                attempts=self._attempts,
                received="<keep-alive comments or an unfinished line only>",
                fix="Retry the request, or raise the client's idle_timeout for "
                "models that think long between events.",
            )

    def partial(self) -> PartialTurn | None:
        """What arrived so far, as a `PartialTurn` (None if it does not decode)."""
        return self._assembler.partial()

    def end(self) -> Finished:
        """The `Finished` event after EOF or `[DONE]`.

        Raises:
            StreamInterruptedError: the stream ended before its finish, even
                cleanly (`[DONE]` without a finish reason); `.partial` holds
                what arrived.
        """
        try:
            if not self.done:
                self._feed(self._decoder.flush())
            turn = self._assembler.finish()
        except ConvoError as exc:
            raise adding(
                exc, request_id=self._request_id, attempts=self._attempts
            ) from exc.__cause__
        return Finished(finish_reason=turn.finish_reason, turn=turn)

    def interrupted(self, error: APIError) -> APIError:
        """`error` (a drop or a timeout after delivery) carrying the partial turn."""
        if isinstance(error, StreamError):
            return error
        partial = self.partial()
        if isinstance(error, APITimeoutError):
            copy = adding(error, partial=partial)
            assert isinstance(copy, APITimeoutError)  # noqa: S101 - same class
            return copy
        interrupted = StreamInterruptedError(
            "The connection dropped in the middle of the stream",
            partial=partial,
            error_type="connection_dropped",
            request_id=self._request_id,
            attempts=self._attempts,
            fix="Retry the request; what arrived is in .partial and must not "
            "be stored as a complete answer.",
        )
        interrupted.__cause__ = error
        return interrupted


class Call:
    """The state of one logical request across its attempts."""

    def __init__(
        self,
        payload: Mapping[str, Any],
        *,
        target: Target,
        wire: WireFormat | None,
        settings: Settings,
        stream: bool,
        clock: Callable[[], float],
        random: Callable[[], float] = _random.random,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.payload = payload
        self.target = target
        self.wire = wire if wire is not None else default_wire(target)
        self.settings = settings
        self.stream = stream
        self._clock = clock
        self._random = random
        self._wall_clock = wall_clock
        self.started = clock()
        self.attempt = 0
        self.request_id: str | None = None
        self.url = endpoint_url(
            target=target,
            host=settings.host,
            base_url=settings.base_url,
        )
        self._safe_url = strip_query(self.url)

    # ------------------------------------------------------------ deadline

    def elapsed(self) -> float:
        """Seconds since the call began."""
        return self._clock() - self.started

    def remaining(self) -> float | None:
        """Seconds left before the total deadline (None: no deadline)."""
        if self.settings.deadline is None:
            return None
        return self.settings.deadline - self.elapsed()

    def deadline_error(self, fold: StreamFold | None = None) -> APITimeoutError:
        """The `APITimeoutError` for a passed deadline, with the partial turn if any."""
        details: dict[str, Any] = {}
        if fold is not None:
            details["partial"] = fold.partial()
        return timeout_error(
            deadline=self.settings.deadline,
            attempts=self.attempt,
            request_id=self.request_id,
            **details,
        )

    def check_deadline(self, fold: StreamFold | None = None) -> None:
        """Raise `APITimeoutError` (with the partial turn, if any) past the deadline,
        or past the stream's idle timeout (no event, only keep-alives)."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise self.deadline_error(fold)
        if fold is not None:
            fold.check_idle()

    # ------------------------------------------------------------ attempts

    def next_request(self) -> httpx.Request:
        """The request of the next attempt.

        Raises:
            APITimeoutError: the deadline passed already.
        """
        self.attempt += 1
        self.check_deadline()
        timeout = self.settings.timeout
        if self.stream:
            timeout = httpx.Timeout(
                connect=timeout.connect,
                read=self.settings.idle_timeout,
                write=timeout.write,
                pool=timeout.pool,
            )
        logger.debug("POST %s attempt %d", self._safe_url, self.attempt)
        return build_request(
            self.payload,
            url=self.url,
            stream=self.stream,
            attempt=self.attempt,
            timeout=attempt_timeout(timeout, self.remaining()),
            headers=self.settings.headers,
        )

    def head(self, response: httpx.Response) -> bool:
        """Take a response's status line and headers; True when it is a success.

        Raises:
            UnexpectedRedirectError: a 3xx (never followed).
        """
        self.request_id = request_id_of(response.headers)
        logger.debug(
            "POST %s status %d attempt %d",
            self._safe_url,
            response.status_code,
            self.attempt,
        )
        kind = classify(response.status_code)
        if kind == "redirect":
            raise redirect_error(
                response.status_code, response.headers, attempts=self.attempt
            )
        return kind == "ok"

    def body_decoder(self, response: httpx.Response) -> BodyDecoder:
        """A bounded decoder for this response's body."""
        return BodyDecoder(
            _encoding(response),
            max_bytes=self.settings.max_response_bytes,
        )

    def stream_fold(self, response: httpx.Response) -> StreamFold:
        """The fold for a successful streaming response."""
        return StreamFold(
            assembler=self.wire.StreamAssembler(target=self.target),
            settings=self.settings,
            encoding=_encoding(response),
            request_id=self.request_id,
            attempts=self.attempt,
            clock=self._clock,
        )

    def success(self, response: httpx.Response, body: bytes) -> Response:
        """The decoded `Response` of a successful non-streamed attempt."""
        try:
            raw = load_body(body)
            turn = self.wire.decode_response(raw, target=self.target)
        except (DecodeError, ResponseTooLargeError) as exc:
            # Which call it was matters to whoever reads the log: say so.
            raise adding(
                exc, request_id=self.request_id, attempts=self.attempt
            ) from exc.__cause__
        return Response(
            turn=turn,
            raw=raw,
            request_id=self.request_id,
            attempts=self.attempt,
            status=response.status_code,
            headers=kept_headers(response.headers),
        )

    def _wait_or_raise(
        self,
        error: APIError,
        status: int | None,
        headers: httpx.Headers | None,
        body: bytes = b"",
    ) -> float:
        decision = retry_decision(
            self.attempt,
            status,
            headers,
            self.elapsed(),
            self.settings.retry,
            now=self._wall_clock(),
            random=self._random,
            deadline=self.settings.deadline,
            body=body,
        )
        if isinstance(decision, GiveUp):
            logger.debug(
                "POST %s giving up after attempt %d: %s",
                self._safe_url,
                self.attempt,
                decision.reason,
            )
            raise error
        logger.debug(
            "POST %s retry after attempt %d in %.3f s (%s)",
            self._safe_url,
            self.attempt,
            decision.wait,
            decision.reason,
        )
        return decision.wait

    def after_status(self, response: httpx.Response, body: bytes) -> float:
        """Seconds to wait before retrying an error response, or raise its error."""
        hint = parse_retry_after(response.headers, now=self._wall_clock())
        error = self.wire.decode_error(
            response.status_code,
            body,
            request_id=self.request_id,
            attempts=self.attempt,
            retry_after=hint,
        )
        return self._wait_or_raise(error, response.status_code, response.headers, body)

    def after_failure(self, error: APIError, fold: StreamFold | None = None) -> float:
        """Seconds to wait before retrying after a failure, or raise the error.

        A failure after a stream delivered an event is never retried: it is
        raised carrying the partial turn.
        """
        stale = getattr(error, "attempts", None) != self.attempt or (
            getattr(error, "request_id", None) is None and self.request_id is not None
        )
        if stale:
            fresh = adding(error, attempts=self.attempt, request_id=self.request_id)
            assert isinstance(fresh, APIError)  # noqa: S101 - same class
            error = fresh
        if fold is not None and fold.delivered:
            raise fold.interrupted(error)
        if isinstance(error, StreamError):
            if error.error_type in _NOT_RETRYABLE_STREAM_ERRORS:
                raise error
        elif not isinstance(error, APIConnectionError):
            raise error
        if fold is not None:
            # The stream had begun (a 200 arrived): giving up says so, with .partial.
            error = fold.interrupted(error)
        return self._wait_or_raise(error, None, None)

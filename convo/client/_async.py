"""`AsyncClient`: the asyncio shell over the sans-I/O core.

The async twin of `Client` (see `convo.client._sync`): same options, same
`Call` deciding everything; only the waiting is awaited. Each read is bounded
by the remaining deadline (`anyio.fail_after`), so a trickling server cannot
hold a call past it; cancellation closes the response.
Invariant: every response is closed, whatever happens (no connection is left
checked out), and every httpx exception leaves as a convo error.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import anyio
import httpx

from convo._events import StreamEvent
from convo._targets import Target
from convo.client._call import Call, StreamFold, prefetched
from convo.client._config import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_EVENTS,
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    describe,
    resolve,
)
from convo.client._core import DEFAULT_TIMEOUT, Response, RetryConfig
from convo.client._errors import install_log_redaction, scrub, translating
from convo.client._protocol import WireFormat
from convo.errors import APIError, ConvoError

__all__ = ["AsyncClient"]


class AsyncClient:
    """The asyncio twin of `Client`: `async with`, `await send`, `async for ... in stream`.

    Args:
        host: the Databricks workspace URL (default: `DATABRICKS_HOST`).
        token: a bearer token (default: `DATABRICKS_TOKEN`).
        base_url: an OpenAI-style base URL instead of a Databricks host.
        auth: any `httpx.Auth` (e.g. `OAuthM2M`) instead of a token.
        headers: extra request headers (their values are treated as secrets).
        transport: an httpx transport (tests pass `httpx.MockTransport`).
        http_client: an httpx client to use; the caller keeps ownership.
        retry: the retry policy.
        timeout: httpx timeouts per attempt (read is the idle timeout).
        idle_timeout: the longest silence inside a stream, in seconds.
        deadline: the total seconds for one call, across attempts.
        sleep: how to wait between attempts (injectable for tests).
        clock: a monotonic clock for the deadline.
        max_response_bytes: the bound on a decompressed response body.
        max_line_bytes: the bound on one SSE line (and one event's data).
        max_events: the bound on a stream's events.
        environ: the environment to read defaults from (default `os.environ`).
    """

    def __init__(
        self,
        *,
        host: str | None = None,
        token: str | None = None,
        base_url: str | None = None,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        retry: RetryConfig = RetryConfig(),  # noqa: B008 - frozen value
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        deadline: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = random.random,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_events: int = DEFAULT_MAX_EVENTS,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._settings, self._auth = resolve(
            host=host,
            token=token,
            base_url=base_url,
            auth=auth,
            headers=headers,
            retry=retry,
            timeout=timeout,
            idle_timeout=idle_timeout,
            deadline=deadline,
            max_response_bytes=max_response_bytes,
            max_line_bytes=max_line_bytes,
            max_events=max_events,
            environ=environ,
        )
        install_log_redaction()
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport, follow_redirects=False, timeout=DEFAULT_TIMEOUT
        )
        self._sleep = sleep
        self._clock = clock
        self._random = random

    def __repr__(self) -> str:
        return describe("AsyncClient", self._settings, self._auth)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the httpx client if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    # ----------------------------------------------------------------- internals

    def _call(
        self,
        payload: Mapping[str, Any],
        target: Target,
        wire: WireFormat | None,
        *,
        stream: bool,
    ) -> Call:
        return Call(
            payload,
            target=target,
            wire=wire,
            settings=self._settings,
            stream=stream,
            clock=self._clock,
            random=self._random,
        )

    def _translating(self, call: Call) -> Any:
        return translating(
            secrets=self._secrets(), attempts=call.attempt, request_id=call.request_id
        )

    def _secrets(self) -> tuple[str, ...]:
        getter = getattr(self._auth, "secrets", None)
        live = tuple(getter()) if callable(getter) else ()
        return (*self._settings.secrets, *live)

    async def _bounded(
        self, call: Call, step: Awaitable[Any], fold: StreamFold | None = None
    ) -> Any:
        left = call.remaining()
        if left is None:
            return await step
        try:
            with anyio.fail_after(max(left, 0.0)):
                return await step
        except TimeoutError:
            raise call.deadline_error(fold) from None

    async def _open(self, call: Call) -> httpx.Response:
        request = call.next_request()
        with self._translating(call):
            send = self._http.send(
                request, stream=True, auth=self._auth, follow_redirects=False
            )
            response: httpx.Response = await self._bounded(call, send)
            return response

    async def _next(
        self, call: Call, chunks: AsyncIterator[bytes], fold: StreamFold | None = None
    ) -> bytes | None:
        try:
            raw: bytes = await self._bounded(call, anext(chunks), fold)
        except StopAsyncIteration:
            return None
        return raw

    @staticmethod
    def _chunks(response: httpx.Response) -> AsyncIterator[bytes]:
        body = prefetched(response)
        if body is None:
            return response.aiter_raw()

        async def once() -> AsyncIterator[bytes]:
            yield body

        return once()

    async def _read(self, call: Call, response: httpx.Response) -> bytes:
        decoder = call.body_decoder(response)
        pieces: list[bytes] = []
        chunks = self._chunks(response)
        with self._translating(call):
            while (raw := await self._next(call, chunks)) is not None:
                pieces.extend(decoder.decode(raw))
                call.check_deadline()
            pieces.extend(decoder.flush())
        return b"".join(pieces)

    # ----------------------------------------------------------------- API

    async def send(
        self,
        payload: Mapping[str, Any],
        *,
        target: Target,
        wire: WireFormat | None = None,
    ) -> Response:
        """Send a (non-streaming) request and decode the answer, retrying as configured.

        Args:
            payload: the request body, e.g. from `convo.wire.chat.encode_request`.
            target: the target it is for (names the endpoint, picks the wire).
            wire: the wire format (default: the target's, `convo.wire.chat`).

        Raises:
            APIError: a subclass from `convo.errors` saying what failed.
            DecodeError: the success body is not a response of the wire format.
        """
        call = self._call(payload, target, wire, stream=False)
        try:
            return await self._send(call)
        except ConvoError as exc:
            scrub(exc, self._secrets())
            raise

    async def _send(self, call: Call) -> Response:
        while True:
            try:
                response = await self._open(call)
                try:
                    ok = call.head(response)
                    body = await self._read(call, response)
                finally:
                    await response.aclose()
            except APIError as exc:
                await self._sleep(call.after_failure(exc))
                continue
            if ok:
                return call.success(response, body)
            await self._sleep(call.after_status(response, body))

    async def stream(
        self,
        payload: Mapping[str, Any],
        *,
        target: Target,
        wire: WireFormat | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Send a streaming request; yield events as they arrive, `Finished` last.

        Retries happen only before the first event is yielded. Close the
        iterator (`contextlib.aclosing`) or exhaust it to release the connection.

        Raises:
            StreamError: an error event arrived, or (`StreamInterruptedError`) the
                stream ended or dropped early; `.partial` holds what arrived.
            APITimeoutError: the deadline or the idle timeout passed.
            APIError: the request failed before the stream began.
        """
        call = self._call(payload, target, wire, stream=True)
        inner = self._stream(call)
        try:
            async for event in inner:
                yield event
        except ConvoError as exc:
            scrub(exc, self._secrets())
            raise
        finally:
            # Closing this iterator must close the response now, not at GC.
            await inner.aclose()

    async def _stream(self, call: Call) -> AsyncGenerator[StreamEvent, None]:
        while True:
            fold: StreamFold | None = None
            try:
                response = await self._open(call)
                try:
                    if not call.head(response):
                        body = await self._read(call, response)
                        wait = call.after_status(response, body)
                    else:
                        fold = call.stream_fold(response)
                        chunks = self._chunks(response)
                        while not fold.done:
                            with self._translating(call):
                                raw = await self._next(call, chunks, fold)
                                if raw is None:
                                    break
                                events = fold.feed(raw)
                                call.check_deadline(fold)
                            for event in events:
                                yield event
                            fold.raise_pending()
                        yield fold.end()
                        return
                finally:
                    await response.aclose()
            except APIError as exc:
                wait = call.after_failure(exc, fold)
            await self._sleep(wait)

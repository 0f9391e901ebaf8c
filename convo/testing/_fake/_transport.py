"""httpx transports that answer from a `FakeEndpoint` (any `Answering`) without a network.

The body is delivered part by part, so a trickle waits between parts and a
dropped connection raises `httpx.RemoteProtocolError` mid-body, exactly where a
real peer closing the socket would surface in httpx. Invariant: the transport
adds nothing to the endpoint's answer; the loopback server delivers the same parts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx

from convo.testing._fake._raw import Answering, RawResponse

__all__ = ["AsyncFakeTransport", "FakeTransport"]

_DROPPED = (
    "peer closed connection without sending complete message body (injected fault)"
)


class _SyncParts(httpx.SyncByteStream):
    def __init__(self, endpoint: Answering, response: RawResponse) -> None:
        self._endpoint = endpoint
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        for index, part in enumerate(self._response.parts):
            if (
                self._response.drop_after is not None
                and index >= self._response.drop_after
            ):
                raise httpx.RemoteProtocolError(_DROPPED)
            if self._response.delay:
                self._endpoint.sleep(self._response.delay)
            yield part


class _AsyncParts(httpx.AsyncByteStream):
    def __init__(self, response: RawResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index, part in enumerate(self._response.parts):
            if (
                self._response.drop_after is not None
                and index >= self._response.drop_after
            ):
                raise httpx.RemoteProtocolError(_DROPPED)
            if self._response.delay:
                await asyncio.sleep(self._response.delay)
            yield part


def _headers(response: RawResponse) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers if k.lower() != "content-length"]


class FakeTransport(httpx.BaseTransport):
    """A sync httpx transport answering from a `FakeEndpoint`."""

    def __init__(self, endpoint: Answering) -> None:
        self.endpoint = endpoint

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer `request` from the endpoint."""
        body = request.read()
        response = self.endpoint.handle(
            request.method,
            request.url.raw_path.decode("ascii"),
            list(request.headers.multi_items()),
            body,
        )
        return httpx.Response(
            response.status,
            headers=_headers(response),
            stream=_SyncParts(self.endpoint, response),
        )


class AsyncFakeTransport(httpx.AsyncBaseTransport):
    """An async httpx transport answering from a `FakeEndpoint`."""

    def __init__(self, endpoint: Answering) -> None:
        self.endpoint = endpoint

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer `request` from the endpoint."""
        body = await request.aread()
        response = self.endpoint.handle(
            request.method,
            request.url.raw_path.decode("ascii"),
            list(request.headers.multi_items()),
            body,
        )
        return httpx.Response(
            response.status, headers=_headers(response), stream=_AsyncParts(response)
        )

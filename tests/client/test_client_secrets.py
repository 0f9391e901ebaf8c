"""No secret in a repr, a log record or an exception chain, on every path (S1, S2)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from convo.client import AsyncClient, BearerToken, Client, OAuthM2M
from convo.client._errors import SAFE_HEADERS, redact_headers
from convo.errors import ConvoError
from tests.client._client_support import (
    PAYLOAD,
    TARGET,
    Sleeps,
    completion,
    sse,
    stream_events,
)
from tests.client._loopback import Conn, Loopback, Req

SECRET = "FAKE-SECRET-xyz"
BASE = f"https://api.example/v1?api-key={SECRET}"
HEADERS = {"x-api-key": SECRET}


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    collector = Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    caplog.set_level(logging.DEBUG)
    for name in ("convo", "convo.client", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    try:
        yield collector.records
        collector.records.extend(caplog.records)
        assert_clean_records(collector.records)
    finally:
        root.removeHandler(collector)


def assert_clean_records(records: list[logging.LogRecord]) -> None:
    assert records, "the paths under test must log something"
    for record in records:
        assert SECRET not in record.getMessage(), record.getMessage()
        assert SECRET not in repr(record.args)
        assert SECRET not in str(record.msg)
        assert record.exc_info is None or SECRET not in repr(record.exc_info[1])


def chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        current = stack.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        stack.extend(
            x for x in (current.__cause__, current.__context__) if x is not None
        )
    return seen


def assert_clean_error(exc: BaseException) -> None:
    for link in chain(exc):
        assert SECRET not in str(link), (type(link), str(link))
        assert SECRET not in repr(link), (type(link), repr(link))
        if isinstance(link, ConvoError):
            assert SECRET not in repr(link.details)


def run(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - every error class is inspected
        assert_clean_error(exc)


def redirect(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        307, headers={"location": f"https://elsewhere.example/x?key={SECRET}"}
    )


def leaky_connect(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot reach {request.url} with {request.headers}")


def leaky_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout(f"timed out on {request.url}")


def drop_mid_stream(request: httpx.Request) -> httpx.Response:
    def body() -> Iterator[bytes]:
        yield from stream_events()[:4]
        raise httpx.RemoteProtocolError(f"peer closed {request.url}")

    return httpx.Response(200, content=body())


def status_answer(status: int) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error_code": "E", "message": "m"})

    return answer


HANDLERS: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "success": lambda r: httpx.Response(200, json=completion()),
    **{
        f"status {s}": status_answer(s)
        for s in (400, 401, 403, 404, 409, 429, 500, 503, 529)
    },
    "rate limit hint too large": lambda r: httpx.Response(
        429, headers={"retry-after": "999"}
    ),
    "redirect": redirect,
    "error body echoing the url": lambda r: httpx.Response(
        404, json={"error_code": "NOT_FOUND", "message": f"no endpoint at {r.url}"}
    ),
    "connection error": leaky_connect,
    "timeout": leaky_timeout,
    "not json": lambda r: httpx.Response(200, content=b"not json"),
    "too large": lambda r: httpx.Response(200, content=b"x" * 5000),
    "stream error event": lambda r: httpx.Response(
        200,
        content=sse(
            {"choices": [{"index": 0, "delta": {"content": "hi"}}]},
            {"error": {"message": "boom"}},
        ),
    ),
    "stream drop": drop_mid_stream,
}


def secret_client(
    handler: Callable[[httpx.Request], httpx.Response], **options: Any
) -> Client:
    options.setdefault("token", SECRET)
    return Client(
        base_url=BASE,
        headers=HEADERS,
        transport=httpx.MockTransport(handler),
        sleep=Sleeps(),
        max_response_bytes=4096,
        **options,
    )


class TestNoSecretsAnywhere:
    @pytest.mark.parametrize("path", sorted(HANDLERS))
    def test_send_and_stream_on_every_path(self, path, records):
        client = secret_client(HANDLERS[path])
        assert SECRET not in repr(client)
        run(lambda: client.send(PAYLOAD, target=TARGET))
        run(lambda: list(client.stream(PAYLOAD, target=TARGET)))
        client.close()

    def test_the_token_reaches_the_server_but_nowhere_else(self, records):
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json=completion())

        with secret_client(handler) as client:
            client.send(PAYLOAD, target=TARGET)
        assert seen[0].headers["authorization"] == f"Bearer {SECRET}"
        assert seen[0].headers["x-api-key"] == SECRET
        assert seen[0].url.params["api-key"] == SECRET

    def test_oauth_client_secret_and_tokens_stay_hidden(self, records):
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oidc/v1/token":
                return httpx.Response(
                    200, json={"access_token": SECRET + "-tok", "expires_in": 3600}
                )
            return httpx.Response(
                401, json={"error_code": "UNAUTHENTICATED", "message": "no"}
            )

        auth = OAuthM2M(host="https://ws.example", client_id="id", client_secret=SECRET)
        assert SECRET not in repr(auth)
        client = secret_client(handler, token=None, auth=auth)
        assert SECRET not in repr(client)
        run(lambda: client.send(PAYLOAD, target=TARGET))
        client.close()

    def test_a_failing_token_endpoint_does_not_echo_the_secret(self, records):
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                400,
                json={"error": "invalid_client", "error_description": f"bad {SECRET}"},
            )

        auth = OAuthM2M(host="https://ws.example", client_id="id", client_secret=SECRET)
        with pytest.raises(ConvoError) as info:
            secret_client(handler, token=None, auth=auth).send(PAYLOAD, target=TARGET)
        assert_clean_error(info.value)

    def test_bearer_token_repr_hides_the_token(self):
        assert SECRET not in repr(BearerToken(SECRET))

    def test_async_paths(self, records):
        import anyio

        async def main() -> None:
            for handler in (
                HANDLERS["status 503"],
                HANDLERS["connection error"],
                HANDLERS["stream drop"],
            ):
                client = AsyncClient(
                    base_url=BASE,
                    token=SECRET,
                    headers=HEADERS,
                    transport=httpx.MockTransport(handler),
                    sleep=Sleeps().asleep,
                )
                assert SECRET not in repr(client)
                try:
                    async for _ in client.stream(PAYLOAD, target=TARGET):
                        pass
                except Exception as exc:  # noqa: BLE001
                    assert_clean_error(exc)
                await client.aclose()

        anyio.run(main)

    def test_real_sockets_with_httpcore_logging(self, records):
        def handler(request: Req, conn: Conn) -> None:
            if request.index == 0:
                conn.respond(503, b"{}", {"retry-after-ms": "1"})
            else:
                conn.respond(302, b"", {"location": f"http://127.0.0.1:1/?k={SECRET}"})

        with Loopback(handler) as loop:
            client = Client(
                base_url=f"{loop.url}/v1?api-key={SECRET}",
                token=SECRET,
                headers=HEADERS,
                sleep=Sleeps(),
            )
            loop.on_exit.append(client.close)
            run(lambda: client.send(PAYLOAD, target=TARGET))
            assert len(loop.requests) == 2
        assert any(r.name.startswith("httpcore") for r in records)
        assert any(r.name == "httpx" for r in records)


class TestHeaderRedactionInDebugLogs:
    """httpcore logs response headers at DEBUG; only `SAFE_HEADERS` keep their values."""

    def test_a_token_echoed_in_any_response_header_is_redacted(self, records):
        def handler(request: Req, conn: Conn) -> None:
            conn.respond(
                200,
                json.dumps(completion()).encode(),
                {"x-echo-token": SECRET, "X-Request-Id": "req-42"},
            )

        with Loopback(handler) as loop:
            client = Client(base_url=loop.url, token="tok-1234", sleep=Sleeps())
            loop.on_exit.append(client.close)
            client.send(PAYLOAD, target=TARGET)
        headers = [
            r.getMessage()
            for r in records
            if r.getMessage().startswith("receive_response_headers.complete")
        ]
        assert headers, "httpcore must have logged the response headers"
        assert "(b'x-echo-token', b'<redacted>')" in headers[0].lower()
        assert "b'req-42'" in headers[0]

    def test_safe_headers_keep_their_values_and_others_are_redacted(self) -> None:
        text = (
            "receive_response_headers.complete return_value=(b'HTTP/1.1', 200, b'OK',"
            " [(b'Content-Type', b'application/json'), (b'Set-Cookie', b'sid=FAKE'),"
            """ (b'x-quoted', b"it's FAKE"), (b'x-esc', b'a\\'FAKE')])"""
        )
        redacted = redact_headers(text)
        assert "FAKE" not in redacted
        assert "(b'Content-Type', b'application/json')" in redacted
        assert "(b'Set-Cookie', b'<redacted>')" in redacted

    def test_a_location_keeps_its_path_but_not_its_query(self) -> None:
        text = "x=[(b'location', b'https://h.example/p?key=FAKE&b=2')]"
        assert redact_headers(text) == (
            "x=[(b'location', b'https://h.example/p?<redacted>')]"
        )

    def test_the_allow_list_names_no_credential_header(self) -> None:
        assert not SAFE_HEADERS & {
            "authorization",
            "set-cookie",
            "x-api-key",
            "proxy-authorization",
            "www-authenticate",
        }

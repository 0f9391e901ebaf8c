"""The client against a byte-level HTTP server on loopback: real timing, drops, resets."""

from __future__ import annotations

import email.utils
import json
import math
import socket
import threading
import time
from typing import Any

import anyio
import pytest

from convo import TextDelta
from convo.client import AsyncClient, Client, RetryConfig
from convo.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RateLimitError,
    StreamError,
    StreamInterruptedError,
    UnexpectedRedirectError,
)
from tests.client._client_support import (
    PAYLOAD,
    TARGET,
    Sleeps,
    completion,
    final_turn,
    partial_of,
    stream_bytes,
    stream_events,
)
from tests.client._loopback import Conn, Loopback, Req

OK_BODY = json.dumps(completion()).encode()
JSON = {"content-type": "application/json", "x-request-id": "req-loop"}


def make(loop: Loopback, sleeps: Any = None, **options: Any) -> Client:
    options.setdefault("random", lambda: 0.0)
    client = Client(
        host=loop.url,
        token="dapi-loop",
        sleep=sleeps if sleeps is not None else Sleeps(),
        **options,
    )
    loop.on_exit.append(client.close)
    return client


def failing_then_ok(status: int, headers: dict[str, str], failures: int = 10):
    def handler(request: Req, conn: Conn) -> None:
        if request.index < failures:
            conn.respond(
                status, b'{"error_code":"X","message":"no"}', {**JSON, **headers}
            )
        else:
            conn.respond(200, OK_BODY, JSON)

    return handler


class TestRetriesOnTheWire:
    @pytest.mark.parametrize(
        ("headers", "expected"),
        [
            ({"retry-after-ms": "1500"}, 1.5),
            ({"retry-after": "2"}, 2.0),
            ({"retry-after-ms": "700", "retry-after": "5"}, 0.7),
        ],
    )
    def test_server_hints_are_the_waits(self, headers, expected):
        sleeps = Sleeps()
        with (
            Loopback(failing_then_ok(429, headers)) as loop,
            pytest.raises(RateLimitError),
        ):
            make(loop, sleeps).send(PAYLOAD, target=TARGET)
        assert len(loop.requests) == 3
        assert all(abs(w - expected) <= 0.1 * expected for w in sleeps.waits)
        assert len(sleeps.waits) == 2

    def test_an_http_date_three_seconds_ahead_is_honoured(self):
        sleeps = Sleeps()

        def handler(request: Req, conn: Conn) -> None:
            when = email.utils.formatdate(math.ceil(time.time()) + 3, usegmt=True)
            conn.respond(429, b"{}", {"retry-after": when})

        with Loopback(handler) as loop, pytest.raises(RateLimitError):
            make(loop, sleeps).send(PAYLOAD, target=TARGET)
        assert len(sleeps.waits) == 2
        assert all(2.0 <= w <= 4.0 for w in sleeps.waits)

    def test_a_real_wait_is_within_ten_percent_of_the_hint(self):
        with Loopback(
            failing_then_ok(503, {"retry-after-ms": "300"}, failures=1)
        ) as loop:
            response = make(loop, time.sleep).send(PAYLOAD, target=TARGET)
        assert response.attempts == 2
        gap = loop.requests[1].at - loop.requests[0].at
        assert 0.3 <= gap <= 0.33 + 0.02, gap

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
    def test_non_retryable_statuses_are_sent_exactly_once(self, status):
        with (
            Loopback(failing_then_ok(status, {})) as loop,
            pytest.raises(APIStatusError) as info,
        ):
            make(loop).send(PAYLOAD, target=TARGET)
        assert len(loop.requests) == 1
        assert info.value.status_code == status
        assert info.value.attempts == 1

    def test_a_hint_above_the_cap_is_one_attempt_with_retry_after(self):
        with (
            Loopback(failing_then_ok(429, {"retry-after": "121"})) as loop,
            pytest.raises(RateLimitError) as info,
        ):
            make(loop).send(PAYLOAD, target=TARGET)
        assert len(loop.requests) == 1
        assert info.value.retry_after == 121.0

    @pytest.mark.parametrize("status", [408, 409, 500, 502, 503, 529])
    def test_transient_statuses_are_retried_until_success(self, status):
        sleeps = Sleeps()
        with Loopback(failing_then_ok(status, {}, failures=2)) as loop:
            response = make(loop, sleeps).send(PAYLOAD, target=TARGET)
        assert response.attempts == 3
        assert sleeps.waits == [0.5, 1.0]
        assert response.request_id == "req-loop"

    def test_connection_refused_is_retried_then_raised(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sleeps = Sleeps()
        client = Client(host=f"http://127.0.0.1:{port}", token="t", sleep=sleeps)
        with client, pytest.raises(APIConnectionError) as info:
            client.send(PAYLOAD, target=TARGET)
        assert info.value.attempts == 3
        assert len(sleeps.waits) == 2

    def test_total_wall_time_stays_within_the_deadline(self):
        start = time.monotonic()
        with (
            Loopback(failing_then_ok(503, {"retry-after-ms": "400"})) as loop,
            pytest.raises(APIStatusError),
        ):
            make(loop, time.sleep, deadline=1.0, retry=RetryConfig(max_retries=5)).send(
                PAYLOAD, target=TARGET
            )
        assert time.monotonic() - start < 1.0
        assert len(loop.requests) == 3


def stream_handler(events: list[bytes], *, then: str = "end", fail_first: int = 1):
    """Stream `events` on the first `fail_first` requests, then `then`; later ones get all."""

    def handler(request: Req, conn: Conn) -> None:
        conn.start_stream()
        if request.index >= fail_first:
            conn.chunk(stream_bytes())
            conn.end_stream()
            return
        for event in events:
            conn.chunk(event)
        if then == "end":
            conn.end_stream()
        elif then == "reset":
            conn.reset()
        else:
            conn.close()

    return handler


ERROR_EVENT = b'data: {"error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'


class TestStreamsOnTheWire:
    def test_a_whole_stream_finishes_with_the_turn(self):
        with Loopback(stream_handler(stream_events(), fail_first=0)) as loop:
            events = list(make(loop).stream(PAYLOAD, target=TARGET))
        assert final_turn(events).text == "The average speed is 80 km/h."

    @pytest.mark.parametrize("deltas", [0, 1, 4])
    def test_an_error_event_after_n_deltas(self, deltas):
        events = [*stream_events()[:deltas], ERROR_EVENT]
        with Loopback(stream_handler(events)) as loop:
            stream = make(loop).stream(PAYLOAD, target=TARGET)
            if deltas == 0:
                assert final_turn(list(stream)).text == "The average speed is 80 km/h."
                assert len(loop.requests) == 2
                return
            with pytest.raises(StreamError) as info:
                list(stream)
        assert len(loop.requests) == 1
        assert info.value.error_type == "overloaded_error"
        assert info.value.request_id == "req-loop"
        assert partial_of(info.value).turn.text == (
            "The average speed" if deltas == 4 else ""
        )

    @pytest.mark.parametrize("how", ["reset", "close"])
    def test_drops_after_k_bytes_give_the_partial_turn_or_a_retry(self, how):
        data = stream_bytes()
        ends = [
            data.index(b"\n\n", i) + 2
            for i in range(len(data))
            if data.startswith(b"data:", i)
        ]
        for k in [5, ends[0] - 1, ends[0], ends[2] + 7, ends[3], ends[4] - 3]:
            with Loopback(stream_handler([data[:k]], then=how)) as loop:
                stream = make(loop).stream(PAYLOAD, target=TARGET)
                if k < ends[0]:
                    assert final_turn(list(stream)).blocks
                    assert len(loop.requests) == 2, k
                    continue
                with pytest.raises(StreamInterruptedError) as info:
                    list(stream)
            assert len(loop.requests) == 1, k
            delivered = sum(1 for e in ends if e <= k)
            expected = {
                1: "",
                2: "",
                3: "",
                4: "The average speed",
                5: "The average speed is 80 km/h.",
            }
            assert partial_of(info.value).turn.text == expected[delivered], k

    def test_headers_then_close_is_retried_then_interrupted(self):
        with Loopback(stream_handler([], then="close", fail_first=10)) as loop:
            with pytest.raises(StreamInterruptedError):
                list(make(loop).stream(PAYLOAD, target=TARGET))
            assert len(loop.requests) == 3

    def test_a_slow_trickle_ends_at_the_deadline_with_the_partial(self):
        stop = threading.Event()

        def trickle(request: Req, conn: Conn) -> None:
            conn.start_stream()
            conn.chunk(stream_events()[3])
            while not stop.is_set() and conn.chunk(b":"):
                time.sleep(0.1)

        start = time.monotonic()
        with Loopback(trickle) as loop:
            client = make(loop, deadline=1.0, idle_timeout=5.0)
            with pytest.raises(APITimeoutError) as info:
                list(client.stream(PAYLOAD, target=TARGET))
            stop.set()
        elapsed = time.monotonic() - start
        assert 1.0 <= elapsed <= 1.5
        assert partial_of(info.value).turn.text == "The average speed"

    def test_a_silent_server_trips_the_idle_timeout(self):
        def silent(request: Req, conn: Conn) -> None:
            conn.start_stream()
            conn.wait_closed(5)

        with Loopback(silent) as loop:
            client = make(loop, idle_timeout=0.3, retry=RetryConfig(max_retries=0))
            start = time.monotonic()
            with pytest.raises(APITimeoutError):
                list(client.stream(PAYLOAD, target=TARGET))
        assert time.monotonic() - start < 1.5

    def test_keep_alive_comments_alone_trip_the_idle_timeout_without_a_deadline(
        self,
    ):
        """A server that keeps the socket busy with comments but sends no event."""
        stop = threading.Event()

        def keep_alive(request: Req, conn: Conn) -> None:
            conn.start_stream()
            conn.chunk(stream_events()[3])
            while not stop.is_set() and conn.chunk(b": ping\n\n"):
                time.sleep(0.05)

        start = time.monotonic()
        with Loopback(keep_alive) as loop:
            client = make(loop, deadline=None, idle_timeout=0.5)
            with pytest.raises(APITimeoutError, match="no event for") as info:
                list(client.stream(PAYLOAD, target=TARGET))
            stop.set()
        assert time.monotonic() - start < 2.0
        assert partial_of(info.value).turn.text == "The average speed"
        assert len(loop.requests) == 1

    def test_keep_alives_between_events_within_the_idle_timeout_are_fine(self):
        def slow_but_alive(request: Req, conn: Conn) -> None:
            conn.start_stream()
            for event in stream_events():
                conn.chunk(b": ping\n\n")
                time.sleep(0.05)
                conn.chunk(event)
            conn.end_stream()

        with Loopback(slow_but_alive) as loop:
            client = make(loop, idle_timeout=0.5)
            events = list(client.stream(PAYLOAD, target=TARGET))
        assert final_turn(events).text == "The average speed is 80 km/h."

    def test_a_trickled_non_streamed_body_ends_at_the_deadline(self):
        def trickle(request: Req, conn: Conn) -> None:
            conn.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
            while conn.send(b" "):
                time.sleep(0.1)

        start = time.monotonic()
        with Loopback(trickle) as loop, pytest.raises(APITimeoutError):
            make(loop, deadline=0.8).send(PAYLOAD, target=TARGET)
        assert time.monotonic() - start <= 1.3


class TestAsyncOnTheWire:
    def test_an_async_slow_trickle_ends_at_the_deadline(self):
        def trickle(request: Req, conn: Conn) -> None:
            conn.start_stream()
            while conn.chunk(b":"):
                time.sleep(0.1)

        async def main(url: str) -> None:
            async with AsyncClient(host=url, token="t", deadline=1.0) as client:
                async for _ in client.stream(PAYLOAD, target=TARGET):
                    pass

        start = time.monotonic()
        with Loopback(trickle) as loop, pytest.raises(APITimeoutError):
            anyio.run(main, loop.url)
        assert 1.0 <= time.monotonic() - start <= 1.4

    def test_cancelling_a_stream_leaves_no_connection_checked_out(self):
        def stall(request: Req, conn: Conn) -> None:
            conn.start_stream()
            conn.chunk(stream_events()[3])
            conn.wait_closed(5)

        state: dict[str, Any] = {}

        async def main(url: str) -> None:
            async with AsyncClient(host=url, token="t") as client:
                with anyio.move_on_after(0.5) as scope:
                    async for event in client.stream(PAYLOAD, target=TARGET):
                        state.setdefault("first", event)
                state["cancelled"] = scope.cancelled_caught
                pool = client._http._transport._pool  # type: ignore[attr-defined]
                state["requests"] = len(pool._requests)
                state["busy"] = [
                    c for c in pool.connections if not (c.is_idle() or c.is_closed())
                ]

        with Loopback(stall) as loop:
            anyio.run(main, loop.url)
            assert loop.closed_by_client.wait(2)
        assert state["first"] == TextDelta(text="The average speed")
        assert state["cancelled"] is True
        assert state["requests"] == 0
        assert state["busy"] == []

    def test_closing_an_async_stream_early_releases_the_connection(self):
        def stall(request: Req, conn: Conn) -> None:
            conn.start_stream()
            conn.chunk(stream_events()[3])
            conn.wait_closed(5)

        state: dict[str, Any] = {}

        async def main(url: str) -> None:
            async with AsyncClient(host=url, token="t") as client:
                stream = client.stream(PAYLOAD, target=TARGET)
                state["first"] = await anext(stream)
                await stream.aclose()  # type: ignore[attr-defined]
                pool = client._http._transport._pool  # type: ignore[attr-defined]
                state["requests"] = len(pool._requests)
                state["busy"] = [
                    c for c in pool.connections if not (c.is_idle() or c.is_closed())
                ]

        with Loopback(stall) as loop:
            anyio.run(main, loop.url)
            assert loop.closed_by_client.wait(2)
        assert state["first"] == TextDelta(text="The average speed")
        assert (state["requests"], state["busy"]) == (0, [])

    def test_breaking_out_of_a_sync_stream_releases_the_connection(self):
        def stall(request: Req, conn: Conn) -> None:
            conn.start_stream()
            conn.chunk(stream_events()[3])
            conn.wait_closed(5)

        with Loopback(stall) as loop:
            client = make(loop)
            stream = client.stream(PAYLOAD, target=TARGET)
            assert next(stream) == TextDelta(text="The average speed")
            stream.close()  # type: ignore[attr-defined]
            pool = client._http._transport._pool  # type: ignore[attr-defined]
            assert len(pool._requests) == 0
            assert all(c.is_idle() or c.is_closed() for c in pool.connections)
            assert loop.closed_by_client.wait(2)


class TestRedirectsOnTheWire:
    @pytest.mark.parametrize("status", [301, 302, 307, 308])
    @pytest.mark.parametrize("where", ["other origin", "same origin"])
    def test_no_redirect_is_followed_and_no_credential_leaves(self, status, where):
        def other_handler(request: Req, conn: Conn) -> None:
            conn.respond(200, OK_BODY, JSON)

        with Loopback(other_handler) as other:

            def handler(request: Req, conn: Conn) -> None:
                base = other.url if where == "other origin" else ""
                conn.respond(status, b"", {"location": f"{base}/elsewhere?x=1"})

            with (
                Loopback(handler) as loop,
                pytest.raises(UnexpectedRedirectError) as info,
            ):
                make(loop).send(PAYLOAD, target=TARGET)
            assert len(loop.requests) == 1
        assert other.requests == []
        assert info.value.location is not None
        assert "x=1" not in info.value.location

"""Client.stream over httpx.MockTransport: events, retries before the first delta, partials."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest

import convo.wire.anthropic as anthropic
from convo import Finished, ReasoningDelta, SummaryText, Target, TextDelta, UsageUpdate
from convo.client import RetryConfig
from convo.errors import (
    APIConnectionError,
    ResponseTooLargeError,
    ServerError,
    StreamError,
    StreamInterruptedError,
)
from tests.client._client_support import (
    PAYLOAD,
    TARGET,
    FakeWire,
    Sleeps,
    async_client,
    client,
    final_turn,
    partial_of,
    sse,
    stream_bytes,
    stream_events,
)

SSE_HEADERS = {"content-type": "text/event-stream", "x-request-id": "req-s"}


def sse_response(*pieces: bytes, error: Exception | None = None) -> httpx.Response:
    def body() -> Iterator[bytes]:
        yield from pieces
        if error is not None:
            raise error

    return httpx.Response(200, content=body(), headers=SSE_HEADERS)


class Script:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        response: httpx.Response = answer() if callable(answer) else answer
        return response


class TestStreamSuccess:
    def test_yields_typed_events_and_finishes_with_the_turn(self):
        script = Script(sse_response(stream_bytes()))
        events = list(client(script).stream(PAYLOAD, target=TARGET))
        kinds = [type(e) for e in events]
        assert kinds[-1] is Finished
        assert ReasoningDelta in kinds
        assert TextDelta in kinds
        turn = final_turn(events)
        assert turn.text == "The average speed is 80 km/h."
        assert turn.reasoning[0].parts[0] == SummaryText(
            text="Distance 120 km, time 1.5 h, so 80 km/h.", signature="SIG-OPAQUE-0001"
        )
        assert turn.usage is not None
        assert turn.usage.total_tokens == 141
        usage = [e for e in events if isinstance(e, UsageUpdate)]
        assert usage[-1].usage.total_tokens == 141

    def test_asks_for_an_event_stream(self):
        script = Script(sse_response(stream_bytes()))
        list(client(script).stream(PAYLOAD, target=TARGET))
        request = script.requests[0]
        assert request.headers["accept"] == "text/event-stream"
        assert json.loads(request.content)["stream"] is True

    def test_one_byte_pieces_give_the_same_events(self):
        data = stream_bytes()
        whole = list(client(Script(sse_response(data))).stream(PAYLOAD, target=TARGET))
        pieces = [data[i : i + 1] for i in range(len(data))]
        split = list(
            client(Script(sse_response(*pieces))).stream(PAYLOAD, target=TARGET)
        )
        assert split == whole

    def test_a_gzip_encoded_stream_is_decoded(self):
        body = gzip.compress(stream_bytes())
        response = httpx.Response(
            200,
            content=iter([body[:50], body[50:]]),
            headers={**SSE_HEADERS, "content-encoding": "gzip"},
        )
        events = list(client(Script(response)).stream(PAYLOAD, target=TARGET))
        assert final_turn(events).text == "The average speed is 80 km/h."

    def test_done_without_a_finish_reason_raises_with_the_partial(self):
        script = Script(sse_response(sse({"t": "half"}, "[DONE]")))
        with pytest.raises(StreamInterruptedError) as info:
            list(client(script).stream(PAYLOAD, target=TARGET, wire=FakeWire()))
        assert partial_of(info.value).turn.text == "half"
        assert info.value.error_type == "incomplete_stream"
        assert info.value.request_id == "req-s"

    def test_nothing_after_done_is_read(self):
        script = Script(
            sse_response(sse({"t": "a"}, {"finish": "stop"}, "[DONE]", {"t": "b"}))
        )
        events = list(client(script).stream(PAYLOAD, target=TARGET, wire=FakeWire()))
        assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta(text="a")]


class TestStreamRetries:
    def test_an_error_status_before_the_stream_is_retried(self):
        script = Script(httpx.Response(503), sse_response(stream_bytes()))
        events = list(client(script).stream(PAYLOAD, target=TARGET))
        assert len(script.requests) == 2
        assert final_turn(events).blocks

    def test_an_error_event_before_any_delta_is_retried(self):
        overloaded = sse_response(sse({"error": {"type": "overloaded_error"}}))
        script = Script(overloaded, sse_response(sse({"t": "ok"}, {"finish": "stop"})))
        events = list(client(script).stream(PAYLOAD, target=TARGET, wire=FakeWire()))
        assert len(script.requests) == 2
        assert final_turn(events).text == "ok"

    def test_a_non_retryable_error_event_is_raised_at_once(self):
        bad = sse_response(sse({"error": {"type": "invalid_request_error"}}))
        script = Script(bad, bad)
        with pytest.raises(StreamError):
            list(client(script).stream(PAYLOAD, target=TARGET, wire=FakeWire()))
        assert len(script.requests) == 1

    def test_an_error_event_after_a_delta_raises_with_the_partial_and_no_retry(self):
        script = Script(
            sse_response(sse({"t": "Hel"}, {"error": {"type": "overloaded_error"}})),
            sse_response(sse({"t": "never"}, {"finish": "stop"})),
        )
        seen: list[Any] = []
        with pytest.raises(StreamError) as info:
            seen.extend(client(script).stream(PAYLOAD, target=TARGET, wire=FakeWire()))
        assert len(script.requests) == 1
        error = info.value
        assert partial_of(error).turn.text == "Hel"
        assert error.error_type == "overloaded_error"
        assert error.request_id == "req-s"

    def test_a_drop_after_a_delta_is_a_stream_interrupted_error_with_the_partial(self):
        events = stream_events()
        script = Script(
            sse_response(
                *events[:4], error=httpx.RemoteProtocolError("incomplete chunked read")
            ),
            sse_response(stream_bytes()),
        )
        with pytest.raises(StreamInterruptedError) as info:
            list(client(script).stream(PAYLOAD, target=TARGET))
        assert len(script.requests) == 1
        error = info.value
        assert partial_of(error).turn.text == "The average speed"
        assert error.attempts == 1
        assert isinstance(error.__cause__, APIConnectionError)
        assert isinstance(error.__cause__.__cause__, httpx.RemoteProtocolError)

    def test_a_drop_before_any_delta_is_retried(self):
        script = Script(
            sse_response(error=httpx.RemoteProtocolError("closed")),
            sse_response(stream_bytes()),
        )
        events = list(client(script).stream(PAYLOAD, target=TARGET))
        assert len(script.requests) == 2
        assert final_turn(events).blocks

    def test_a_stream_that_ends_early_after_a_delta_is_interrupted(self):
        script = Script(sse_response(*stream_events()[:4]))
        with pytest.raises(StreamInterruptedError) as info:
            list(client(script).stream(PAYLOAD, target=TARGET))
        assert "finish_reason" in partial_of(info.value).missing

    def test_a_stream_that_keeps_ending_before_any_delta_gives_up_after_max_retries(
        self,
    ):
        empty = lambda: sse_response(b": keep-alive\n\n")  # noqa: E731
        script = Script(empty, empty, empty)
        sleeps = Sleeps()
        with pytest.raises(StreamInterruptedError) as info:
            list(client(script, sleeps).stream(PAYLOAD, target=TARGET))
        assert len(script.requests) == 3
        assert info.value.attempts == 3
        assert sleeps.waits == [0.5, 1.0]

    def test_an_error_status_after_retries_is_the_status_error(self):
        script = Script(httpx.Response(503), httpx.Response(503), httpx.Response(503))
        with pytest.raises(ServerError):
            list(client(script).stream(PAYLOAD, target=TARGET))


class TestStreamCaps:
    def test_too_many_events_is_refused(self):
        script = Script(sse_response(sse(*({"t": "x"} for _ in range(20)))))
        with pytest.raises(ResponseTooLargeError):
            list(
                client(script, max_events=10).stream(
                    PAYLOAD, target=TARGET, wire=FakeWire()
                )
            )

    def test_a_line_over_the_cap_is_refused(self):
        script = Script(sse_response(b"data: " + b"x" * 5000))
        with pytest.raises(ResponseTooLargeError) as info:
            list(client(script, max_line_bytes=1000).stream(PAYLOAD, target=TARGET))
        assert info.value.request_id == "req-s"

    def test_a_decompressed_stream_over_the_cap_is_refused(self):
        body = gzip.compress(b": " + b"x" * 100_000 + b"\n")
        response = httpx.Response(
            200,
            content=iter([body]),
            headers={**SSE_HEADERS, "content-encoding": "gzip"},
        )
        with pytest.raises(ResponseTooLargeError):
            list(
                client(Script(response), max_response_bytes=10_000).stream(
                    PAYLOAD, target=TARGET
                )
            )


class TestAsyncStream:
    def test_the_async_twin_streams_and_finishes(self):
        async def body() -> AsyncIterator[bytes]:
            for piece in stream_events():
                yield piece

        script = Script(
            httpx.Response(503), lambda: httpx.Response(200, content=body())
        )

        async def main() -> list[Any]:
            async with async_client(script, Sleeps()) as c:
                return [e async for e in c.stream(PAYLOAD, target=TARGET)]

        events = anyio.run(main)
        assert isinstance(events[-1], Finished)
        assert final_turn(events).text == "The average speed is 80 km/h."

    def test_an_async_drop_after_a_delta_raises_with_the_partial(self):
        async def body() -> AsyncIterator[bytes]:
            for piece in stream_events()[:4]:
                yield piece
            raise httpx.ReadError("reset")

        script = Script(lambda: httpx.Response(200, content=body()))

        async def main() -> None:
            async with async_client(script, Sleeps()) as c:
                async for _ in c.stream(PAYLOAD, target=TARGET):
                    pass

        with pytest.raises(StreamInterruptedError) as info:
            anyio.run(main)
        assert partial_of(info.value).turn.text == "The average speed"


class TestStreamCutAtEveryByte:
    def test_every_truncation_gives_a_turn_only_after_the_finish(self):
        """P3: cut at byte k and closed cleanly, a stream yields a Turn only if the
        finish arrived, else a typed error whose partial text is what fully arrived."""
        data = stream_bytes()
        finish_at = data.index(b'"finish_reason":"stop"')
        full = "The average speed is 80 km/h."
        texts: list[str] = []
        box: dict[str, bytes] = {}

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=iter([box["body"]]), headers=SSE_HEADERS)

        c = client(handler, retry=RetryConfig(max_retries=0))
        for k in range(0, len(data) + 1, 3):
            box["body"] = data[:k]
            try:
                turn = final_turn(list(c.stream(PAYLOAD, target=TARGET)))
            except StreamInterruptedError as exc:
                assert k < len(data)
                texts.append(partial_of(exc).turn.text)
            else:
                assert k > finish_at
                assert turn.text == full
                texts.append(full)
        assert texts == sorted(texts, key=len)
        assert all(full.startswith(t) for t in texts)


class TestAnthropicStream:
    def test_named_events_of_the_messages_api_assemble_into_the_turn(self):
        body = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "SIG"},
                {"type": "text", "text": "Hello there"},
            ],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 5},
        }
        data = anthropic.encode_sse(anthropic.message_events(body))
        script = Script(sse_response(data))
        target = Target(
            name="databricks-claude-opus-4-5", wire="anthropic", family="claude"
        )
        events = list(client(script).stream({"messages": []}, target=target))
        turn = final_turn(events)
        assert turn.text == "Hello there"
        assert turn.reasoning[0].parts[0] == SummaryText(text="hmm", signature="SIG")
        assert script.requests[0].url.path == "/serving-endpoints/anthropic/v1/messages"

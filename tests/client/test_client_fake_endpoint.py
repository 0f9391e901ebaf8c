"""The client against convo's own fake serving endpoint (transport and loopback server)."""

from __future__ import annotations

from typing import Any

import pytest

import convo
import convo.wire.chat as chat
from convo.client import Client
from convo.errors import RateLimitError, StreamError, StreamInterruptedError
from convo.testing.fake import FakeEndpoint, Fault, serve
from tests.client._client_support import Sleeps, final_turn, partial_of

TARGET_NAME = "databricks-claude-sonnet-4-5"


def payload(*, stream: bool = False) -> dict[str, Any]:
    target = convo.get_target(TARGET_NAME)
    body = chat.encode_request([convo.user("Hello fake endpoint")], target=target)
    return {**body, "stream": True} if stream else body


class TestAgainstTheFakeTransport:
    def test_send_and_stream_complete(self):
        endpoint = FakeEndpoint()
        target = convo.get_target(TARGET_NAME)
        with Client(
            host="https://fake", token="t", transport=endpoint.transport()
        ) as c:
            answer = c.send(payload(), target=target).turn
            events = list(c.stream(payload(stream=True), target=target))
        assert answer.text
        assert final_turn(events).text == answer.text

    def test_a_rate_limit_fault_is_waited_out(self):
        endpoint = FakeEndpoint(faults=[Fault.rate_limited(retry_after=1)])
        sleeps = Sleeps()
        target = convo.get_target(TARGET_NAME)
        with Client(
            host="https://fake", token="t", transport=endpoint.transport(), sleep=sleeps
        ) as c:
            response = c.send(payload(), target=target)
        assert response.attempts == 2
        assert sleeps.waits == [1.0]

    def test_a_hint_above_the_cap_surfaces(self):
        endpoint = FakeEndpoint(faults=[Fault.rate_limited(retry_after=500)])
        target = convo.get_target(TARGET_NAME)
        with (
            Client(host="https://fake", token="t", transport=endpoint.transport()) as c,
            pytest.raises(RateLimitError) as info,
        ):
            c.send(payload(), target=target)
        assert info.value.retry_after == 500.0
        assert info.value.error_code == "REQUEST_LIMIT_EXCEEDED"


class TestAgainstTheFakeServer:
    def test_a_mid_stream_drop_gives_the_partial_turn(self):
        endpoint = FakeEndpoint(faults=[Fault.drop(after_parts=1)])
        target = convo.get_target(TARGET_NAME)
        with serve(endpoint) as url, Client(host=url, token="t", sleep=Sleeps()) as c:
            with pytest.raises(StreamInterruptedError) as info:
                list(c.stream(payload(stream=True), target=target))
            assert len(endpoint.requests) == 1
        assert partial_of(info.value).turn.text == "You said: Hello "

    def test_a_mid_stream_error_event_gives_a_stream_error(self):
        endpoint = FakeEndpoint(faults=[Fault.error_event(after_parts=1)])
        target = convo.get_target(TARGET_NAME)
        with serve(endpoint) as url, Client(host=url, token="t", sleep=Sleeps()) as c:
            with pytest.raises(StreamError):
                list(c.stream(payload(stream=True), target=target))
            assert len(endpoint.requests) == 1

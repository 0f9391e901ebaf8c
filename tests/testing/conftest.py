"""Fixtures for the fake endpoint's tests: a manual clock, an endpoint, and a poster."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from convo.testing.fake import FakeEndpoint

SECRET = b"fake-test-secret"


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Post = Callable[..., httpx.Response]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def endpoint(clock: ManualClock) -> FakeEndpoint:
    return FakeEndpoint(secret=SECRET, clock=clock, sleep=lambda _s: None)


@pytest.fixture
def client(endpoint: FakeEndpoint) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=endpoint.transport(),
        base_url="https://fake.test",
        headers={"Authorization": "Bearer t0ken"},
    ) as http:
        yield http


@pytest.fixture
def post(client: httpx.Client) -> Post:
    """POST a JSON body to the OpenAI-style chat route (or `path`)."""

    def send(
        body: Any, *, path: str = "/serving-endpoints/chat/completions"
    ) -> httpx.Response:
        return client.post(path, json=body)

    return send

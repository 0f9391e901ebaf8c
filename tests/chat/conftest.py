"""Chat fixtures: a fake endpoint, a client on it, and stores on both databases."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import convo.store
from convo.client import Client
from convo.testing.fake import FakeEndpoint


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def chat_db_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fresh_database: Callable[[str, Path], str],
) -> str:
    """An upgraded database on each backend, shared by one module."""
    url = fresh_database(str(request.param), tmp_path_factory.mktemp("chat"))
    convo.store.upgrade(url)
    return url


@pytest.fixture
def tenant() -> str:
    """A tenant of this test alone."""
    return "chat-" + secrets.token_hex(6)


@pytest.fixture
def endpoint() -> FakeEndpoint:
    """A fresh fake serving endpoint."""
    return FakeEndpoint()


@pytest.fixture
def client(endpoint: FakeEndpoint) -> Iterator[Client]:
    """A client sending to the fake endpoint, waiting no real time between retries."""
    with Client(
        host="https://fake.convo.invalid",
        token="test-token",
        transport=endpoint.transport(),
        sleep=lambda _seconds: None,
    ) as c:
        yield c

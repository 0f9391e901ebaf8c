"""convo.client: send requests to Databricks serving endpoints or OpenAI-style APIs.

`Client` and `AsyncClient` are thin shells over a sans-I/O core: the core
builds each attempt's request, classifies the response and decides retries;
the shells only do I/O through httpx. Credentials: a bearer token, OAuth M2M
(`OAuthM2M`) or any `httpx.Auth`. Invariants: redirects are never followed,
every failure is a `convo.errors` class, and no secret reaches a repr, a log
record or an exception.

The retry decision (`_core.retry_decision`), the request builder and the SSE
parser are internals of the client: the shells use them, tests may import them
from their private modules, users configure retries through `RetryConfig`. A wire format is described by
`convo.wire.WireFormat` (the client needs only part of it).
"""

from __future__ import annotations

from convo.client._async import AsyncClient
from convo.client._auth import BearerToken, OAuthM2M
from convo.client._core import DEFAULT_TIMEOUT, Response, RetryConfig
from convo.client._sync import Client

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncClient",
    "BearerToken",
    "Client",
    "OAuthM2M",
    "Response",
    "RetryConfig",
]

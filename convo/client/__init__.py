"""convo.client: send requests to Databricks serving endpoints or OpenAI-style APIs.

`Client` and `AsyncClient` are thin shells over a sans-I/O core: the core
builds each attempt's request, classifies the response and decides retries;
the shells only do I/O through httpx. Credentials: a bearer token, OAuth M2M
(`OAuthM2M`) or any `httpx.Auth`. Invariants: redirects are never followed,
every failure is a `convo.errors` class, and no secret reaches a repr, a log
record or an exception.
"""

from __future__ import annotations

from convo.client._async import AsyncClient
from convo.client._auth import BearerToken, OAuthM2M
from convo.client._core import (
    DEFAULT_TIMEOUT,
    GiveUp,
    Response,
    Retry,
    RetryConfig,
    build_request,
    endpoint_url,
    parse_retry_after,
    retry_decision,
)
from convo.client._protocol import Assembler, WireFormat
from convo.client._sse import SSEEvent, SSEParser
from convo.client._sync import Client

__all__ = [
    "Client",
    "AsyncClient",
    "Response",
    "RetryConfig",
    "Retry",
    "GiveUp",
    "retry_decision",
    "parse_retry_after",
    "build_request",
    "endpoint_url",
    "DEFAULT_TIMEOUT",
    "BearerToken",
    "OAuthM2M",
    "WireFormat",
    "Assembler",
    "SSEParser",
    "SSEEvent",
]

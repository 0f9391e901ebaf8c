"""The sans-I/O client core: build a request, classify a response, decide a retry.

Everything here is a pure function of its arguments (time and randomness are
passed in), so `Client` and `AsyncClient` share it and differ only in how they
wait and read. Invariants:
- a request is never built with anything secret outside its headers, and no
  function here logs or formats a header;
- `retry_decision` retries only connection failures and 408, 409, 429, 5xx and
  529 (or what `x-should-retry` says), never past `max_retries`, never past the
  total deadline, and never sleeps longer than `max_retry_after`: a larger
  server hint surfaces the error instead;
- an unparseable `Retry-After` is ignored, never raised.
"""

from __future__ import annotations

import email.utils
import json
import math
import types
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import attrs
import httpx

from convo._json import canonical_bytes
from convo._targets import Target
from convo._turns import Turn
from convo.errors import (
    APITimeoutError,
    DecodeError,
    UnexpectedRedirectError,
)
from convo.wire._format import wire_for

__all__ = [
    "DEFAULT_TIMEOUT",
    "REQUEST_ID_HEADERS",
    "GiveUp",
    "Response",
    "Retry",
    "RetryConfig",
    "attempt_timeout",
    "backoff",
    "build_request",
    "classify",
    "endpoint_url",
    "kept_headers",
    "load_body",
    "parse_retry_after",
    "redirect_error",
    "request_id_of",
    "retry_decision",
    "strip_query",
    "timeout_error",
]

DEFAULT_TIMEOUT: Final = httpx.Timeout(300.0, connect=10.0)
"""Databricks runs a model for up to 297 s before answering; connect fails fast."""

REQUEST_ID_HEADERS: Final = ("x-request-id", "x-databricks-request-id", "request-id")
_KEPT_HEADERS: Final = frozenset(
    {
        *REQUEST_ID_HEADERS,
        "content-type",
        "served-model-name",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
    }
)
_RETRY_STATUSES: Final = frozenset({408, 409, 429})
_SPEND_LIMIT_WORDS: Final = ("spend limit", "spending limit", "insufficient_quota")
USER_AGENT: Final = "convo/0.1"


@attrs.frozen(kw_only=True)
class RetryConfig:
    """How failed attempts are retried. Use `attrs.evolve` for a changed copy."""

    max_retries: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    """Retries after the first attempt (2 means at most 3 attempts)."""
    initial_delay: float = 0.5
    """Backoff before the first retry, before jitter; doubles per retry."""
    max_delay: float = 8.0
    """Cap of the exponential backoff."""
    jitter: float = 0.25
    """The backoff is multiplied by `1 - jitter * random()`."""
    max_retry_after: float = 60.0
    """Server hints up to this many seconds are honoured; a larger one surfaces the error."""


@attrs.frozen(kw_only=True)
class Retry:
    """Retry after waiting `wait` seconds."""

    wait: float
    reason: str


@attrs.frozen(kw_only=True)
class GiveUp:
    """Do not retry; surface the error. `retry_after` is a hint too large to honour."""

    reason: str
    retry_after: float | None = None


def _header(headers: Mapping[str, str] | httpx.Headers | None, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    return value if isinstance(value, str) else None


def parse_retry_after(
    headers: Mapping[str, str] | httpx.Headers | None, *, now: float
) -> float | None:
    """The server's retry hint in seconds, or None when absent or unusable.

    `retry-after-ms` wins over `Retry-After`; `Retry-After` is float seconds or an
    HTTP date (relative to `now`, a POSIX time). Zero, negative, non-finite and
    unparseable values give None (the caller falls back to backoff).
    """
    raw_ms = _header(headers, "retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value > 0:
            return value
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
            value = when.timestamp() - now
        except (ValueError, TypeError, OverflowError, IndexError):
            return None
    return value if math.isfinite(value) and value > 0 else None


def backoff(attempt: int, config: RetryConfig, *, random: Callable[[], float]) -> float:
    """The jittered wait after failed attempt number `attempt` (1-based)."""
    exponent = min(attempt - 1, 1000)
    base = min(config.initial_delay * 2.0**exponent, config.max_delay)
    return base * (1 - config.jitter * random())


def _should_retry_header(
    headers: Mapping[str, str] | httpx.Headers | None,
) -> bool | None:
    value = (_header(headers, "x-should-retry") or "").strip().lower()
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def retry_decision(
    attempt: int,
    status: int | None,
    headers: Mapping[str, str] | httpx.Headers | None,
    elapsed: float,
    config: RetryConfig,
    *,
    now: float,
    random: Callable[[], float],
    deadline: float | None = None,
    body: bytes = b"",
) -> Retry | GiveUp:
    """Decide whether failed attempt number `attempt` (1-based) is retried.

    Args:
        attempt: the attempt that just failed, counting from 1.
        status: its HTTP status, or None for a connection failure.
        headers: its response headers, if any.
        elapsed: seconds since the logical request began.
        config: the retry configuration.
        now: the current POSIX time, for `Retry-After` dates.
        random: a source of floats in [0, 1) for jitter.
        deadline: the total seconds allowed across attempts, if any.
        body: the error body (a 429 spend-limit answer is never retried).
    """
    hint = parse_retry_after(headers, now=now) if status is not None else None
    if attempt > config.max_retries:
        return GiveUp(reason="retries exhausted", retry_after=hint)
    forced = _should_retry_header(headers) if status is not None else None
    if forced is False:
        return GiveUp(reason="x-should-retry: false")
    if forced is None and status is not None:
        if status not in _RETRY_STATUSES and status < 500:
            return GiveUp(reason=f"status {status} is not retryable")
        if status == 429 and hint is None:
            text = body[:65536].decode("utf-8", errors="replace").lower()
            if any(word in text for word in _SPEND_LIMIT_WORDS):
                return GiveUp(reason="spend limit reached")
    if hint is not None and hint > config.max_retry_after:
        return GiveUp(reason="server hint above max_retry_after", retry_after=hint)
    wait = hint if hint is not None else backoff(attempt, config, random=random)
    if deadline is not None and elapsed + wait >= deadline:
        return GiveUp(reason="the wait would pass the deadline", retry_after=hint)
    reason = "connection error" if status is None else f"status {status}"
    return Retry(wait=wait, reason=reason)


def endpoint_url(
    *, target: Target, host: str | None, base_url: str | None
) -> httpx.URL:
    """The URL a request for `target` goes to: the base (a Databricks `host`, or
    an OpenAI/Anthropic-style `base_url`) plus the route of the target's wire
    format (`WireFormat.endpoint_suffix`), the base's query string kept."""
    databricks = base_url is None
    root = host if base_url is None else base_url
    assert root is not None  # noqa: S101 - the shells resolve one of the two
    base = httpx.URL(root)
    suffix = wire_for(target).endpoint_suffix(target, databricks=databricks)
    path, mark, query = base.raw_path.partition(b"?")
    return base.copy_with(
        raw_path=path.rstrip(b"/") + suffix.encode("ascii") + mark + query
    )


def attempt_timeout(timeout: httpx.Timeout, remaining: float | None) -> httpx.Timeout:
    """`timeout` with every phase cut to the `remaining` seconds of the deadline."""
    if remaining is None:
        return timeout

    def cut(value: float | None) -> float:
        return max(0.001, remaining if value is None else min(value, remaining))

    return httpx.Timeout(
        connect=cut(timeout.connect),
        read=cut(timeout.read),
        write=cut(timeout.write),
        pool=cut(timeout.pool),
    )


def build_request(
    payload: Mapping[str, Any],
    *,
    url: httpx.URL,
    stream: bool,
    attempt: int,
    timeout: httpx.Timeout,
    headers: Mapping[str, str] = types.MappingProxyType({}),
) -> httpx.Request:
    """The POST request for one attempt (authentication is added by httpx's auth).

    The body is the payload's canonical JSON bytes (sorted keys, compact), the
    same bytes every attempt, so a retried request is byte-identical.
    """
    body = dict(payload)
    if stream and "stream" not in body:
        body["stream"] = True
    all_headers = {
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
        "accept-encoding": "gzip, deflate",
        "user-agent": USER_AGENT,
        "x-convo-retry-count": str(attempt - 1),
        **headers,
    }
    return httpx.Request(
        "POST",
        url,
        headers=all_headers,
        content=canonical_bytes(body),
        extensions={"timeout": timeout.as_dict()},
    )


def request_id_of(headers: httpx.Headers | Mapping[str, str]) -> str | None:
    """The request id a response carries, if any."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def kept_headers(headers: httpx.Headers) -> dict[str, str]:
    """The response headers a `Response` keeps (never anything credential-like)."""
    return {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}


def strip_query(url: httpx.URL | str) -> str:
    """The URL without its query and fragment (safe to log)."""
    parsed = httpx.URL(url) if isinstance(url, str) else url
    return str(parsed.copy_with(query=None, fragment=None))


def classify(status: int) -> Literal["ok", "redirect", "error"]:
    """What a status means to the client."""
    if 200 <= status < 300:
        return "ok"
    if 300 <= status < 400:
        return "redirect"
    return "error"


def redirect_error(
    status: int,
    headers: httpx.Headers,
    *,
    attempts: int,
) -> UnexpectedRedirectError:
    """The error for a redirect, which convo never follows with credentials."""
    location = headers.get("location")
    safe = None
    if location:
        try:
            safe = strip_query(location)
        except (httpx.InvalidURL, ValueError, TypeError):
            safe = "<unparseable location>"
    return UnexpectedRedirectError(
        f"The endpoint answered {status} with a redirect",
        location=safe,
        request_id=request_id_of(headers),
        attempts=attempts,
        received=safe if safe else ...,
        fix="convo never follows redirects with credentials; point the client "
        "at the final host (check the host / base_url).",
    )


def timeout_error(
    *, deadline: float | None, attempts: int, request_id: str | None, **details: Any
) -> APITimeoutError:
    """The error for a passed total deadline."""
    return APITimeoutError(
        "The request passed its total deadline",
        request_id=request_id,
        attempts=attempts,
        **details,
        received=f"<{deadline} s>" if deadline is not None else ...,
        fix="Raise the client's deadline, or stream the answer.",
    )


def load_body(body: bytes) -> dict[str, Any]:
    """Parse a success body as a JSON object.

    Raises:
        DecodeError: the body is not a JSON object.
    """
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        value = None
        what = "The response body is not JSON"
    else:
        what = "The response body is not a JSON object"
    if not isinstance(value, dict):
        raise DecodeError(what, path="$", errors=(f"{what} @ $",), received=body[:200])
    return value


def _freeze(value: Mapping[str, str]) -> Mapping[str, str]:
    return types.MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class Response:
    """A decoded answer: the turn, the raw body and what the exchange took."""

    turn: Turn
    raw: Mapping[str, Any] = attrs.field(hash=False, repr=False)
    """The response body as parsed JSON; never mutated."""
    request_id: str | None
    attempts: int
    """How many attempts it took (1 when the first succeeded)."""
    status: int
    headers: Mapping[str, str] = attrs.field(
        converter=_freeze, hash=False, factory=dict
    )
    """A safe subset of the response headers (request id, content type, ...)."""

"""The one place where httpx exceptions become convo errors, and secret hygiene.

`translating(...)` is a context manager: inside it, any `httpx` exception is
re-raised as `APITimeoutError` (timeouts) or `APIConnectionError` (everything
else on the transport) with `raise ... from exc`. Before that, every known
secret (tokens, client secrets, credential header values, URL query values)
is scrubbed from the text of the whole cause chain, so neither `str` nor
`repr` of any exception in the chain carries one.

`install_log_redaction()` puts filters (once) on the `httpx` logger, which
logs each request's full URL at INFO, and on the `httpcore` loggers, which log
response headers at DEBUG: query strings are removed from logged URLs and from
`location` headers (a redirect may echo the request URL), and the value of
every other header not in `SAFE_HEADERS` is replaced by `<redacted>` (a server
may echo a token in any header). Invariant: convo itself logs only method, URL
without query, status, attempt and wait.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from convo.errors import APIConnectionError, APITimeoutError, ConvoError

__all__ = [
    "SAFE_HEADERS",
    "install_log_redaction",
    "redact_headers",
    "scrub",
    "translating",
]

_REDACTED = "<redacted>"
_MIN_SECRET = 4


def _scrub_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def scrub(exc: BaseException, secrets: Iterable[str]) -> None:
    """Remove every secret from the args of `exc` and of its whole cause chain."""
    wanted = tuple(s for s in secrets if len(s) >= _MIN_SECRET)
    if not wanted:
        return
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if any(s in repr(current.args) for s in wanted):
            current.args = tuple(
                _scrub_text(a, wanted) if isinstance(a, str) else _REDACTED
                for a in current.args
            )
        if isinstance(current, ConvoError):
            current.message = _scrub_text(current.message, wanted)
            for key, value in current.details.items():
                if isinstance(value, str) and any(s in value for s in wanted):
                    clean = _scrub_text(value, wanted)
                    current.details[key] = clean
                    setattr(current, key, clean)
        stack.extend(x for x in (current.__cause__, current.__context__) if x)


def _describe(exc: Exception) -> str:
    """A fixed description per exception class (never the exception's own text)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "Connecting to the endpoint timed out"
    if isinstance(exc, httpx.ReadTimeout):
        return "The endpoint sent nothing within the read (idle) timeout"
    if isinstance(exc, httpx.WriteTimeout):
        return "Sending the request timed out"
    if isinstance(exc, httpx.PoolTimeout):
        return "No connection became free within the pool timeout"
    if isinstance(exc, httpx.ConnectError):
        return "Could not connect to the endpoint"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "The endpoint closed the connection or broke the HTTP protocol"
    if isinstance(exc, httpx.ReadError):
        return "Reading the response failed"
    if isinstance(exc, httpx.WriteError):
        return "Sending the request failed"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "The endpoint URL is not a usable http(s) URL"
    return f"The HTTP transport failed ({type(exc).__name__})"


def adding(error: ConvoError, **details: Any) -> ConvoError:
    """A copy of `error` with more details (same class, same facts).

    Wire code knows no request; the client re-raises what it raised with the
    request's `request_id` and `attempts` through this.
    """
    copy = type(error)(
        error.what,
        where=error.where,
        received=error.received,
        fix=error.fix,
        **{**error.details, **details},
    )
    copy.__cause__ = error.__cause__
    copy.__traceback__ = error.__traceback__
    return copy


def _lacks_request(error: ConvoError) -> bool:
    """Whether `error` declares request facts that nobody filled in yet."""
    return "attempts" in error.details and error.details["attempts"] is None


@contextmanager
def translating(
    *,
    secrets: Iterable[str],
    attempts: int,
    request_id: str | None = None,
    **details: Any,
) -> Iterator[None]:
    """Re-raise httpx exceptions as convo errors, with secrets scrubbed.

    Convo errors pass through (scrubbed as well); other exceptions are untouched.
    """
    try:
        yield
    except httpx.TimeoutException as exc:
        scrub(exc, secrets)
        raise APITimeoutError(
            _describe(exc),
            request_id=request_id,
            attempts=attempts,
            **details,
            fix="Retry later, or raise the client's timeout.",
        ) from exc
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        scrub(exc, secrets)
        fix = (
            "Check the host / base_url."
            if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL)
            else "Retry later; check the host and the network."
        )
        raise APIConnectionError(
            _describe(exc), request_id=request_id, attempts=attempts, **details, fix=fix
        ) from exc
    except ConvoError as exc:
        scrub(exc, secrets)
        if _lacks_request(exc):
            raise adding(exc, request_id=request_id, attempts=attempts) from (
                exc.__cause__
            )
        raise


class _QueryRedactor(logging.Filter):
    """Strip query strings from URLs in `httpx` log records (it logs full URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, httpx.URL) for a in args):
            record.args = tuple(
                a.copy_with(query=None, fragment=None)
                if isinstance(a, httpx.URL)
                else a
                for a in args
            )
        return True


SAFE_HEADERS = frozenset(
    {
        "cache-control",
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "date",
        "keep-alive",
        "retry-after",
        "retry-after-ms",
        "server",
        "transfer-encoding",
        "vary",
        "x-request-id",
        "request-id",
        "x-databricks-org-id",
    }
)
"""Response headers whose values httpcore's DEBUG records may show; all others are redacted."""

_BYTES = r"b'(?:[^'\\]|\\.)*'" + r'|b"(?:[^"\\]|\\.)*"'
_HEADER = re.compile(rf"\((\s*(?:{_BYTES})\s*),(\s*)({_BYTES})(\s*)\)")


def _redact_header(match: re.Match[str]) -> str:
    name_literal, space, value, tail = match.groups()
    name = name_literal.strip()[2:-1].lower()
    if name in SAFE_HEADERS:
        return match.group(0)
    if name == "location":
        # Keep where it points, drop the query (it may echo the request's key).
        inner = value[2:-1]
        if "?" in inner:
            inner = inner[: inner.index("?")] + "?<redacted>"
        return f"({name_literal},{space}{value[:2]}{inner}{value[-1]}{tail})"
    return f"({name_literal},{space}b'{_REDACTED}'{tail})"


def redact_headers(text: str) -> str:
    """`text` with every `(b'name', b'value')` pair's value redacted unless safe."""
    if "(b" not in text:
        return text
    return _HEADER.sub(_redact_header, text)


class _HeaderRedactor(logging.Filter):
    """Redact header values in httpcore's trace records, except `SAFE_HEADERS`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_headers(record.msg)
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_headers(a) if isinstance(a, str) else a for a in record.args
            )
        return True


_INSTALLED = threading.Lock()
_FILTERS: dict[str, logging.Filter] = {"httpx": _QueryRedactor()}
_HTTPCORE = (
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.connection",
    "httpcore.proxy",
    "httpcore.socks",
)
_FILTERS.update(dict.fromkeys(_HTTPCORE, _HeaderRedactor()))


def install_log_redaction() -> None:
    """Add the redacting filters to the httpx and httpcore loggers, once per process."""
    with _INSTALLED:
        for name, log_filter in _FILTERS.items():
            logger = logging.getLogger(name)
            if log_filter not in logger.filters:
                logger.addFilter(log_filter)

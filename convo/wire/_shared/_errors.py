"""Error envelopes of every route, and one status -> error-class table (R22).

Bodies understood, unwrapped layer by layer (at most 6 deep):
- Databricks: `{"error_code": "BAD_REQUEST", "message": "..."}` whose `message`
  is often the upstream JSON as a string (`{"message": ...}`, an OpenAI-style
  `{"error": {...}}` or Anthropic's `{"type": "error", "error": {...}}`);
- OpenAI: `{"error": {"message", "type", "param", "code"}}`;
- Anthropic: `{"type": "error", "error": {"type", "message"}, "request_id"?}`;
- older Databricks upstream failures: `{"error": "...", "external_model_message": {...}}`;
- plain text `ERROR_CODE: message`, HTML pages and empty bodies.

The innermost layer that names an error wins: a Databricks `BAD_REQUEST`
wrapping Anthropic's `invalid_request_error` is `invalid_request_error`.

Classes (`STATUS_CLASSES`): 400/413/422 `BadRequestError`, 401
`AuthenticationError`, 403 `PermissionDeniedError`, 404
`EndpointNotFoundError`, 429 `RateLimitError`, 5xx `ServerError` (and any
`overloaded_error`), anything else `APIStatusError`.

Invariant: `decode_error` never raises; the excerpt kept on the error and the
message are bounded, and no header ever enters the message.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from convo._check import expect_instance
from convo.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    EndpointNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

__all__ = [
    "EXCERPT_CHARS",
    "STATUS_CLASSES",
    "ErrorEnvelope",
    "class_for",
    "decode_error",
    "parse_envelope",
]

EXCERPT_CHARS = 2000
"""The most characters of an error body kept on the error (`body_excerpt`)."""

_MESSAGE_CHARS = 500
_PARSE_LIMIT = 1024 * 1024
_MAX_LAYERS = 6
_PLAIN = re.compile(r"^([A-Z][A-Z0-9_]{2,}):\s*(.+)$", re.DOTALL)

STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    413: BadRequestError,
    422: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: EndpointNotFoundError,
    429: RateLimitError,
}
"""The class of an error status; 5xx not listed here is `ServerError`."""

_FIXES: dict[type[APIStatusError], str] = {
    BadRequestError: "Fix the request; retrying the same request gives the same error.",
    AuthenticationError: "Check the token (it may be missing or expired).",
    PermissionDeniedError: "Check that the token may query this endpoint.",
    EndpointNotFoundError: "Check the serving endpoint name and the workspace host.",
    RateLimitError: "Retry after the indicated delay, or lower the request rate.",
    ServerError: "The endpoint failed or is overloaded; retrying may succeed.",
}


@attrs.frozen
class ErrorEnvelope:
    """What an error body says, whatever its layers."""

    code: str | None = None
    """The most specific error code or type named (innermost layer first)."""
    message: str | None = None
    """The innermost human-readable message."""
    request_id: str | None = None
    """A request id found in the body (Anthropic puts one there)."""


def _parse(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in '{["' or len(stripped) > _PARSE_LIMIT:
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        return None


def _str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None


def _unwrap(body: object, depth: int) -> ErrorEnvelope:
    if depth > _MAX_LAYERS:
        return ErrorEnvelope()
    if isinstance(body, str):
        inner = _parse(body)
        if inner is not None and not isinstance(inner, str):
            found = _unwrap(inner, depth + 1)
            return (
                found
                if found.message is not None
                else attrs.evolve(found, message=body)
            )
        match = _PLAIN.match(body.strip())
        if match:
            return ErrorEnvelope(code=match.group(1), message=match.group(2).strip())
        return ErrorEnvelope(message=body)
    if not isinstance(body, dict):
        return ErrorEnvelope()
    kind = _str(body, "type")
    own = (
        _str(body, "error_code")
        or _str(body, "code")
        or (kind if kind != "error" else None)
    )
    request_id = _str(body, "request_id")
    error = body.get("error")
    if isinstance(error, dict):
        inner = _unwrap(error, depth + 1)
        return ErrorEnvelope(
            code=inner.code or own,
            message=inner.message,
            request_id=inner.request_id or request_id,
        )
    code, text = own, None
    for key in ("message", "detail", "error_description"):
        value = _str(body, key)
        if value is not None:
            inner = _unwrap(value, depth + 1)
            code = inner.code or code
            text = inner.message
            request_id = request_id or inner.request_id
            break
    external = body.get("external_model_message")
    if isinstance(external, dict | str):
        inner = _unwrap(external, depth + 1)
        if inner.message is not None:
            prefix = error if isinstance(error, str) else None
            text = f"{prefix}: {inner.message}" if prefix else inner.message
    if text is None and isinstance(error, str):
        text = error
    return ErrorEnvelope(code=code, message=text, request_id=request_id)


def parse_envelope(body: object) -> ErrorEnvelope:
    """What an error body (text, or parsed JSON) says; never raises."""
    return _unwrap(body, 0)


def class_for(status: int, code: str | None = None) -> type[APIStatusError]:
    """The error class of an HTTP status (an `overloaded_error` is a server error)."""
    if code == "overloaded_error":
        return ServerError
    cls = STATUS_CLASSES.get(status)
    if cls is not None:
        return cls
    return ServerError if status >= 500 else APIStatusError


def decode_error(
    status_code: int,
    body: bytes,
    *,
    request_id: str | None = None,
    attempts: int = 1,
    retry_after: float | None = None,
) -> APIStatusError:
    """The typed error for an error response (never raises).

    Args:
        status_code: the HTTP status.
        body: the raw response body (any bytes).
        request_id: the request id header, if any (else one found in the body).
        attempts: how many attempts were made.
        retry_after: the server's hint in seconds (429), if any.

    Raises:
        UsageError: `status_code` is not an int or `body` is not bytes.
    """
    expect_instance(
        status_code, int, "status_code", fix="Pass the HTTP status, e.g. 400."
    )
    expect_instance(body, bytes, "body", fix="Pass the raw response body as bytes.")
    text = body[:_PARSE_LIMIT].decode("utf-8", errors="replace")
    parsed = _parse(text) if len(body) <= _PARSE_LIMIT else None
    if parsed is not None:
        found = parse_envelope(parsed)
    elif text.lstrip().startswith("<"):
        found = ErrorEnvelope(message="the endpoint answered with an HTML page")
    else:
        found = parse_envelope(text)
    cls = class_for(status_code, found.code)
    what = f"The endpoint answered {status_code}"
    if found.code:
        what += f" {found.code}"
    detail = (found.message or "").strip()
    if len(detail) > _MESSAGE_CHARS:
        detail = detail[:_MESSAGE_CHARS] + "…"
    what += f": {detail}" if detail else " with no message"
    request_id = request_id or found.request_id
    if request_id:
        what += f" (request id {request_id})"
    fix = _FIXES.get(cls)
    if cls is RateLimitError and retry_after is not None:
        fix = f"Retry after {retry_after:g} s, or lower the request rate."
    details: dict[str, Any] = {
        "status_code": status_code,
        "error_code": found.code,
        "body_excerpt": text[:EXCERPT_CHARS],
        "request_id": request_id,
        "attempts": attempts,
    }
    if cls is RateLimitError:
        details["retry_after"] = retry_after
    return cls(what, fix=fix, **details)

"""Turn an error response of the Messages route into a typed `APIStatusError`.

Bodies understood:
- Anthropic's `{"type": "error", "error": {"type", "message"}, "request_id"?}`;
- the Databricks envelope `{"error_code", "message"}`, whose `message` often
  holds the upstream JSON as a string (rule R22); that inner layer is parsed too;
- anything else (HTML, plain text, empty) is kept as a bounded excerpt.

Status classes: 400/413/422 -> `BadRequestError`, 401 -> `AuthenticationError`,
403 -> `PermissionDeniedError`, 404 -> `EndpointNotFoundError`, 429 ->
`RateLimitError` (with `retry_after`), 5xx and 529 (`overloaded_error`) ->
`ServerError`, any other -> `APIStatusError`. Invariant: never raises while
classifying; the excerpt is bounded and no header ever enters the message.
"""

from __future__ import annotations

import json
from typing import Any

from convo.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    EndpointNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    excerpt,
    message,
)

__all__ = ["EXCERPT_CHARS", "decode_error"]

EXCERPT_CHARS = 2000
_PARSE_LIMIT = 1024 * 1024

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    413: BadRequestError,
    422: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: EndpointNotFoundError,
    429: RateLimitError,
}

_FIXES: dict[type[APIStatusError], str] = {
    BadRequestError: "Fix the request; retrying the same request gives the same error.",
    AuthenticationError: "Check the token (it may be missing or expired).",
    PermissionDeniedError: "Check that the token may query this endpoint.",
    EndpointNotFoundError: "Check the endpoint name and the workspace host.",
    RateLimitError: "Retry after the indicated delay, or lower the request rate.",
    ServerError: "Retry later; the endpoint failed or is overloaded.",
}


def _parse(text: str) -> Any:
    if len(text) > _PARSE_LIMIT:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _details(value: Any, depth: int = 0) -> tuple[str | None, str | None, str | None]:
    """(error type or code, message, request id) found in a parsed body."""
    if not isinstance(value, dict) or depth > 3:
        return None, None, None
    code: str | None = None
    text: str | None = None
    request_id = value.get("request_id")
    error = value.get("error")
    if isinstance(error, dict):
        code = error.get("type") if isinstance(error.get("type"), str) else None
        code = code or (
            error.get("code") if isinstance(error.get("code"), str) else None
        )
        text = error.get("message") if isinstance(error.get("message"), str) else None
    elif isinstance(error, str):
        text = error
    if isinstance(value.get("error_code"), str):
        code = code or value["error_code"]
    if text is None and isinstance(value.get("message"), str):
        text = value["message"]
        inner = _parse(text) if text.lstrip().startswith("{") else None
        inner_code, inner_text, inner_id = _details(inner, depth + 1)
        if inner_text is not None:
            text = inner_text
            code = inner_code or code
            request_id = request_id or inner_id
    if text is None and isinstance(value.get("external_model_message"), dict):
        _, text, _ = _details(value["external_model_message"], depth + 1)
    return code, text, request_id if isinstance(request_id, str) else None


def decode_error(
    status_code: int,
    body: bytes,
    *,
    request_id: str | None = None,
    attempts: int = 1,
    retry_after: float | None = None,
) -> APIStatusError:
    """The typed error for an error response of the Messages route.

    Args:
        status_code: the HTTP status.
        body: the raw response body (any bytes).
        request_id: the `request-id` / `x-request-id` header, if any.
        attempts: how many attempts were made.
        retry_after: the server's retry hint in seconds, if any.
    """
    raw: object = body
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    code, detail, body_id = _details(_parse(text))
    cls = _BY_STATUS.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else APIStatusError
    if code == "overloaded_error":
        cls = ServerError
    what = f"The endpoint answered {status_code}"
    if code:
        what += f" {code}"
    if detail:
        what += f": {excerpt(detail, limit=500)}"
    fix = _FIXES.get(cls)
    if cls is RateLimitError and retry_after is not None:
        fix = f"Retry after {retry_after:g} s, or lower the request rate."
    details: dict[str, Any] = {
        "status_code": status_code,
        "error_code": code,
        "body_excerpt": text[:EXCERPT_CHARS],
        "request_id": request_id or body_id,
        "attempts": attempts,
    }
    if cls is RateLimitError:
        details["retry_after"] = retry_after
    return cls(message(what, fix=fix), **details)

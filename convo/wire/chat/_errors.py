"""Turn an error response of a chat endpoint into a typed `APIStatusError` (R22).

Shapes understood, in order:
- Databricks: `{"error_code": "BAD_REQUEST", "message": "..."}` where `message`
  is often the upstream JSON as a string (`{"message": ...}`, an OpenAI-style
  `{"error": {...}}` or Anthropic `{"type": "error", "error": {...}}`), unwrapped
  layer by layer;
- OpenAI: `{"error": {"message", "type", "param", "code"}}`;
- older Databricks upstream failures: `{"error": "...", "external_model_message": {...}}`;
- plain text `ERROR_CODE: message`, HTML pages and empty bodies.

The class follows the status: 400/422 `BadRequestError`, 401
`AuthenticationError`, 403 `PermissionDeniedError`, 404
`EndpointNotFoundError`, 429 `RateLimitError`, 5xx and 529 `ServerError`,
anything else `APIStatusError`. Invariant: decoding never raises; the body
excerpt kept on the error is at most 8 KB.
"""

from __future__ import annotations

import json
import re
from typing import Any

from convo.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    EndpointNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

__all__ = ["BODY_EXCERPT_LIMIT", "decode_error", "unwrap_error"]

BODY_EXCERPT_LIMIT = 8 * 1024
_MESSAGE_LIMIT = 2000
_PLAIN = re.compile(r"^([A-Z][A-Z0-9_]{2,}):\s*(.+)$", re.DOTALL)


def _parse(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in '{["':
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        return None


def unwrap_error(
    body: object, depth: int = 0
) -> tuple[str | None, str | None, str | None]:
    """(error code, error type, innermost message) of an error body, layer by layer."""
    if depth > 6:
        return None, None, None
    if isinstance(body, str):
        inner = _parse(body)
        if inner is not None and not isinstance(inner, str):
            code, kind, msg = unwrap_error(inner, depth + 1)
            return code, kind, msg if msg is not None else body
        match = _PLAIN.match(body.strip())
        if match:
            return match.group(1), None, match.group(2).strip()
        return None, None, body
    if not isinstance(body, dict):
        return None, None, None
    code = body.get("error_code") if isinstance(body.get("error_code"), str) else None
    kind = (
        body.get("type")
        if isinstance(body.get("type"), str) and body.get("type") != "error"
        else None
    )
    error = body.get("error")
    if isinstance(error, dict):
        c, k, m = unwrap_error(error, depth + 1)
        raw_code = error.get("code")
        code = code or c or (raw_code if isinstance(raw_code, str) else None)
        return code, k or kind, m
    msg = None
    for key in ("message", "detail", "error_description"):
        if isinstance(body.get(key), str):
            c, k, msg = unwrap_error(body[key], depth + 1)
            code, kind = code or c, kind or k
            break
    external = body.get("external_model_message")
    if isinstance(external, dict | str):
        c, k, m = unwrap_error(external, depth + 1)
        if m is not None:
            prefix = error if isinstance(error, str) else None
            msg = f"{prefix}: {m}" if prefix else m
    if msg is None and isinstance(error, str):
        msg = error
    return code, kind, msg


def _class_for(status: int) -> type[APIStatusError]:
    if status in (400, 422):
        return BadRequestError
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return EndpointNotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return APIStatusError


_FIXES: dict[type[APIStatusError], str] = {
    BadRequestError: "The endpoint refused the request itself; fix it before retrying.",
    AuthenticationError: "Check the Databricks token (expired or missing).",
    PermissionDeniedError: "The token may not query this endpoint; check its permissions.",
    EndpointNotFoundError: "Check the serving endpoint name and the workspace host.",
    RateLimitError: "Retry after the hint, or use provisioned throughput.",
    ServerError: "The endpoint failed or is overloaded; retrying may succeed.",
}


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
        body: the raw response body.
        request_id: the request id header, if any.
        attempts: how many attempts were made.
        retry_after: the server's hint in seconds (429), if any.
    """
    text = body[: BODY_EXCERPT_LIMIT * 4].decode("utf-8", errors="replace")
    excerpt = text[:BODY_EXCERPT_LIMIT]
    parsed = _parse(text) if len(body) <= BODY_EXCERPT_LIMIT * 4 else None
    if parsed is not None:
        code, kind, msg = unwrap_error(parsed)
    elif text.lstrip().startswith("<"):
        code, kind, msg = None, None, "the endpoint answered with an HTML page"
    else:
        code, kind, msg = unwrap_error(text)
    cls = _class_for(status_code)
    detail = (msg or "").strip() or "no error message in the body"
    if len(detail) > _MESSAGE_LIMIT:
        detail = detail[:_MESSAGE_LIMIT] + "…"
    label = " ".join(x for x in (str(status_code), code or kind) if x)
    text_message = f"{label}: {detail}"
    if request_id:
        text_message += f" (request id {request_id})"
    fix = _FIXES.get(cls)
    text_message += f". {fix}" if fix else "."
    details: dict[str, Any] = {
        "status_code": status_code,
        "error_code": code or kind,
        "body_excerpt": excerpt,
        "request_id": request_id,
        "attempts": attempts,
    }
    if cls is RateLimitError:
        details["retry_after"] = retry_after
    return cls(text_message, **details)

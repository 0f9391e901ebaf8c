"""Injected faults: what can go wrong between a client and the serving endpoint.

A `Fault` applies to the next `times` requests that pass authentication; the
endpoint consumes its queue in order. Status faults (429, 5xx, 529) answer before
the request is validated, as the real gateway does. Stream faults shape a
successful answer: a connection dropped after N body parts, a slow trickle, an
error event mid-stream, or a 200 whose body is not JSON.
Invariant: a fault never changes what the model answers, only how it is delivered.
"""

from __future__ import annotations

import json
from typing import Literal

import attrs

__all__ = ["Fault", "FaultKind"]

FaultKind = Literal["status", "drop", "trickle", "error_event", "malformed"]

_ERROR_CODES = {
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
    529: "TEMPORARILY_UNAVAILABLE",
}


@attrs.frozen(kw_only=True)
class Fault:
    """One injected fault; build it with the class methods."""

    kind: FaultKind
    status: int = 200
    retry_after: str | None = None
    """The `Retry-After` header value (seconds or an HTTP date), if any."""
    retry_after_ms: int | None = None
    """The `retry-after-ms` header value, if any."""
    after_parts: int = 1
    """drop / error_event: how many body parts (SSE events) are sent first."""
    delay: float = 0.0
    """trickle: seconds to wait before each body part."""
    times: int = 1
    """How many consecutive requests this fault applies to."""

    @classmethod
    def rate_limited(
        cls,
        *,
        retry_after: float | str | None = 1,
        retry_after_ms: int | None = None,
        times: int = 1,
    ) -> Fault:
        """A 429 with `Retry-After` (and optionally `retry-after-ms`)."""
        header = None if retry_after is None else str(retry_after)
        return cls(
            kind="status",
            status=429,
            retry_after=header,
            retry_after_ms=retry_after_ms,
            times=times,
        )

    @classmethod
    def server_error(
        cls,
        status: int = 503,
        *,
        retry_after: float | str | None = None,
        times: int = 1,
    ) -> Fault:
        """A 5xx (500, 502, 503, 504) or 529 overloaded answer."""
        header = None if retry_after is None else str(retry_after)
        return cls(kind="status", status=status, retry_after=header, times=times)

    @classmethod
    def status_code(cls, status: int, *, times: int = 1) -> Fault:
        """Any other status (408, 409, 403 ...) in the Databricks envelope."""
        return cls(kind="status", status=status, times=times)

    @classmethod
    def drop(cls, *, after_parts: int = 2, times: int = 1) -> Fault:
        """The connection is closed after `after_parts` body parts (mid-stream)."""
        return cls(kind="drop", after_parts=after_parts, times=times)

    @classmethod
    def trickle(cls, delay: float = 0.05, *, times: int = 1) -> Fault:
        """Every body part waits `delay` seconds (a slow stream)."""
        return cls(kind="trickle", delay=delay, times=times)

    @classmethod
    def error_event(cls, *, after_parts: int = 2, times: int = 1) -> Fault:
        """An error payload arrives mid-stream after `after_parts` events; no [DONE]."""
        return cls(kind="error_event", after_parts=after_parts, times=times)

    @classmethod
    def malformed(cls, *, times: int = 1) -> Fault:
        """A 200 whose body is truncated, invalid JSON."""
        return cls(kind="malformed", times=times)

    def error_body(self) -> bytes:
        """The Databricks error envelope of a status fault."""
        code = _ERROR_CODES.get(
            self.status, "INTERNAL_ERROR" if self.status >= 500 else "BAD_REQUEST"
        )
        if self.status == 429:
            text = "REQUEST_LIMIT_EXCEEDED: Exceeded workspace QPS rate limit for this endpoint. Please use a provisioned throughput endpoint or retry later."
        elif self.status == 529:
            text = json.dumps(
                {
                    "type": "error",
                    "error": {"type": "overloaded_error", "message": "Overloaded"},
                }
            )
        else:
            text = f"The service answered {self.status} (injected fault)."
        return json.dumps({"error_code": code, "message": text}).encode()

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The retry hint headers of a status fault."""
        out: list[tuple[str, str]] = []
        if self.retry_after is not None:
            out.append(("retry-after", self.retry_after))
        if self.retry_after_ms is not None:
            out.append(("retry-after-ms", str(self.retry_after_ms)))
        return tuple(out)


STREAM_ERROR_EVENT = {
    "error_code": "TEMPORARILY_UNAVAILABLE",
    "message": json.dumps(
        {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
        }
    ),
}
"""The payload of an injected mid-stream error event."""

"""Shared helpers for the client tests: targets, realistic bodies, a minimal wire."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from convo import Finished, PartialTurn, TextBlock, TextDelta, Turn
from convo._events import StreamEvent
from convo._targets import Target
from convo._turns import normalise_finish_reason
from convo.client import AsyncClient, Client
from convo.errors import (
    APIStatusError,
    BadRequestError,
    RateLimitError,
    ServerError,
    StreamError,
    StreamInterruptedError,
)

FIXTURES = Path(__file__).parent / "fixtures"
TARGET = Target(
    name="databricks-claude-sonnet-4-5", family="claude", provider="anthropic"
)
PAYLOAD: Mapping[str, Any] = {
    "model": "databricks-claude-sonnet-4-5",
    "messages": [{"role": "user", "content": "How fast?"}],
}
HOST = "https://adb-123.cloud.databricks.com"
INVOCATIONS = f"{HOST}/serving-endpoints/databricks-claude-sonnet-4-5/invocations"


def completion() -> dict[str, Any]:
    """The wire-facts example 1 response (Claude reasoning, non-streaming)."""
    body: dict[str, Any] = json.loads((FIXTURES / "chat_completion.json").read_text())
    return body


def stream_bytes() -> bytes:
    """The wire-facts example 2 stream (reasoning, signature last, text, [DONE])."""
    return (FIXTURES / "chat_stream.sse").read_bytes()


def stream_events() -> list[bytes]:
    """The example stream cut into its SSE events (each ends with a blank line)."""
    return [part + b"\n\n" for part in stream_bytes().split(b"\n\n") if part.strip()]


def databricks_error(status: int, code: str, text: str) -> httpx.Response:
    """An error in the Databricks envelope, upstream JSON nested in `message`."""
    inner = json.dumps({"message": text})
    return httpx.Response(
        status,
        json={"error_code": code, "message": inner},
        headers={"x-request-id": f"req-{status}"},
    )


class Sleeps:
    """An injectable sleep that records waits and takes no time."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.waits.append(seconds)


class FakeClock:
    """A monotonic clock the fake sleep advances."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(
    handler: Callable[[httpx.Request], httpx.Response],
    sleeps: Callable[[float], None] | None = None,
    **options: Any,
) -> Client:
    """A Client over a MockTransport with zero-time sleeps and no jitter."""
    options.setdefault("host", HOST)
    options.setdefault("token", "dapi-test-token")
    options.setdefault("random", lambda: 0.0)
    return Client(
        transport=httpx.MockTransport(handler),
        sleep=sleeps if sleeps is not None else Sleeps(),
        **options,
    )


def async_client(
    handler: Callable[[httpx.Request], Any], sleeps: Sleeps, **options: Any
) -> AsyncClient:
    """The AsyncClient twin of `client`."""
    options.setdefault("host", HOST)
    options.setdefault("token", "dapi-test-token")
    options.setdefault("random", lambda: 0.0)
    return AsyncClient(
        transport=httpx.MockTransport(handler), sleep=sleeps.asleep, **options
    )


# ---------------------------------------------------------------- a minimal wire


class FakeAssembler:
    """Chunks: {"t": text} -> TextDelta; {"finish": reason}; {"error": {...}} raises."""

    def __init__(self, *, target: Target | None = None) -> None:
        self.text: list[str] = []
        self.reason: str | None = None

    def _turn(self) -> Turn:
        return Turn(
            role="assistant",
            blocks=(TextBlock(text="".join(self.text)),) if self.text else (),
            finish_reason=normalise_finish_reason(self.reason),
            finish_reason_raw=self.reason,
        )

    def feed_chunk(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        if "error" in chunk:
            error = chunk["error"]
            raise StreamError(
                "stream error",
                partial=PartialTurn(turn=self._turn(), missing=("finish_reason",)),
                error_type=error.get("type"),
                request_id=None,
                attempts=1,
            )
        if "t" in chunk:
            self.text.append(chunk["t"])
            return [TextDelta(text=chunk["t"])]
        if "finish" in chunk:
            self.reason = chunk["finish"]
            return [Finished(finish_reason=None, turn=self._turn())]
        return []

    def finish(self) -> Turn:
        if self.reason is None:
            raise StreamInterruptedError(
                "stream ended early",
                partial=self.partial(),
                error_type="incomplete_stream",
                request_id=None,
                attempts=1,
            )
        return self._turn()

    def partial(self) -> PartialTurn | None:
        missing = "end of stream" if self.reason is not None else "finish_reason"
        return PartialTurn(turn=self._turn(), missing=(missing,))


class FakeWire:
    """A wire format written only against the client's `WireFormat` protocol."""

    StreamAssembler = FakeAssembler

    def decode_response(
        self, body: bytes | Mapping[str, Any], *, target: Target | None = None
    ) -> Turn:
        assert isinstance(body, Mapping)
        return Turn(role="assistant", blocks=(TextBlock(text=body["text"]),))

    def decode_error(
        self,
        status_code: int,
        body: bytes,
        *,
        request_id: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> APIStatusError:
        cls: type[APIStatusError] = APIStatusError
        details: dict[str, Any] = {}
        if status_code == 400:
            cls = BadRequestError
        elif status_code == 429:
            cls = RateLimitError
            details["retry_after"] = retry_after
        elif status_code >= 500:
            cls = ServerError
        return cls(
            f"status {status_code}",
            status_code=status_code,
            error_code=None,
            body_excerpt=body[:100].decode(errors="replace"),
            request_id=request_id,
            attempts=attempts,
            **details,
        )


def finished(events: Sequence[StreamEvent]) -> Finished:
    """The last event, which must be `Finished`."""
    last = events[-1]
    assert isinstance(last, Finished)
    return last


def final_turn(events: Sequence[StreamEvent]) -> Turn:
    """The complete turn the stream finished with."""
    turn = finished(events).turn
    assert turn is not None
    return turn


def partial_of(error: BaseException) -> PartialTurn:
    """The partial turn an error carries."""
    partial = getattr(error, "partial", None)
    assert isinstance(partial, PartialTurn)
    return partial


def sse(*chunks: Mapping[str, Any] | str) -> bytes:
    """SSE bytes with one `data:` event per chunk (a str is sent verbatim)."""
    out = b""
    for chunk in chunks:
        data = chunk if isinstance(chunk, str) else json.dumps(chunk)
        out += f"data: {data}\n\n".encode()
    return out

"""The raw HTTP exchange of the fake endpoint: a recorded request, an answer, who answers.

Shared by the endpoint (`_app`), the httpx transports (`_transport`) and the
loopback server (`_server`), so none of them imports another to name these.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

import attrs

__all__ = ["Answering", "RawResponse", "RecordedRequest"]


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request the endpoint received; credential headers are never recorded."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


@attrs.frozen(kw_only=True)
class RawResponse:
    """An HTTP answer: status, headers and body parts, with how they are delivered."""

    status: int
    headers: tuple[tuple[str, str], ...]
    parts: tuple[bytes, ...]
    streaming: bool = False
    delay: float = 0.0
    """Seconds to wait before each part (a slow trickle)."""
    drop_after: int | None = None
    """Close the connection after this many parts, without finishing the body."""
    rule: str | None = None

    @property
    def body(self) -> bytes:
        """All parts joined (what a complete delivery carries)."""
        return b"".join(self.parts)


class Answering(Protocol):
    """What a transport needs of the endpoint: answer one request, wait a trickle."""

    def handle(
        self, method: str, path: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> RawResponse:
        """Answer one HTTP request."""
        ...

    def sleep(self, seconds: float, /) -> None:
        """Wait between the parts of a slow answer."""
        ...

"""What the client needs from a wire format: `WireFormat` and `Assembler`.

The client never imports a format's internals. Any object with
`decode_response`, `decode_error` and a `StreamAssembler` factory fits, so
`convo.wire.chat`, `convo.wire.anthropic` (the modules themselves) and a
test's own fake all satisfy `WireFormat`. Invariant: the client touches a
wire format only through these five calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from convo._targets import Target
from convo._turns import Turn
from convo.errors import APIStatusError
from convo.wire._format import Assembler, AssemblerFactory

__all__ = ["Assembler", "AssemblerFactory", "WireFormat"]


class WireFormat(Protocol):
    """A wire format as the client sees it (a module such as `convo.wire.chat`)."""

    @property
    def StreamAssembler(self) -> AssemblerFactory:  # noqa: N802 - the format's class name
        """The format's stream assembler class."""
        ...

    def decode_response(
        self, body: bytes | Mapping[str, Any], *, target: Target | None = ...
    ) -> Turn:
        """Decode a complete (non-streamed) response body into a turn."""
        ...

    def decode_error(
        self,
        status_code: int,
        body: bytes,
        *,
        request_id: str | None = ...,
        attempts: int = ...,
        retry_after: float | None = ...,
    ) -> APIStatusError:
        """The typed error for an error response; never raises."""
        ...

"""The wire-format seam: `WireFormat` and `wire_for(target)`.

A wire format is a module (`convo.wire.chat`, `convo.wire.anthropic`, ...)
that provides every operation below under the same names, the way an httpx
transport is a plug-in: the client, `Chat`, the policies' checks and the
testing kit ask `wire_for(target)` for the format and call it, and nothing
outside `convo.wire` branches on a format's name.

Invariant: `target.wire` names a registered format; `wire_for` imports the
format's module on first use, so registering costs nothing until a request.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

from convo._check import expect_text
from convo._events import StreamEvent
from convo._params import RequestParams
from convo._targets import Target, expect_target
from convo._tools import Tool
from convo._turns import PartialTurn, Turn
from convo.errors import APIStatusError, LookupFailedError

__all__ = [
    "Assembler",
    "AssemblerFactory",
    "WireFormat",
    "register_wire",
    "registered_wires",
    "wire_for",
]


class Assembler(Protocol):
    """Folds parsed stream chunks into events, then into a turn."""

    def feed_chunk(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        """Take one parsed `data:` payload; return the events it completes."""
        ...

    def finish(self) -> Turn:
        """The turn, once the stream finished.

        Raises:
            StreamInterruptedError: it did not finish; `.partial` is what arrived.
        """
        ...

    def partial(self) -> PartialTurn | None:
        """What arrived so far, always partial (None if it does not decode)."""
        ...


class AssemblerFactory(Protocol):
    """Builds an `Assembler` for one stream (a format's `StreamAssembler` class)."""

    def __call__(self, *, target: Target | None = ...) -> Assembler: ...


class WireFormat(Protocol):
    """Everything convo does with one wire format (a module satisfies it)."""

    NAME: str
    """The value of `Target.wire` that selects this format."""

    def endpoint_suffix(self, target: Target, *, databricks: bool) -> str:
        """The URL path after the host (`databricks=True`) or after a base URL."""
        ...

    def encode_request(
        self,
        turns: Sequence[Turn],
        *,
        target: Target,
        params: RequestParams | None = ...,
        tools: Sequence[Tool] = ...,
    ) -> dict[str, Any]:
        """The request body for `turns` (a policy-applied request view)."""
        ...

    def encode_request_bytes(
        self,
        turns: Sequence[Turn],
        *,
        target: Target,
        params: RequestParams | None = ...,
        tools: Sequence[Tool] = ...,
    ) -> bytes:
        """The exact bytes `encode_request` would send."""
        ...

    def validate_request(
        self,
        turns: Sequence[Turn],
        *,
        target: Target,
        params: RequestParams | None = ...,
        tools: Sequence[Tool] = ...,
    ) -> None:
        """Raise what `encode_request` would raise (a 400 of this route)."""
        ...

    def decode_response(
        self, body: bytes | Mapping[str, Any], *, target: Target | None = ...
    ) -> Turn:
        """Decode a complete (non-streamed) response body into a turn."""
        ...

    @property
    def StreamAssembler(self) -> AssemblerFactory:  # noqa: N802 - the format's class name
        """The format's stream assembler class."""
        ...

    def import_messages(
        self, messages: Sequence[Mapping[str, Any]], *, target: Target | None = ...
    ) -> tuple[Turn, ...]:
        """Turns from a history written in this format (its `messages` array)."""
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


_MODULES: dict[str, str] = {
    "chat": "convo.wire.chat",
    "anthropic": "convo.wire.anthropic",
    "responses": "convo.wire.responses",
}


def register_wire(name: str, module: str) -> None:
    """Make `Target(wire=name)` use the format implemented by `module`.

    Raises:
        UsageError: `name` or `module` is not a str.
    """
    expect_text(name, "name", fix="Pass the wire name targets will give, e.g. 'chat'.")
    expect_text(module, "module", fix="Pass a module's dotted name, e.g. 'mypkg.wire'.")
    _MODULES[name] = module


def registered_wires() -> tuple[str, ...]:
    """The names `Target.wire` may take, sorted."""
    return tuple(sorted(_MODULES))


def wire_for(target: Target) -> WireFormat:
    """The wire format of `target` (its `wire` field).

    Raises:
        LookupFailedError: `target.wire` names no registered format.
        UsageError: `target` is not a Target.
    """
    expect_target(target)
    module = _MODULES.get(target.wire)
    if module is None:
        raise LookupFailedError(
            f"Target {target.name!r} asks for the wire format {target.wire!r}, "
            f"which is not registered (registered: {', '.join(registered_wires())}). "
            "Fix: use one of those, or register yours with "
            "convo.wire.register_wire(name, module).",
            key=target.wire,
        )
    return cast(WireFormat, importlib.import_module(module))

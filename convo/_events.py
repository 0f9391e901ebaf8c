"""Stream events: what a stream assembler yields as chunks arrive.

Both wire formats' assemblers yield these, so a UI (or `convo.Chat`) handles
one event vocabulary whatever the endpoint speaks.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from convo._turns import FinishReason, PartialTurn, Turn, Usage

__all__ = [
    "Finished",
    "ReasoningDelta",
    "StreamEvent",
    "TextDelta",
    "ToolCallDelta",
    "UsageUpdate",
]


@attrs.frozen(kw_only=True)
class TextDelta:
    """More answer text."""

    text: str


@attrs.frozen(kw_only=True)
class ReasoningDelta:
    """More reasoning text, or (with empty text) the signature that closes a part."""

    text: str
    signature: str | None = None
    encrypted: str | None = None
    """Opaque reasoning data, when a redacted part arrived."""


@attrs.frozen(kw_only=True)
class ToolCallDelta:
    """A tool call began (id and name) or more of its arguments arrived."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@attrs.frozen(kw_only=True)
class UsageUpdate:
    """The latest cumulative usage snapshot (never to be summed, rule R20)."""

    usage: Usage


@attrs.frozen(kw_only=True)
class Finished:
    """The stream ended; `turn` is complete, or `partial` says what is missing."""

    finish_reason: FinishReason | None
    turn: Turn | None = None
    partial: PartialTurn | None = None


StreamEvent: TypeAlias = (
    TextDelta | ReasoningDelta | ToolCallDelta | UsageUpdate | Finished
)

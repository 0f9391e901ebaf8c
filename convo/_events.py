"""Stream events: what a stream assembler yields as chunks arrive.

Both wire formats' assemblers yield these, so a UI (or `convo.Chat`) handles
one event vocabulary whatever the endpoint speaks.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from convo._turns import FinishReason, Turn, Usage

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
    """The stream ended with a complete answer, `turn`.

    A stream that ends without its finish never yields `Finished`: it raises
    `StreamInterruptedError`, whose `.partial` is what arrived (the one way
    convo reports an incomplete answer).
    """

    finish_reason: FinishReason | None
    turn: Turn


StreamEvent: TypeAlias = (
    TextDelta | ReasoningDelta | ToolCallDelta | UsageUpdate | Finished
)

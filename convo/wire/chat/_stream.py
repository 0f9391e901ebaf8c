"""The chat-completions `StreamAssembler`: the shared stream shell around the fold.

SSE framing, chunk parsing, bounds, `[DONE]`, `partial()` and
`finish_event()` come from `convo.wire._shared._stream.BaseStreamAssembler`;
this class folds each chunk with the pure `convo.wire.chat._stream_fold.step`,
keeping only the latest frozen snapshot.

Invariant: every failure is a `convo.errors` class; `finish()` never returns a
`Turn` for a stream that did not send its finish reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convo._events import StreamEvent
from convo._targets import Target
from convo._turns import PartialTurn, Turn
from convo.wire._shared._json import MAX_DEPTH
from convo.wire._shared._stream import MAX_EVENTS, BaseStreamAssembler
from convo.wire.chat._stream_fold import StreamSnapshot, finish, step

__all__ = ["MAX_EVENTS", "MAX_LINE_BYTES", "StreamAssembler"]

MAX_LINE_BYTES = 8 * 1024 * 1024
"""The longest SSE line a chat stream may send (chunks are small)."""


class StreamAssembler(BaseStreamAssembler):
    """Feed SSE bytes (split anywhere) or chunk dicts; get events; `finish()` for the turn.

    Args:
        target: the target that answers; gives reasoning its provenance.
        choice: which choice index to assemble.
        max_line_bytes: the longest SSE line accepted.
        max_events: the most SSE events (chunks) accepted.
        max_depth: the deepest JSON nesting accepted in a chunk.
    """

    def __init__(
        self,
        *,
        target: Target | None = None,
        choice: int = 0,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_events: int = MAX_EVENTS,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        super().__init__(
            target=target,
            max_line_bytes=max_line_bytes,
            max_events=max_events,
            max_depth=max_depth,
        )
        self.choice = choice
        self.snapshot = StreamSnapshot()

    def _fold(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        self.snapshot, events = step(
            self.snapshot, chunk, choice=self.choice, target=self.target
        )
        return list(events)

    def _assemble(self) -> Turn | PartialTurn:
        """The assembled turn (after `[DONE]` or at EOF), or a `PartialTurn`."""
        return finish(self.snapshot, target=self.target)

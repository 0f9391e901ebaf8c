"""What a stream assembler ended with: its turn, or the partial it raised."""

from __future__ import annotations

from convo._turns import PartialTurn, Turn
from convo.errors import StreamInterruptedError
from convo.wire import Assembler


def outcome(assembler: Assembler) -> Turn | PartialTurn:
    """`finish()`'s turn, or the `.partial` of the `StreamInterruptedError` it raised."""
    try:
        return assembler.finish()
    except StreamInterruptedError as exc:
        partial = exc.partial
        kind = exc.error_type
    assert kind == "incomplete_stream"
    assert isinstance(partial, PartialTurn)
    return partial

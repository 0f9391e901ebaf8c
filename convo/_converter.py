"""Convo's own JSON form of turns: their canonical bytes, and the converter behind them.

A turn's canonical bytes are computed once per turn (turns are immutable) and
reused by the id hash, by `dumps`, and by the store; a loader seeds them with
the stored bytes it verified.

The canonical converter (cattrs, its rules in `convo._canonical_converter`) is
built on first use by `converter()`, not at import: importing cattrs and
configuring the converter is about a third of `import convo`, and a backend
that resumes a stored conversation and sends its first request never needs
it (loads take `convo.wire._canonical_fast`, requests their wire format's
encoder). The first turn a process encodes builds it, once.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from convo._json import JSONObject, canonical_bytes
from convo._turns import MemoKey, Turn, expect_turn

if TYPE_CHECKING:
    import cattrs

__all__ = ["CANONICAL", "converter", "structure", "turn_bytes", "turn_plain"]


@functools.cache
def converter() -> cattrs.Converter:
    """The canonical converter, built by the first call (the import lock makes it once)."""
    from convo._canonical_converter import CONVERTER  # (here: built on first use)

    return CONVERTER


def turn_plain(turn: Turn) -> JSONObject:
    """The canonical plain form of a turn (a fresh dict each call)."""
    plain: JSONObject = converter().unstructure(turn, Turn)
    return plain


CANONICAL: MemoKey[bytes] = MemoKey("canonical")
"""A turn's canonical bytes (`turn_bytes`); a loader may seed it with the stored bytes."""


def turn_bytes(turn: Turn) -> bytes:
    """The canonical bytes of a turn, computed once per turn.

    Raises:
        UsageError: `turn` is not a Turn.
    """
    given: object = turn  # checked at run time: callers are not all typed
    if not isinstance(given, Turn):
        expect_turn(given)
    found = turn.memoized(CANONICAL)  # every id and digest asks: no closure on a hit
    if found is not None:
        return found
    return turn.memo(CANONICAL, lambda: canonical_bytes(turn_plain(turn)))


def structure(value: Any, cls: Any) -> Any:
    """Structure with the canonical converter (used by the public decode functions)."""
    return converter().structure(value, cls)

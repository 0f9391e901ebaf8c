"""Pause the cyclic garbage collector while a loader builds many acyclic values.

A cold load builds tens of thousands of immutable values (turns, blocks,
graph nodes), none of which can form a reference cycle. Each allocation
counts towards the collector's thresholds, so the load wakes it again and
again, and every time its oldest generation grows by a quarter the collector
scans the whole heap, the host application's objects included: about a third
of a 5,000-turn load (issue 18's profile). `collector_paused()` turns the
automatic collector off for the duration of such a build and back on after,
exactly as it found it: nothing changes for the host application but that no
automatic collection starts inside the block (an explicit `gc.collect()` still
runs). Nested and concurrent pauses (threads) are counted, and the collector
is turned back on by the last one to leave, only if it was on when the first
one entered.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with automatic garbage collection off, then restore it."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()

"""Pause the cyclic garbage collector while a loader builds many acyclic values.

A cold load builds tens of thousands of immutable values (turns, blocks,
graph nodes), none of which can form a reference cycle. Each allocation
counts towards the collector's thresholds, and every time its oldest
generation has grown by a quarter the collector scans the whole heap, the host
application's objects included: a 5,000-turn load in a small process ran
several such full collections, and the first request after it one more.
Paused, the new values enter the old generation at once, and cost one.

`collector_paused()` turns the automatic collector off for its block and, if
it found it on, back on when the block ends, whatever happens inside. An
explicit `gc.collect()` still runs inside. Nested pauses leave it to the
outermost. Pauses in several threads (or in tasks of one event loop, which an
`AsyncStore` load lets run while it waits for the database) are not counted
against each other on purpose: the first pause to end that found the
collector on turns it back on, so overlapping loads can never keep it off for
longer than one load takes. A host that turns the collector off itself while
a load is running gets it back on when that load ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with automatic garbage collection off, then restore it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

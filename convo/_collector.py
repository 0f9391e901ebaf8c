"""Pause the cyclic garbage collector while a loader builds many acyclic values.

A cold load builds tens of thousands of immutable values (turns, blocks,
graph nodes), none of which can form a reference cycle. Each allocation
counts towards the collector's thresholds, and every time its oldest
generation has grown by a quarter the collector scans the whole heap, the host
application's objects included: a 5,000-turn load in a small process ran
several such full collections.

Pausing alone is not enough: the new values are still young, so the first
collection after the pause scans all of them (about 40,000 objects, 7 ms of a
100 ms load), and a second scans them again as they age. So when the pause
ends, the values it built are moved straight to the oldest generation, which
only a full collection scans (`gc.freeze()` then `gc.unfreeze()`: two list
moves, no scan). The host's own young objects are collected as usual first:
the pause starts with the collection of the young generations the collector
would soon have run anyway, so no garbage of the host's is promoted unseen.
Objects that other threads (or other tasks of an event loop) allocate during
the pause are promoted with the load's; a cycle among them is found by the
next full collection. A host that froze objects itself (`gc.freeze()`, as
pre-fork servers do before serving) keeps them frozen: then the pause only
turns the collector off and on. (The two calls are not one atomic step: a
host thread freezing objects at the very instant a load ends could see some
of them moved back to the oldest generation.) Callers promote only when a
block builds many values (`convo.store` from 500 turns on).

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

_YOUNG = 1
"""The generations the collector scans often (0 and 1): collected before a pause."""


@contextmanager
def collector_paused(*, promote: bool = True) -> Iterator[None]:
    """Run the block with automatic garbage collection off, then restore it.

    With `promote`, the values built inside end in the oldest generation
    (see the module); a block that builds few values need not pay for the
    collection of the young generations that comes first.
    """
    was_enabled = gc.isenabled()
    promote = promote and was_enabled and gc.get_freeze_count() == 0
    if promote:
        gc.collect(_YOUNG)
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if promote and gc.get_freeze_count() == 0:
                gc.freeze()  # every tracked object, unscanned, to the permanent generation
                gc.unfreeze()  # and back, into the oldest one
            gc.enable()

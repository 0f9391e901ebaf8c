"""Setting the fields of a frozen, slotted attrs value without its `__init__`.

For code that builds many values whose parts it has already checked (the
store's fast decoder, the graph's nodes): each field is set through its slot
descriptor, which bypasses the frozen `__setattr__` and costs about half of
`object.__setattr__(value, name, ...)`, since that finds the same descriptor
by name on every call.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

__all__ = ["slot_setters"]


def slot_setters(
    cls: type, names: tuple[str, ...]
) -> tuple[Callable[[Any, Any], None], ...]:
    """A setter per name, in order: `setter(value, item)` sets that field of `value`.

    A name that is not a slot of `cls` (a class that changed) falls back to
    `object.__setattr__`, correct but slower.
    """

    def setter(name: str) -> Callable[[Any, Any], None]:
        slot = cls.__dict__.get(name)
        if isinstance(slot, types.MemberDescriptorType):
            return slot.__set__
        return lambda value, item: object.__setattr__(value, name, item)

    return tuple(setter(name) for name in names)

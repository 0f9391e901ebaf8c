"""Type stub of the C decoder (`_canonical_c.c`); see `convo.wire._canonical_fast`."""

from typing import Any

from convo._turns import Turn

FIELDS: tuple[tuple[str, ...], ...]
"""The fields it sets, per value class, in the order of `_canonical_fast.FIELDS`."""

def turn(plain: object, memo: dict[str, Any], /) -> Turn | None:
    """The turn the Python fast decoder would build from `plain`, or None."""

def configure(*args: object) -> None:
    """Hand over the value classes, key sets and caches (see the C source)."""

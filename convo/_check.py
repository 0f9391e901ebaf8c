"""Cheap argument checks for public entry points: a caller's wrong type is a `UsageError`.

A public function checks what it reads before reading it, so that a wrong
argument (None, a number, a dict where a `Turn` belongs) surfaces as a
`UsageError` naming the argument, never as an `AttributeError` from deep
inside. Each check is one `isinstance` per value (per item for a sequence),
cheap enough for the encoders' entry points. The message shows the received
value's type only, never its content: an argument may hold a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar, overload

from convo.errors import UsageError

__all__ = [
    "as_tuple",
    "expect_instance",
    "expect_items",
    "expect_mapping",
    "expect_text",
    "wrong_type",
]

T = TypeVar("T")
U = TypeVar("U")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(each.__name__ for each in kinds)


def wrong_type(
    value: object, expected: str, where: str, fix: str | None = None
) -> UsageError:
    """The `UsageError` for `value` at `where` when `expected` (a type's name) was due."""
    return UsageError(
        f"{where} must be a {expected}",
        where=where,
        received=f"<{type(value).__name__}>",
        fix=fix or f"Pass a {expected} as {where}.",
    )


@overload
def expect_instance(
    value: object, kind: type[T], where: str, *, fix: str | None = None
) -> T: ...
@overload
def expect_instance(
    value: object, kind: tuple[type[T], type[U]], where: str, *, fix: str | None = None
) -> T | U: ...
def expect_instance(
    value: object, kind: Any, where: str, *, fix: str | None = None
) -> Any:
    """`value` if it is an instance of `kind`; else a `UsageError` naming `where`."""
    if isinstance(value, kind):
        return value
    raise wrong_type(value, _kind_name(kind), where, fix)


def expect_text(value: object, where: str, *, fix: str | None = None) -> str:
    """`value` if it is a str (encodable or not: the callee checks its content)."""
    return expect_instance(value, str, where, fix=fix)


def expect_mapping(
    value: object, where: str, *, fix: str | None = None
) -> Mapping[str, Any]:
    """`value` if it is a mapping (a JSON object as decoded)."""
    if isinstance(value, Mapping):
        return value
    raise wrong_type(value, "Mapping", where, fix)


def expect_items(
    values: object, kind: type[T], where: str, *, fix: str | None = None
) -> Sequence[T]:
    """`values` if it is a list or tuple of `kind` instances; else a `UsageError`.

    The error names the first wrong item's index (`turns[2]`).
    """
    if not isinstance(values, Sequence) or isinstance(values, str | bytes):
        raise wrong_type(values, f"sequence of {kind.__name__}", where, fix)
    for value in values:  # the common case, without indices: 1 isinstance per item
        if not isinstance(value, kind):
            break
    else:
        return values
    index, value = next((i, v) for i, v in enumerate(values) if not isinstance(v, kind))
    raise wrong_type(value, kind.__name__, f"{where}[{index}]", fix)


def as_tuple(
    items: Iterable[T], where: str, *, expected: str, fix: str
) -> tuple[T, ...]:
    """`items` as a tuple; None, a number or a str is a `UsageError` naming `where`.

    A tuple is returned as is, before any other check: constructors that run
    millions of times pay one type comparison.
    """
    if type(items) is tuple:
        return items
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise wrong_type(items, f"sequence of {expected}", where, fix)
    return tuple(items)

"""Checks of the arguments every store operation takes, before any of them reaches a driver.

A value no database could store the same way (a lone surrogate, NUL), a value
or one longer than its column is refused here with a typed
`InvalidContentError` naming the argument (a value of the wrong type or range
is the caller's mistake: `UsageError`), so no driver ever raises
`UnicodeEncodeError` or `TypeError` at a caller. A conversation id that is not
of the store's form is simply not found (`NotFoundError`), like any other
unknown id.
"""

from __future__ import annotations

from convo._ids import TurnId, is_turn_id
from convo._json import check_text
from convo.errors import InvalidContentError, UsageError

__all__ = ["check_branch", "check_expected_head", "check_key", "invalid", "usage"]

BRANCH_CHARS = 200
"""The longest branch name (the column's width)."""


def invalid(what: str, where: str, received: object, fix: str) -> InvalidContentError:
    """The `InvalidContentError` for an argument: a string shown as is, else its type."""
    shown = received if isinstance(received, str) else f"<{type(received).__name__}>"
    return InvalidContentError(what, path=where, received=shown[:80], fix=fix)


def usage(what: str, where: str, received: object, fix: str) -> UsageError:
    """The `UsageError` for an argument of the wrong type or range (shown as `invalid` does)."""
    shown = received if isinstance(received, str) else f"<{type(received).__name__}>"
    return UsageError(what, where=where, received=shown[:80], fix=fix)


def check_key(value: object, *, what: str, where: str, limit: int = 64) -> str:
    """`value` if it is a non-empty string the database can store, of at most `limit` chars."""
    if not isinstance(value, str):
        raise invalid(
            f"The {what} must be a string", where, value, f"Pass the {what} as a str."
        )
    if not value or len(value) > limit:
        raise invalid(
            f"The {what} must have 1 to {limit} characters",
            where,
            value,
            f"Pass a shorter, non-empty {what}.",
        )
    check_text(value, path=where)
    return value


def check_branch(value: object, *, where: str = "branch") -> str:
    """`value` if it is a usable branch name (not blank, at most 200 characters)."""
    name = check_key(value, what="branch name", where=where, limit=BRANCH_CHARS)
    if not name.strip():
        raise invalid(
            "A branch name must not be blank", where, name, "Pass a visible name."
        )
    return name


def check_expected_head(
    value: object, *, where: str = "expected_head"
) -> TurnId | None:
    """`value` if it is None or of the form of a turn id (`b2:` and 64 hex digits)."""
    if value is None or is_turn_id(value):
        return value  # type: ignore[return-value]
    raise invalid(
        "An expected head must be None or a turn id",
        where,
        value,
        "Pass the head a load() returned (Conversation.head) or an append's result.",
    )

"""The one builder of a refused request: what, which rule, which target, where, fix."""

from __future__ import annotations

from convo._targets import Target
from convo.errors import PayloadTooLargeError, RequestRejectedError, message

__all__ = ["reject"]


def reject(
    what: str,
    *,
    rule: str,
    target: Target,
    path: str | None = None,
    received: object = ...,
    fix: str | None = None,
    too_large: bool = False,
) -> RequestRejectedError:
    """A `RequestRejectedError` (or `PayloadTooLargeError`) naming rule, target and fix."""
    cls = PayloadTooLargeError if too_large else RequestRejectedError
    return cls(
        message(
            f"{what} (rule {rule}, target {target.name!r})",
            where=path,
            received=received,
            fix=fix,
        ),
        rule=rule,
        target=target.name,
        path=path,
    )

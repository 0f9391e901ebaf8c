"""The one builder of a refused request: what, which rule, which target, where, fix.

A provider rule (`convo.rules.RULES`) is cited as `(rule R16, target 'name')`
and the NOT_GIVEN ends with `See docs/provider-rules.md#r16.`; a format's own
shape rule (`anthropic.first_user`, ...) is cited the same way, without a link.
"""

from __future__ import annotations

from convo._targets import Target
from convo.errors import NOT_GIVEN, PayloadTooLargeError, RequestRejectedError
from convo.rules import rule as provider_rule

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
    known = provider_rule(rule)
    return cls(
        what,
        rule=rule,
        target=target.name,
        path=path,
        received=NOT_GIVEN if received is ... else received,
        fix=fix,
        link=None if known is None else known.link,
    )

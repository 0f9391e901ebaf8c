"""The one builder of a refused request: what, which rule, which target, where, fix.

A provider rule (`convo.rules.RULES`) is cited as `(rule R16, target 'name')`
and the message ends with `See docs/provider-rules.md#r16.`; a format's own
shape rule (`anthropic.first_user`, ...) is cited the same way, without a link.
"""

from __future__ import annotations

from convo._targets import Target
from convo.errors import PayloadTooLargeError, RequestRejectedError, message
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
    text = message(
        f"{what} (rule {rule}, target {target.name!r})",
        where=path,
        received=received,
        fix=fix,
    )
    known = provider_rule(rule)
    if known is not None:
        text += f" See {known.link}."
    return cls(text, rule=rule, target=target.name, path=path)

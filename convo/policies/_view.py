"""The request view, policy notes, and how policies are chained.

A policy is one pure callable `RequestView -> RequestView`. The view holds the
turns about to be sent (a path of the conversation, never the stored graph),
the tool definitions and the target. Policies return new views; turns are
immutable values, so a policy that drops a block builds a new turn with
`Turn.with_blocks` and the stored history is untouched.

Invariant: a view's `notes` only grow along a chain; each note says which
policy did what, where (a `$.turns[i].blocks[j]` path into the view that
policy received) and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

import attrs

from convo._check import as_tuple
from convo._targets import Target, expect_target
from convo._tools import Tool
from convo._turns import Turn

__all__ = ["Policy", "PolicyNote", "RequestView", "compose"]


@attrs.frozen(kw_only=True)
class PolicyNote:
    """One thing a policy did to a request view, and why (the plan, for logs and tests)."""

    policy: str
    """The policy's name, e.g. `keep_last_reasoning`."""
    action: str
    """What it did: `drop`, `remove_turn`, `mark`, `skip`, `evict`, `insert`, ..."""
    path: str
    """Where, in the view the policy received: `$.turns[3].blocks[0]`, `$.tools[1]`."""
    reason: str
    """Why, in plain words, naming the provider rule when there is one."""


def _turns(value: Iterable[Turn]) -> tuple[Turn, ...]:
    return as_tuple(
        value, "turns", expected="Turn", fix="Pass the turns to send, in order."
    )


def _tools(value: Iterable[Tool]) -> tuple[Tool, ...]:
    return as_tuple(
        value, "tools", expected="Tool", fix="Pass the tools offered, or ()."
    )


def _notes(value: Iterable[PolicyNote]) -> tuple[PolicyNote, ...]:
    return as_tuple(
        value, "notes", expected="PolicyNote", fix="Pass the notes so far, or ()."
    )


def _target(_instance: object, _attribute: object, value: Target) -> None:
    expect_target(value)


@attrs.frozen(kw_only=True)
class RequestView:
    """What one request will carry: turns, tool definitions, the target, and notes.

    Build a changed copy with `with_turns` / `noted` (or `attrs.evolve`).
    """

    turns: tuple[Turn, ...] = attrs.field(converter=_turns)
    """The turns to send, oldest first (a path of the conversation, after policies)."""
    tools: tuple[Tool, ...] = attrs.field(default=(), converter=_tools)
    """The tool definitions offered with the request."""
    target: Target = attrs.field(validator=_target)
    """The served model; policies read its reasoning, cache and tool rules."""
    notes: tuple[PolicyNote, ...] = attrs.field(default=(), converter=_notes)
    """What the policies applied so far did, in order."""

    def with_turns(
        self, turns: Iterable[Turn], notes: Iterable[PolicyNote] = ()
    ) -> RequestView:
        """A copy with other turns and `notes` appended to the notes."""
        return attrs.evolve(self, turns=tuple(turns), notes=(*self.notes, *notes))

    def noted(self, notes: Iterable[PolicyNote]) -> RequestView:
        """A copy with `notes` appended (the view itself unchanged)."""
        added = tuple(notes)
        if not added:
            return self
        return attrs.evolve(self, notes=(*self.notes, *added))


Policy: TypeAlias = Callable[[RequestView], RequestView]
"""A pure function from a request view to a request view."""


@attrs.frozen(kw_only=True)
class _Chain:
    """Policies applied left to right; built only by `compose(...)`."""

    policies: tuple[Policy, ...]

    def __call__(self, view: RequestView) -> RequestView:
        for policy in self.policies:
            view = policy(view)
        return view


def compose(*policies: Policy) -> Policy:
    """One policy that applies `policies` left to right (nested chains are flattened).

    The one way to chain policies: `compose(a, b)(view)` is `b(a(view))`, and
    `compose()` is the identity.
    """
    flat: list[Policy] = []
    for policy in policies:
        if isinstance(policy, _Chain):
            flat.extend(policy.policies)
        else:
            flat.append(policy)
    return _Chain(policies=tuple(flat))


def policy_name(policy: object) -> str:
    """A readable name for a policy (its `name` attribute, or its function name)."""
    name = getattr(policy, "name", None)
    if isinstance(name, str):
        return name
    return getattr(policy, "__name__", type(policy).__name__)

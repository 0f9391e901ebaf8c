"""Reasoning policies: which reasoning blocks a request carries back.

- `drop_reasoning`: none at all.
- `keep_last_reasoning`: only the reasoning of the last exchange (the last
  answer and every step of its tool-use session).
- `drop_foreign_reasoning`: only reasoning the target's family produced, signed
  when the target needs signatures (rule R4); never turned into text.

Invariant (rule R13): an assistant turn that a policy leaves with reasoning
only, or with nothing, is removed whole; a turn with tool calls always keeps
its calls, so tool pairing is never broken. Blocks are never edited, only
kept or dropped, so kept signed reasoning stays byte-identical (rule R1).

The derived turn is memoized on the source turn (`Turn.memo`), so a view built
again from the same conversation gets the very same turn objects back, with
their encodings and digests already computed.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from convo._blocks import ReasoningBlock, SummaryText
from convo._structure import last_assistant_index, last_user_index
from convo._turns import MemoKey, Turn
from convo.policies._view import PolicyNote, RequestView

__all__ = [
    "DropForeignReasoning",
    "DropReasoning",
    "KeepLastReasoning",
    "drop_foreign_reasoning",
    "drop_reasoning",
    "keep_last_reasoning",
    "without_reasoning",
]

_UNCHANGED: tuple[Turn | None, int] = (None, 0)


WITHOUT_REASONING: MemoKey[tuple[Turn | None, int]] = MemoKey(
    "convo.policies.no_reasoning"
)
"""A turn minus the reasoning a policy refuses; `.variant(...)` per refusal rule."""


def without_reasoning(
    turn: Turn,
    *,
    key: MemoKey[tuple[Turn | None, int]],
    keep: Callable[[ReasoningBlock], bool],
) -> tuple[Turn | None, int]:
    """`turn` minus the reasoning blocks `keep` refuses, memoized under `key`.

    Returns:
        (derived turn, number dropped). Nothing dropped: (None, 0). The turn
        must go whole (left with reasoning only or nothing, rule R13): (None, n).
    """
    for block in turn.blocks:
        if isinstance(block, ReasoningBlock):
            break
    else:
        # No reasoning to drop: the answer `_without` would give, without
        # storing it on the turn (most turns of a long path; a cold resume
        # pays per store).
        return _UNCHANGED
    found = turn.memoized(key)  # runs per turn per request: no closure on a hit
    if found is not None:
        return found
    return turn.memo(key, lambda: _without(turn, keep))


def _without(
    turn: Turn, keep: Callable[[ReasoningBlock], bool]
) -> tuple[Turn | None, int]:
    blocks = tuple(
        b for b in turn.blocks if not isinstance(b, ReasoningBlock) or keep(b)
    )
    dropped = len(turn.blocks) - len(blocks)
    if not dropped:
        return _UNCHANGED
    if all(isinstance(b, ReasoningBlock) for b in blocks):
        return (None, dropped)
    return (turn.with_blocks(blocks), dropped)


def strip(
    view: RequestView,
    *,
    policy: str,
    key: MemoKey[tuple[Turn | None, int]],
    keep: Callable[[ReasoningBlock], bool],
    stop: int | None = None,
    reason: str,
) -> RequestView:
    """Drop the reasoning `keep` refuses from the turns before index `stop` (all: None).

    Notes: one `drop_reasoning` note for the whole call (path: the range of
    turns touched), and one `remove_turn` note per turn removed whole.
    """
    turns = view.turns
    end = len(turns) if stop is None else stop
    out: list[Turn] = []
    notes: list[PolicyNote] = []
    first = last = -1
    blocks = touched = 0
    for i in range(end):
        turn = turns[i]
        derived, dropped = without_reasoning(turn, key=key, keep=keep)
        if not dropped:
            out.append(turn)
            continue
        if first < 0:
            first = i
        last = i
        blocks += dropped
        touched += 1
        if derived is None:
            notes.append(
                PolicyNote(
                    policy=policy,
                    action="remove_turn",
                    path=f"$.turns[{i}]",
                    reason=f"{reason}; the {turn.role} turn was left with reasoning "
                    "only, which may not be sent (R13)",
                )
            )
        else:
            out.append(derived)
    if first < 0:
        return view
    where = f"$.turns[{first}]" if first == last else f"$.turns[{first}:{last + 1}]"
    notes.insert(
        0,
        PolicyNote(
            policy=policy,
            action="drop_reasoning",
            path=where,
            reason=f"{blocks} reasoning block(s) dropped from {touched} turn(s): "
            f"{reason}",
        ),
    )
    out.extend(turns[end:])
    return view.with_turns(out, notes)


def _never(_block: ReasoningBlock) -> bool:
    return False


@attrs.frozen(kw_only=True)
class DropReasoning:
    """No reasoning block remains; assistant turns left with nothing are removed (R13).

    Laws: deterministic, pure, keeps pairing, idempotent, prefix stable.
    """

    name: str = "drop_reasoning"
    claims: tuple[str, ...] = ("idempotent", "prefix_stable")

    def __call__(self, view: RequestView) -> RequestView:
        return strip(
            view,
            policy=self.name,
            key=WITHOUT_REASONING,
            keep=_never,
            reason="drop_reasoning sends no reasoning",
        )


@attrs.frozen(kw_only=True)
class KeepLastReasoning:
    """Keep reasoning only after the last genuine user turn before the last answer.

    Let A be the last assistant turn and U the last genuine user turn before A:
    reasoning is kept in every assistant turn after U (A's whole exchange, every
    step of a tool-use session included) and dropped in every turn before U.
    This is the "last assistant turn or tool-use session" a server that discards
    earlier reasoning still reads (and must be sent, rule R2).

    Laws: deterministic, pure, keeps pairing, idempotent. Not prefix stable:
    a new exchange drops the previous exchange's reasoning.
    """

    name: str = "keep_last_reasoning"
    claims: tuple[str, ...] = ("idempotent",)

    def __call__(self, view: RequestView) -> RequestView:
        last = last_assistant_index(view.turns)
        if last is None:
            return view
        boundary = last_user_index(view.turns, before=last)
        if boundary is None:
            return view
        return strip(
            view,
            policy=self.name,
            key=WITHOUT_REASONING,
            keep=_never,
            stop=boundary,
            reason=f"it precedes the last user turn before the last answer "
            f"($.turns[{boundary}])",
        )


@attrs.frozen(kw_only=True)
class DropForeignReasoning:
    """Drop reasoning another model family made, of unknown origin, or unsigned (R4).

    Reasoning signed for another route (`Provenance.route` differs from
    `Target.route`) is foreign too: a Claude signature from chat completions
    is no Open Responses blob, and an `encrypted_content` blob from one
    Responses route is not verified by another (RR10 in docs/responses.md).

    A block is kept only when its provenance names the target's family and,
    for targets that require signatures, it is signed: on the chat route some
    part carries the signature (`ReasoningBlock.is_signed`, the streamed form);
    on the Anthropic route every `summary_text` part must carry its own.
    Dropped blocks are never turned into text: a model shown another model's
    reasoning as text leaks or refuses.

    Laws: deterministic, pure, keeps pairing, idempotent, prefix stable.
    """

    name: str = "drop_foreign_reasoning"
    claims: tuple[str, ...] = ("idempotent", "prefix_stable")

    def __call__(self, view: RequestView) -> RequestView:
        target = view.target
        family = target.family
        signed = target.requires_signatures

        every_part = target.signs_each_reasoning_part
        route = target.route

        def keep(block: ReasoningBlock) -> bool:
            provenance = block.provenance
            if provenance is None or provenance.family != family:
                return False
            if provenance.route != route:
                # Signed for another route: its server cannot verify it (R10).
                return False
            if not signed:
                return True
            if every_part:
                # The Messages API sends each part as its own `thinking` block,
                # and each one needs its signature.
                return all(
                    not isinstance(p, SummaryText) or bool(p.signature)
                    for p in block.parts
                )
            # Databricks chat takes the streamed form too: unsigned fragments
            # closed by a signature-only part.
            return block.is_signed

        return strip(
            view,
            policy=self.name,
            key=WITHOUT_REASONING.variant(
                f"foreign:{family}:{signed}:{target.wire}:{route}"
            ),
            keep=keep,
            reason=f"not produced by the {family!r} family"
            + (" with a signature" if signed else "")
            + (
                f" on the {route!r} route (R4; encrypted reasoning is bound to "
                "its route, RR10 in docs/responses.md)"
                if route
                else " (R4)"
            ),
        )


def drop_reasoning() -> DropReasoning:
    """The policy that sends no reasoning at all (R13); see `DropReasoning`."""
    return DropReasoning()


def keep_last_reasoning() -> KeepLastReasoning:
    """The policy that sends only the last exchange's reasoning; see `KeepLastReasoning`."""
    return KeepLastReasoning()


def drop_foreign_reasoning() -> DropForeignReasoning:
    """The policy that sends only reasoning the target's own family signed (R4).

    See `DropForeignReasoning`.
    """
    return DropForeignReasoning()

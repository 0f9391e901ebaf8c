"""Prefix binding (rule R5): what each answer was generated from, and the check.

Newer Claude models bind a signed reasoning block to the exact content before
it when it was generated. `Chat` stamps each answer with
`Turn.generated_from = prefix_digest(view.turns)`, the digest of the request
view it answered. Before a later request, `bind_prefixes` recomputes the digest
of each reasoning-bearing assistant turn's prefix in the new view; where it
differs, the reasoning no longer matches what the server will see, so it is
dropped with a note (default) or the request is refused (strict).

Digest: `"pb2:"` + blake2b-256 over the concatenated per-turn digests, where a
turn's digest is blake2b-256 of its canonical bytes (`convo.wire.canonical`)
with every `cache_control` marker removed; markers are request decorations
(rule R6), not content. Per-turn digests are memoized on the turn
(`Turn.memo`), so a prefix costs one hash update per turn.

Ordering: `bind_prefixes` must run after every policy that changes content
(reasoning policies, `trim`, `repair_tool_pairs`), because the digest it
checks is that of the final turns; only marker placement
(`cache_breakpoints`) may follow it. It checks turns in order on the view it is
building, so one changed prefix invalidates every later bound block too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import attrs

from convo._blocks import (
    Block,
    ImageBlock,
    ReasoningBlock,
    TextBlock,
    ToolResultBlock,
)
from convo._turns import Turn
from convo.errors import PrefixChangedError, message
from convo.policies._reasoning import without_reasoning
from convo.policies._view import PolicyNote, RequestView
from convo.wire._converter import turn_bytes

__all__ = [
    "DIGEST_TAG",
    "BindPrefixes",
    "bind_prefixes",
    "prefix_digest",
    "turn_digest",
    "unmarked",
]

DIGEST_TAG = "pb2:"
"""Prefix digests start with this tag (prefix, blake2b) so a change of scheme shows."""


def _has_marker(block: Block) -> bool:
    if block.cache_control is not None:
        return True
    if isinstance(block, ToolResultBlock) and not isinstance(block.content, str):
        return any(b.cache_control is not None for b in block.content)
    return False


def _unmark(block: Block) -> Block:
    if isinstance(block, ToolResultBlock) and not isinstance(block.content, str):
        content: tuple[TextBlock | ImageBlock, ...] = tuple(
            b if b.cache_control is None else attrs.evolve(b, cache_control=None)
            for b in block.content
        )
        return attrs.evolve(block, cache_control=None, content=content)
    return attrs.evolve(block, cache_control=None)


def unmarked(turn: Turn) -> Turn:
    """`turn` without any `cache_control` marker (the same object if it has none)."""
    if not any(_has_marker(b) for b in turn.blocks):
        return turn
    return turn.with_blocks(_unmark(b) if _has_marker(b) else b for b in turn.blocks)


def turn_digest(turn: Turn) -> bytes:
    """blake2b-256 of the turn's canonical bytes, markers removed (memoized)."""

    def build() -> bytes:
        return hashlib.blake2b(turn_bytes(unmarked(turn)), digest_size=32).digest()

    digest: bytes = turn.memo("convo.policies.digest", build)
    return digest


def prefix_digest(turns: Sequence[Turn]) -> str:
    """The digest of a sent view prefix, markers aside (stored as `Turn.generated_from`)."""
    h = hashlib.blake2b(digest_size=32)
    for turn in turns:
        h.update(turn_digest(turn))
    return DIGEST_TAG + h.hexdigest()


def _bound(turn: Turn) -> bool:
    return turn.generated_from is not None and any(
        isinstance(b, ReasoningBlock) for b in turn.blocks
    )


def _never(_block: ReasoningBlock) -> bool:
    return False


@attrs.frozen(kw_only=True)
class BindPrefixes:
    """Drop (or refuse) reasoning whose generation prefix changed since (rule R5).

    For each assistant turn with reasoning and `generated_from` set, the digest
    of the view's turns before it is compared with `generated_from`; on a
    mismatch its reasoning is dropped with a note (the turn goes whole if that
    leaves it reasoning-only, rule R13), or `PrefixChangedError` is raised when
    `strict`. Run it after every content-changing policy (module docstring).

    Laws: deterministic, pure, keeps pairing, idempotent, prefix stable.
    """

    strict: bool = False
    """Raise `PrefixChangedError` instead of dropping the reasoning."""
    name: str = "bind_prefixes"
    claims: tuple[str, ...] = ("idempotent", "prefix_stable")

    def __call__(self, view: RequestView) -> RequestView:
        turns = view.turns
        last = -1
        for i in range(len(turns) - 1, -1, -1):
            if _bound(turns[i]):
                last = i
                break
        if last < 0:
            return view
        h = hashlib.blake2b(digest_size=32)
        pending: list[bytes] = []
        out: list[Turn] = []
        notes: list[PolicyNote] = []
        for i in range(last + 1):
            turn = turns[i]
            generated_from = turn.generated_from
            if generated_from is not None and _bound(turn):
                h.update(b"".join(pending))
                pending.clear()
                current = DIGEST_TAG + h.copy().hexdigest()
                if current != generated_from:
                    if self.strict:
                        where = f"$.turns[{i}]"
                        raise PrefixChangedError(
                            message(
                                "The content before this reasoning changed since it "
                                "was generated, so the server would refuse or ignore "
                                "it (R5)",
                                where=where,
                                received=current,
                                fix="Restore the earlier turns, regenerate the answer, "
                                "or use bind_prefixes(strict=False) to drop the "
                                "reasoning.",
                            ),
                            policy=self.name,
                            path=where,
                        )
                    derived, _ = without_reasoning(
                        turn, key="convo.policies.no_reasoning", keep=_never
                    )
                    action = "remove_turn" if derived is None else "drop_reasoning"
                    notes.append(
                        PolicyNote(
                            policy=self.name,
                            action=action,
                            path=f"$.turns[{i}]",
                            reason="the turns before it differ from the request it was "
                            "generated from, so its reasoning no longer matches (R5)",
                        )
                    )
                    if derived is None:
                        continue
                    turn = derived
            out.append(turn)
            pending.append(turn_digest(turn))
        if not notes:
            return view
        out.extend(turns[last + 1 :])
        return view.with_turns(out, notes)


def bind_prefixes(*, strict: bool = False) -> BindPrefixes:
    """The prefix-binding policy (rule R5); see `BindPrefixes`.

    Args:
        strict: raise `PrefixChangedError` instead of dropping reasoning.
    """
    return BindPrefixes(strict=strict)

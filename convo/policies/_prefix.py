"""Prefix binding (rule R5): what each answer was generated from, and the check.

Newer Claude models bind a signed reasoning block to the exact content before
it when it was generated. `Chat` stamps each answer with
`Turn.generated_from = prefix_digest(view.turns, target=view.target)`, the
digest of the request view it answered, *as that target's server sees it*.
Before a later request, `bind_prefixes` recomputes the digest of each
reasoning-bearing assistant turn's prefix in the new view; where it differs,
the reasoning no longer matches what the server will see, so it is dropped
with a note (default) or the request is refused (strict).

What "the prefix" is depends on the server (the target's
`keeps_reasoning_in_context`):

- A server that keeps earlier reasoning in context (Opus 4.5) sees every turn
  byte for byte, earlier reasoning included: the **full** digest, tag `pb2:`.
- A server that discards earlier reasoning (Sonnet 4 / 4.5, Opus 4.1, and every
  target that is not known to keep it) sees only the reasoning of the last
  assistant turn or tool-use session. For an answer generated after the user
  turn U, reasoning before U is not part of what the server saw, so it is not
  part of the **visible** digest, tag `pv1:`: turns before the last genuine
  user turn of the prefix count without their reasoning (a turn that is
  reasoning only counts as nothing, since R13 removes it whole), and turns
  from that user turn on count whole. Dropping or keeping an older exchange's
  reasoning (what `keep_last_reasoning` does as the conversation grows) leaves
  every later digest unchanged, while any change to text, tool calls, results
  or the current exchange's reasoning still shows.

A stamp is checked in the scheme its tag names when the target's server agrees
with it: a stripping target checks `pv1:` stamps visibly and `pb2:` stamps in
full (stricter, so older stamps stay valid); a preserving target accepts only
`pb2:` stamps, since an answer made by a stripping server was never bound to
the earlier reasoning a preserving server would now read. A stamp from another
scheme is a changed prefix.

Digest: the tag + blake2b-256 over the concatenated per-turn digests, where a
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
from convo._check import expect_items
from convo._converter import turn_bytes
from convo._structure import last_user_index
from convo._targets import Target, expect_target
from convo._turns import MemoKey, Turn
from convo.errors import PrefixChangedError
from convo.policies._reasoning import WITHOUT_REASONING, without_reasoning
from convo.policies._view import PolicyNote, RequestView

__all__ = [
    "DIGEST_TAG",
    "VISIBLE_TAG",
    "BindPrefixes",
    "bind_prefixes",
    "prefix_digest",
    "turn_digest",
    "unmarked",
    "visible_turn_digest",
]

DIGEST_TAG = "pb2:"
"""Full prefix digests start with this tag (prefix, blake2b) so a change of scheme shows."""
VISIBLE_TAG = "pv1:"
"""Visible prefix digests (earlier exchanges without their reasoning) start with this tag."""


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


DIGEST: MemoKey[bytes] = MemoKey("convo.policies.digest")
"""A turn's digest without cache markers (`turn_digest`)."""
VISIBLE_DIGEST: MemoKey[bytes] = MemoKey("convo.policies.visible_digest")
"""The digest of what a stripping server sees of a turn (`visible_turn_digest`)."""


def turn_digest(turn: Turn) -> bytes:
    """blake2b-256 of the turn's canonical bytes, markers removed (memoized)."""

    found = turn.memoized(DIGEST)
    if found is not None:
        return found

    def build() -> bytes:
        return hashlib.blake2b(turn_bytes(unmarked(turn)), digest_size=32).digest()

    return turn.memo(DIGEST, build)


def _never(_block: ReasoningBlock) -> bool:
    return False


def visible_turn_digest(turn: Turn) -> bytes:
    """The digest of `turn` as part of an earlier exchange on a stripping server.

    That is `turn_digest` of the turn without its reasoning blocks, and empty
    bytes (it counts as nothing) when the turn is reasoning only (memoized).
    """

    found = turn.memoized(VISIBLE_DIGEST)
    if found is not None:
        return found

    def build() -> bytes:
        derived, dropped = without_reasoning(turn, key=WITHOUT_REASONING, keep=_never)
        if not dropped:
            return turn_digest(turn)
        return b"" if derived is None else turn_digest(derived)

    return turn.memo(VISIBLE_DIGEST, build)


def _sees_all(target: Target | None) -> bool:
    return target is None or target.keeps_reasoning_in_context


def prefix_digest(turns: Sequence[Turn], *, target: Target | None = None) -> str:
    """The digest of a sent view prefix as `target`'s server sees it (`Turn.generated_from`).

    Args:
        turns: the turns the answer was generated from, in order.
        target: the target that answered. A target whose server discards
            earlier reasoning gets the visible digest (`pv1:`); one that keeps
            it, or None, the full digest (`pb2:`). See the module docstring.

    Raises:
        UsageError: `turns` is not a sequence of Turn, or `target` not a Target.
    """
    expect_items(
        turns, Turn, "turns", fix="Pass the turns the answer was generated from."
    )
    if target is not None:
        expect_target(target)
    h = hashlib.blake2b(digest_size=32)
    if _sees_all(target):
        for turn in turns:
            h.update(turn_digest(turn))
        return DIGEST_TAG + h.hexdigest()
    boundary = last_user_index(turns)
    split = 0 if boundary is None else boundary
    for i, turn in enumerate(turns):
        h.update(visible_turn_digest(turn) if i < split else turn_digest(turn))
    return VISIBLE_TAG + h.hexdigest()


def _scheme(generated_from: str, visible_ok: bool) -> str:
    """The tag of the scheme a stamp is checked in (another scheme's stamp: in full)."""
    if generated_from.startswith(VISIBLE_TAG) and visible_ok:
        return VISIBLE_TAG
    return DIGEST_TAG


def _bound(turn: Turn) -> bool:
    if turn.generated_from is None:
        return False
    for block in turn.blocks:  # noqa: SIM110 - no generator: runs per turn per request
        if isinstance(block, ReasoningBlock):
            return True
    return False


class _Running:
    """The digests of the turns kept so far, updated one turn at a time.

    `full` covers every kept turn; the visible digest is `before` (the visible
    digests of the kept turns before the last genuine user turn) followed by
    the full digests of `since` (that user turn and every kept turn after it).
    Only the schemes asked for at construction are kept up (`full`,
    `visible`): the stamps a view holds name one scheme, almost always.
    """

    def __init__(self, *, full: bool, visible: bool) -> None:
        self.full = hashlib.blake2b(digest_size=32)
        self.before = hashlib.blake2b(digest_size=32)
        self.since: list[Turn] = []
        self._full = full
        self._visible = visible

    def add(self, turn: Turn) -> None:
        if self._full:
            self.full.update(turn_digest(turn))
        if not self._visible:
            return
        if turn.is_genuine_user:
            for earlier in self.since:
                self.before.update(visible_turn_digest(earlier))
            self.since.clear()
        self.since.append(turn)

    def digest(self, tag: str) -> str:
        if tag == DIGEST_TAG:
            return DIGEST_TAG + self.full.copy().hexdigest()
        h = self.before.copy()
        for turn in self.since:
            h.update(turn_digest(turn))
        return VISIBLE_TAG + h.hexdigest()


@attrs.frozen(kw_only=True)
class BindPrefixes:
    """Drop (or refuse) reasoning whose generation prefix changed since (rule R5).

    For each assistant turn with reasoning and `generated_from` set, the digest
    of the view's turns before it, as the view's target sees them (module
    docstring), is compared with `generated_from`; on a mismatch its reasoning
    is dropped with a note (the turn goes whole if that leaves it
    reasoning-only, rule R13), or `PrefixChangedError` is raised when `strict`.
    Run it after every content-changing policy (module docstring).

    Laws: deterministic, pure, keeps pairing, idempotent, prefix stable.
    """

    strict: bool = False
    """Raise `PrefixChangedError` instead of dropping the reasoning."""
    name: str = "bind_prefixes"
    claims: tuple[str, ...] = ("idempotent", "prefix_stable")

    def __call__(self, view: RequestView) -> RequestView:
        turns = view.turns
        # A stripping server may be checked in either scheme; a preserving one
        # only in full (module docstring).
        visible_ok = not _sees_all(view.target)
        schemes = {
            i: _scheme(turn.generated_from, visible_ok)
            for i, turn in enumerate(turns)
            if turn.generated_from is not None and _bound(turn)
        }
        if not schemes:
            return view
        last = max(schemes)
        running = _Running(
            full=DIGEST_TAG in schemes.values(), visible=VISIBLE_TAG in schemes.values()
        )
        out: list[Turn] = []
        notes: list[PolicyNote] = []
        for i in range(last + 1):
            turn = turns[i]
            scheme = schemes.get(i)
            if scheme is not None:
                generated_from = turn.generated_from
                current = running.digest(scheme)
                if current != generated_from:
                    if self.strict:
                        where = f"$.turns[{i}]"
                        raise PrefixChangedError(
                            "The content before this reasoning changed since it "
                            "was generated, so the server would refuse or ignore "
                            "it (R5)",
                            policy=self.name,
                            path=where,
                            received=current,
                            fix="Restore the earlier turns, regenerate the answer, "
                            "or use bind_prefixes(strict=False) to drop the "
                            "reasoning.",
                        )
                    derived, _ = without_reasoning(
                        turn, key=WITHOUT_REASONING, keep=_never
                    )
                    action = "remove_turn" if derived is None else "drop_reasoning"
                    notes.append(
                        PolicyNote(
                            policy=self.name,
                            action=action,
                            path=f"$.turns[{i}]",
                            reason="the turns before it differ from the request it was "
                            "generated from, as this target's server sees them, so its "
                            "reasoning no longer matches (R5)",
                        )
                    )
                    if derived is None:
                        continue
                    turn = derived
            out.append(turn)
            running.add(turn)
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

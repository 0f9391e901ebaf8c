"""`fit`: keep a request inside the target's context window.

The budget for turns is `window - max_output - tool definitions - margin`
(window and output cap from the target unless given). When the view is over
it, `fit` removes or shrinks the oldest *groups* first. A group is one
exchange: a genuine user turn and everything up to the next one, so a tool
call always goes with its results and a tool session with its exchange. Never
touched: the system turn, the last `keep_last` exchanges (the current one, with
any tool session in progress, is always among them) and, with `keep_first`,
the first exchange. With `shrink_tool_results`, old tool results longer than
`preview_chars` are cut to their head and tail before any exchange is dropped.
Kept turns are otherwise the stored turns, byte for byte.

Stability (what lets prompt caching and signed reasoning survive): the amount
removed is the overshoot rounded *up* to a multiple of `step` tokens, and the
current exchange is budgeted at `max(its size, reserve)`. While a tool session
is in progress, the cut is decided on the turns before the session (exactly
what the session's first request was decided on), so every request of the
session cuts at the same place, the prefix of each answer in it is the prefix
it was generated from, and `bind_prefixes` keeps its reasoning (R2, R5). Only
a session that outgrows `reserve` moves the cut; where the target needs the
session's signed reasoning back (Claude with thinking, R2) that is refused
with `ContextWindowError` instead, since the server would refuse it: raise
`reserve`. Between exchanges the
cut moves only after about `step` tokens of growth, so cached prefixes hold.

Laws: deterministic, pure, keeps pairing, idempotent (a fitted view is under
budget, so fitting again changes nothing), monotone (for one window and step, a
larger budget never keeps fewer turns). Not prefix stable: moving the cut
changes every later prefix, which is what `step` makes rare.

When even the protected groups do not fit, `ContextWindowError` names the
window, the output reserve, the tools, the margin and what the turns need.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from convo._blocks import Block, ReasoningBlock, TextBlock, ToolResultBlock
from convo._check import expect_instance, expect_text
from convo._structure import current_exchange_start, tool_session_start
from convo._turns import MemoKey, Turn
from convo.errors import ContextWindowError, PolicyError
from convo.policies._count import CHARS, TokenCounter
from convo.policies._trim import units
from convo.policies._view import PolicyNote, RequestView

__all__ = ["Fit", "fit", "preview"]

_OMITTED = "\n[… {n} characters omitted …]\n"


BARE_SIZE: MemoKey[int] = MemoKey("convo.policies.fit.bare")
"""A turn's size without its reasoning, per counter (`.variant(repr(counter))`)."""


def preview(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters: its head, a marker, its tail.

    Raises:
        UsageError: `text` is not a str or `limit` not an int.
    """
    expect_text(text, "text")
    expect_instance(limit, int, "limit", fix="Pass a number of characters, e.g. 2000.")
    if len(text) <= limit:
        return text
    half = max(1, limit // 2)
    omitted = len(text) - 2 * half
    return text[:half] + _OMITTED.format(n=omitted) + text[-half:]


def _shrink_block(block: Block, limit: int) -> Block:
    if not isinstance(block, ToolResultBlock):
        return block
    if isinstance(block.content, str):
        cut = preview(block.content, limit)
        return block if cut == block.content else attrs.evolve(block, content=cut)
    inner = tuple(
        attrs.evolve(b, text=preview(b.text, limit))
        if isinstance(b, TextBlock) and len(b.text) > limit
        else b
        for b in block.content
    )
    if all(a is b for a, b in zip(inner, block.content, strict=True)):
        return block
    return attrs.evolve(block, content=inner)


def shrink_results(turn: Turn, limit: int) -> Turn:
    """`turn` with every tool result longer than `limit` cut to a preview (same object if none)."""
    if not turn.tool_results:
        return turn
    blocks = tuple(_shrink_block(b, limit) for b in turn.blocks)
    if all(a is b for a, b in zip(blocks, turn.blocks, strict=True)):
        return turn
    return turn.with_blocks(blocks)


def _needs_session(view: RequestView, session: int) -> bool:
    """The target needs the in-progress session's signed reasoning back (R2)."""
    return view.target.reasoning_required_in_tool_loop and any(
        t.reasoning for t in view.turns[session:]
    )


@attrs.frozen(kw_only=True)
class _Decision:
    saved: int
    """Tokens the shrinking and dropping save."""
    replaced: dict[int, Turn]
    """Turn index -> its shrunk copy."""
    dropped: frozenset[int]
    """Indexes of the dropped units."""
    notes: tuple[PolicyNote, ...]


@attrs.frozen(kw_only=True)
class Fit:
    """Keep the view within the context window; see `fit` and the module docstring.

    Laws: deterministic, pure, keeps pairing, idempotent, monotone in the budget.
    """

    window: int | None = None
    max_output: int | None = None
    margin: int | None = None
    step: int | None = None
    reserve: int | None = None
    keep_first: bool = False
    keep_last: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    shrink_tool_results: bool = False
    preview_chars: int = attrs.field(default=400, validator=attrs.validators.ge(2))
    counter: TokenCounter = CHARS
    name: str = "fit"
    claims: tuple[str, ...] = ("idempotent",)

    def limits(self, view: RequestView) -> tuple[int, int, int, int, int]:
        """(window, max_output, tools, margin, step) for `view`, defaults filled in.

        The reserve for the current exchange is `reserve_for(window)`.

        Raises:
            PolicyError: neither this policy nor the target knows the window.
        """
        target = view.target
        window = self.window if self.window is not None else target.context_window
        if window is None:
            raise PolicyError(
                f"fit needs a context window and target {target.name!r} has none",
                policy=self.name,
                path="$.target.context_window",
                received=None,
                fix="Pass fit(window=...) or register the target with context_window=.",
            )
        max_output = (
            self.max_output
            if self.max_output is not None
            else (target.max_output_tokens or 0)
        )
        tools = self.counter.count_tools(view.tools)
        margin = self.margin if self.margin is not None else window // 10
        step = self.step if self.step is not None else max(1, window // 16)
        return window, max_output, tools, margin, step

    def reserve_for(self, window: int) -> int:
        """Tokens the current exchange may take before it moves the cut."""
        return self.reserve if self.reserve is not None else max(1, window // 8)

    def budget(self, view: RequestView) -> int:
        """Tokens left for the turns: window - max_output - tools - margin."""
        window, max_output, tools, margin, _ = self.limits(view)
        return window - max_output - tools - margin

    def __call__(self, view: RequestView) -> RequestView:
        window, max_output, tools, margin, step = self.limits(view)
        budget = window - max_output - tools - margin
        turns = view.turns
        sizes = [self.counter.count_turn(t) for t in turns]
        bounds = units(turns)
        why = (
            f"budget={budget} (window {window} - max_output {max_output} - tools "
            f"{tools} - margin {margin})"
        )
        # Decide on sizes without the reasoning of earlier exchanges: whether
        # the last answer's reasoning is still sent changes when a tool session
        # starts (keep_last_reasoning), and the cut must not change with it.
        start = current_exchange_start(turns)
        bare = [
            self._bare_size(t) if i < start else sizes[i] for i, t in enumerate(turns)
        ]
        attempts: list[tuple[Sequence[int], Sequence[tuple[int, int]]]] = []
        session = tool_session_start(turns)
        if session is not None:
            # Decide as the session's first request did (its basis ends at the
            # same turn), so every request of the session cuts at the same place.
            basis = units(turns[:session])
            if len(basis) == len(bounds):
                attempts.append((bare, basis))
        attempts += [(bare, bounds), (sizes, bounds)]
        reserve = self.reserve_for(window)
        for n, (counts, within) in enumerate(attempts):
            decision = self._decide(turns, counts, within, budget, step, reserve, why)
            after = self._size_after(turns, sizes, bounds, decision)
            if after <= budget:
                break
            if n == 0 and session is not None and _needs_session(view, session):
                # Moving the cut now would change the prefix of the session's
                # signed reasoning, which the target requires back (R2, R5).
                raise self._overflow(
                    window, max_output, tools, margin, after, session=True
                )
        else:
            raise self._overflow(window, max_output, tools, margin, after)
        if not decision.notes:
            return view
        head = 1 if turns and turns[0].role == "system" else 0
        kept: list[Turn] = [*turns[:head]]
        for u, (start, end) in enumerate(bounds):
            if u not in decision.dropped:
                kept.extend(
                    decision.replaced.get(i, turns[i]) for i in range(start, end)
                )
        return view.with_turns(kept, decision.notes)

    def _size_after(
        self,
        turns: Sequence[Turn],
        sizes: Sequence[int],
        bounds: Sequence[tuple[int, int]],
        decision: _Decision,
    ) -> int:
        """The count of the view `decision` leaves (turns as they will be sent)."""
        after = sizes[0] if turns and turns[0].role == "system" else 0
        for u, (start, end) in enumerate(bounds):
            if u in decision.dropped:
                continue
            for i in range(start, end):
                cut = decision.replaced.get(i)
                after += sizes[i] if cut is None else self.counter.count_turn(cut)
        return after

    def _bare_size(self, turn: Turn) -> int:
        """The count of `turn` without its reasoning blocks (memoized per turn)."""
        if not turn.reasoning:
            return self.counter.count_turn(turn)
        key = BARE_SIZE.variant(repr(self.counter))

        def build() -> int:
            kept = [b for b in turn.blocks if not isinstance(b, ReasoningBlock)]
            return self.counter.count_turn(turn.with_blocks(kept))

        return turn.memo(key, build)

    def _decide(
        self,
        turns: Sequence[Turn],
        sizes: Sequence[int],
        bounds: Sequence[tuple[int, int]],
        budget: int,
        step: int,
        reserve: int,
        why: str,
    ) -> _Decision:
        """What to shrink and drop, judged on the turns within `bounds`."""
        unit_sizes = [sum(sizes[s:e]) for s, e in bounds]
        current = unit_sizes[-1] if unit_sizes else 0
        head = sizes[0] if turns and turns[0].role == "system" else 0
        effective = head + sum(unit_sizes) - current + max(current, reserve)
        if effective <= budget:
            return _Decision(saved=0, replaced={}, dropped=frozenset(), notes=())
        protected = max(0, len(bounds) - self.keep_last)
        first = 1 if self.keep_first else 0
        candidates = range(first, protected)
        goal = -(-(effective - budget) // step) * step
        saved = 0
        replaced: dict[int, Turn] = {}
        shrunk: list[tuple[int, PolicyNote]] = []
        notes: list[PolicyNote] = []
        if self.shrink_tool_results:
            for u in candidates:
                if saved >= goal:
                    break
                start, end = bounds[u]
                for i in range(start, end):
                    cut = shrink_results(turns[i], self.preview_chars)
                    if cut is not turns[i]:
                        size = self.counter.count_turn(cut)
                        saved += sizes[i] - size
                        unit_sizes[u] -= sizes[i] - size
                        replaced[i] = cut
                        shrunk.append(
                            (
                                u,
                                PolicyNote(
                                    policy=self.name,
                                    action="shrink",
                                    path=f"$.turns[{i}]",
                                    reason=f"old tool results cut to a "
                                    f"{self.preview_chars}-character preview to fit {why}",
                                ),
                            )
                        )
        dropped: set[int] = set()
        for u in candidates:
            if saved >= goal:
                break
            saved += unit_sizes[u]
            dropped.add(u)
            start, end = bounds[u]
            notes.append(
                PolicyNote(
                    policy=self.name,
                    action="remove_turns",
                    path=f"$.turns[{start}:{end}]",
                    reason=f"oldest exchange (~{unit_sizes[u]} tokens) dropped to "
                    f"fit {why}",
                )
            )
        kept_shrinks = [note for u, note in shrunk if u not in dropped]
        return _Decision(
            saved=saved,
            replaced=replaced,
            dropped=frozenset(dropped),
            notes=(*kept_shrinks, *notes),
        )

    def _overflow(
        self,
        window: int,
        max_output: int,
        tools: int,
        margin: int,
        minimum: int,
        *,
        session: bool = False,
    ) -> ContextWindowError:
        budget = window - max_output - tools - margin
        kept = (
            "the system turn, the first exchange"
            if self.keep_first
            else ("the system turn")
        )
        if session:
            kept = "the tool session in progress outgrew its reserve: the history it "
            kept += "was answered with"
        return ContextWindowError(
            f"The request does not fit the context window: {kept} and the last "
            f"{self.keep_last} exchange(s) need ~{minimum} tokens, the budget is "
            f"{budget} (window {window} - max_output {max_output} - tools {tools} "
            f"- margin {margin})",
            policy=self.name,
            path="$.turns",
            window=window,
            max_output=max_output,
            tools=tools,
            margin=margin,
            budget=budget,
            minimum=minimum,
            fix="Lower max_tokens, shorten the last message or its tool results, "
            "lower keep_last, raise fit(reserve=...) for long tool sessions, or "
            "compact the conversation (Chat.compact).",
        )


def fit(
    *,
    window: int | None = None,
    max_output: int | None = None,
    margin: int | None = None,
    step: int | None = None,
    reserve: int | None = None,
    keep_first: bool = False,
    keep_last: int = 1,
    shrink_tool_results: bool = False,
    preview_chars: int = 400,
    counter: TokenCounter = CHARS,
) -> Fit:
    """A policy keeping the request within `window - max_output - tools - margin`.

    Args:
        window: the context window; default the target's `context_window`.
        max_output: tokens reserved for the answer; default the target's
            `max_output_tokens`. Pass your `RequestParams.max_tokens` here.
        margin: slack for the estimate's error; default a tenth of the window.
        step: the cut moves in multiples of this many tokens; default window / 16.
        reserve: room kept for the current exchange (a tool session) to grow
            without moving the cut; default window / 8.
        keep_first: never drop the first exchange.
        keep_last: never drop the last this many exchanges (at least 1).
        shrink_tool_results: cut old tool results to a head-and-tail preview
            before dropping exchanges.
        preview_chars: the preview's length in characters.
        counter: how turns and tools are counted (a real tokenizer, say).

    Raises (when applied):
        ContextWindowError: even the protected turns are over budget.
        PolicyError: no window is known.
    """
    return Fit(
        window=window,
        max_output=max_output,
        margin=margin,
        step=step,
        reserve=reserve,
        keep_first=keep_first,
        keep_last=keep_last,
        shrink_tool_results=shrink_tool_results,
        preview_chars=preview_chars,
        counter=counter,
    )

"""The context-window laws: `check_fit` and `check_compaction`.

Both run on realistic histories (`convo.testing.strategies.realistic_histories`:
conversations the real stack made against the fake endpoint) for every
built-in target the fake serves, and raise `LawBroken` naming the law with the
shrunk counterexample.

`check_fit(make_fit)`: the histories are made by `Chat` with
`default_policies(target, fit=make_fit(window))` for a window a little over the
history's size, so the stamps are what that chain really sent; then, on the
request of the next exchange:

- `validates`: the sent view passes `validate` and the fake answers 200;
- `pairing`: no tool call is split from its results;
- `session`: the current exchange (its tool session in progress, if any)
  reaches `fit` and leaves it byte-exact;
- `keeps_visible_reasoning`: the current exchange is sent byte-exact after the
  whole chain (markers aside), with its reasoning where the target needs it
  back in a tool loop (R2); earlier reasoning whose prefix `fit` changed is
  rightly dropped;
- `budget`: the fitted turns count no more than the budget, or
  `ContextWindowError` is raised naming a minimum over it;
- `idempotent`: fitting the fitted view changes nothing;
- `monotone`: a larger budget (smaller margin) keeps every turn a smaller one
  keeps verbatim, and no fewer turns.

`check_compaction(summarizer)`: on a history whose head is a finished answer,
a summary turn covering all but the last `keep_last` exchanges (0 to 2) is
appended, then the next question; the view after the default chain must
validate (fake 200), keep pairing, keep the turns after the covered prefix
verbatim (the first one behind the summary text), hold no summary turn, and
be no larger than the uncompacted view when the summary is shorter than what
it covers; `apply_summaries` must be idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis import target as target_score

from convo._blocks import ReasoningBlock
from convo._chat._compact import plan_compaction, summary_text
from convo._structure import current_exchange_start
from convo._targets import Target, get_target
from convo._turns import Turn, user
from convo.errors import ContextWindowError, NothingPendingError
from convo.policies._count import CHARS
from convo.policies._defaults import default_policies
from convo.policies._fit import Fit, fit
from convo.policies._prefix import unmarked
from convo.policies._repair import pairing_problems
from convo.policies._summary import apply_summaries, is_summary, summary_turn
from convo.policies._view import RequestView, compose
from convo.testing._laws_broken import LawBroken
from convo.testing._laws_flow import (
    FlowCase,
    flow_cases,
    validates_problem,
)
from convo.testing._strategies_realistic import (
    REALISTIC_TARGETS,
    realistic_histories,
)

__all__ = ["CONTEXT_EXAMPLES", "check_compaction", "check_fit", "default_fit"]

Case: TypeAlias = tuple[Fit, FlowCase]

CONTEXT_EXAMPLES = 15
"""Realistic histories drawn per target and check."""

_SETTINGS = settings(
    max_examples=CONTEXT_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def default_fit(window: int) -> Fit:
    """The `fit` the laws check by default: `window`, no output reserve or margin, shrinking on."""
    return fit(window=window, max_output=0, margin=0, shrink_tool_results=True)


def _fail(law: str, view: RequestView, detail: str, *, by: str = "fit") -> None:
    raise LawBroken(law, f"{by} on {view.target.name}", detail, view)


def _count(turns: Sequence[Turn]) -> int:
    return sum(CHARS.count_turn(t) for t in turns)


def _split(policy: Fit, view: RequestView) -> tuple[RequestView, RequestView, int]:
    """(view reaching fit, view leaving the chain, index of fit in the chain)."""
    chain = default_policies(view.target, fit=policy)
    at = chain.index(policy)
    before = compose(*chain[:at])(view)
    return before, compose(*chain[at:])(before), at


def check_fit(
    make_fit: Callable[[int], Fit] = default_fit,
    *,
    targets: Sequence[str] = REALISTIC_TARGETS,
    windows: tuple[int, int] = (120, 300),
) -> None:
    """Check the fit laws (module docstring) for `make_fit(window)` on every target.

    Each example draws a window from `windows` (small enough that a realistic
    history of a few exchanges is cut) and a history made with that fit.

    Raises:
        LawBroken: a law does not hold; the message names it and the case.
    """
    for name in targets:
        target = get_target(name)

        def cases(window: int, target: Target = target) -> st.SearchStrategy[Case]:
            policy = make_fit(window)
            chain = default_policies(target, fit=policy)
            histories = realistic_histories(
                target=target, max_actions=5, policies=chain
            )
            return flow_cases(histories).map(lambda case: (policy, case))

        @_SETTINGS
        @given(drawn=st.integers(*windows).flatmap(cases), extra=st.integers(1, 400))
        def run(drawn: Case, extra: int) -> None:
            # Longer histories are the ones a small window cuts: steer to them.
            target_score(float(len(drawn[1].view.turns)), label="turns")
            _check_fit_case(drawn[0], drawn[1], extra)

        run()


def _sent_form(turn: Turn, needed: bool) -> Turn:
    """The turn without markers, and without reasoning where the target needs none."""
    turn = unmarked(turn)
    if needed:
        return turn
    return turn.with_blocks(b for b in turn.blocks if not isinstance(b, ReasoningBlock))


def _check_fit_case(policy: Fit, case: FlowCase, extra: int) -> None:
    if case.history.refused is not None:
        return
    try:
        before, sent, _ = _split(policy, case.view)
    except ContextWindowError as error:
        if error.minimum <= error.budget:
            _fail("budget", case.view, f"refused although {error.minimum} fits")
        return
    problem = validates_problem(case, sent)
    if problem is not None:
        _fail("validates", case.view, problem)
    if pairing_problems(sent.turns):
        _fail("pairing", case.view, f"pairing broken: {pairing_problems(sent.turns)}")
    fitted = policy(before)
    start = current_exchange_start(before.turns)
    tail = len(before.turns) - start
    if fitted.turns[-tail:] != before.turns[-tail:]:
        _fail("session", case.view, "fit changed the current exchange")
    needed = case.view.target.reasoning_required_in_tool_loop
    mine = [_sent_form(t, needed) for t in before.turns[-tail:]]
    if [_sent_form(t, needed) for t in sent.turns[-tail:]] != mine:
        _fail(
            "keeps_visible_reasoning",
            case.view,
            "the current exchange (its tool session and reasoning) is not sent "
            "byte-exact after the chain",
        )
    if _count(fitted.turns) > policy.budget(fitted):
        _fail("budget", case.view, f"{_count(fitted.turns)} > {policy.budget(fitted)}")
    if policy(fitted).turns != fitted.turns:
        _fail("idempotent", case.view, "fitting the fitted view changed it")
    tighter = attrs.evolve(policy, margin=(policy.margin or 0) + extra)
    try:
        tight = tighter(before)
    except ContextWindowError:
        return
    verbatim = set(tight.turns) & set(before.turns)
    if not verbatim <= set(fitted.turns) or len(tight.turns) > len(fitted.turns):
        _fail(
            "monotone", case.view, f"margin +{extra} kept a turn the looser fit dropped"
        )


def _last_lines(turns: Sequence[Turn]) -> str:
    return " / ".join(t.text[:40] for t in turns[-3:] if t.text) or "(nothing said)"


def check_compaction(
    summarizer: Callable[[Sequence[Turn]], str] = _last_lines,
    *,
    targets: Sequence[str] = REALISTIC_TARGETS,
) -> None:
    """Check the compaction laws (module docstring) on every target.

    Raises:
        LawBroken: a law does not hold; the message names it and the case.
    """
    for name in targets:
        histories = realistic_histories(target=name, max_actions=5)

        @_SETTINGS
        @given(case=flow_cases(histories), keep_last=st.integers(0, 2))
        def run(case: FlowCase, keep_last: int) -> None:
            _check_compaction_case(summarizer, case, keep_last)

        run()


def _check_compaction_case(
    summarizer: Callable[[Sequence[Turn]], str], case: FlowCase, keep_last: int
) -> None:
    history = case.history
    target = history.target
    conversation = history.conversation
    try:
        plan = plan_compaction(conversation, target=target, keep_last=keep_last)
    except NothingPendingError:
        return
    text = summary_text(summarizer(plan.turns))
    summary = summary_turn(text, covers=plan.covers)
    question = user("And tomorrow?")
    grown = conversation.append(summary).append(question)
    view = RequestView(turns=grown.path(), tools=history.tools, target=target)
    sent = compose(*default_policies(target))(view)
    problem = validates_problem(FlowCase(history=history, view=view), sent)
    if problem is not None:
        _fail("validates", view, problem, by="compaction")
    if pairing_problems(sent.turns):
        _fail(
            "pairing",
            view,
            f"pairing broken: {pairing_problems(sent.turns)}",
            by="compaction",
        )
    if any(is_summary(t) for t in sent.turns):
        _fail("replaces", view, "a summary turn reached the request", by="compaction")
    path = conversation.path()
    kept = [t for t in path[plan.covers :] if not is_summary(t)]
    compacted = apply_summaries()(view)
    head = 1 if path and path[0].role == "system" else 0
    body = compacted.turns[head:]
    expected = (*kept[1:], question) if kept else ()
    if tuple(body[1:]) != expected:
        _fail(
            "verbatim", view, "a turn after the covered prefix changed", by="compaction"
        )
    if apply_summaries()(compacted) is not compacted:
        _fail(
            "idempotent",
            view,
            "apply_summaries changed its own output",
            by="compaction",
        )
    covered = _count(path[head : plan.covers])
    if CHARS.count_turn(summary) < covered and _count(compacted.turns) > _count(
        (*path, question)
    ):
        _fail(
            "budget",
            view,
            "the compacted view is larger than the original",
            by="compaction",
        )

"""The policy laws, as a checker you run on your own policies.

`check_policy(policy, claims=...)` draws request views from generated
conversations (`convo.testing.strategies.conversations`, with tool sessions,
reasoning of several families, dangling calls, pre-placed cache markers and
`generated_from` stamps that sometimes match their prefix) and checks each
claimed law with Hypothesis. The first law broken is raised as `LawBroken`
(an `AssertionError`) naming the law, with the shrunk counterexample.

Laws (names for `claims`):

- `deterministic`: the same view, or an equal copy of it, gives the same result;
- `pure`: the input view and its turns are never mutated;
- `pairing`: if the input's tool pairing is valid, so is the output's;
- `markers`: the policy never makes the markers worse: if the input had at
  most `max_breakpoints` markers, none on reasoning or empty text, ttls in
  order, the output too;
- `idempotent`: `p(p(v))` has the same turns and tools as `p(v)`;
- `prefix_stable`: the serialized request for a conversation is a prefix of
  the serialized request after one more exchange, cache markers aside;
- `places_markers`: whatever markers were present, the output has at most
  `max_breakpoints` (0 for a target without caching), none on reasoning or
  empty text, and ttls that never increase from an earlier to a later marker.

Whole-flow laws, checked on realistic histories
(`convo.testing.strategies.realistic_histories`: conversations the real stack
made against the fake endpoint, with the policy in `Chat`'s chain) and on the
request of their next exchange; the policy runs first, then the target's
default chain
(`convo.policies.default_policies(target)`), as
`Chat(policies=(policy, *default_policies(target)))` sends it:

- `validates`: the sent view passes `convo.policies.validate` and the fake
  endpoint answers the encoded request with status 200;
- `keeps_visible_reasoning`: the reasoning the server reads stays byte-exact:
  on a target that discards earlier reasoning, that of the last assistant
  turn's exchange (every step of its tool session); on one that keeps it in
  context, all signed reasoning whose prefix is unchanged (see
  `convo.testing._laws_flow`).

They are opt-in claims (not in `DEFAULT_CLAIMS`): a policy meant for
thinking-off use (`drop_reasoning`) legitimately breaks them in a tool loop
with thinking on.

Where the laws run: every claimed law except the whole-flow ones on generated
conversations for `target` (default `LAW_TARGET`); then every claimed law
except `prefix_stable` on realistic histories for each of `targets` (default
`LAW_TARGETS`: Sonnet 4.5, whose server discards earlier reasoning, and Opus
4.5, whose server keeps it and binds it to its prefix).

Context-window laws (`check_fit`, `check_compaction`; see
`convo.testing._laws_context`): a fitted or compacted view validates for its
target, splits no tool pair, keeps the tool session in progress and the
reasoning the server reads byte-exact, stays within budget; fitting is
idempotent and monotone.

Serialization for `prefix_stable`: each turn's messages as the chat wire
encodes them (`convo.wire.chat.encode_turn_messages`) when that module is
installed and takes the turn, else its canonical form; markers removed first.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Literal

import attrs

from convo._blocks import (
    Block,
    CacheControl,
    Provenance,
    ReasoningBlock,
    SummaryText,
    TextBlock,
)
from convo._converter import converter, turn_plain
from convo._graph import Conversation
from convo._targets import CacheRules, ReasoningRules, Target, get_target
from convo._tools import Tool
from convo._turns import Turn, assistant, user
from convo.errors import ConvoError, UsageError
from convo.policies._cache import markers, position_path, ttl_rank
from convo.policies._defaults import default_policies
from convo.policies._prefix import prefix_digest, unmarked
from convo.policies._repair import pairing_problems
from convo.policies._view import Policy, RequestView, policy_name
from convo.testing import strategies
from convo.testing._hypothesis import HealthCheck, Phase, given, settings, st
from convo.testing._laws_broken import LawBroken
from convo.testing._laws_context import (
    CONTEXT_EXAMPLES,
    check_compaction,
    check_fit,
    default_fit,
)
from convo.testing._laws_flow import (
    FlowCase,
    flow_cases,
    keeps_visible_reasoning_problem,
    sent_view,
    validates_problem,
)
from convo.testing._strategies_realistic import RealisticHistory

__all__ = [
    "CONTEXT_EXAMPLES",
    "DEFAULT_CLAIMS",
    "LAWS",
    "LAW_TARGET",
    "LAW_TARGETS",
    "REALISTIC_EXAMPLES",
    "WHOLE_FLOW_LAWS",
    "LawBroken",
    "LawCase",
    "check_compaction",
    "check_fit",
    "check_policy",
    "claims_of",
    "default_fit",
    "law_cases",
]

LAWS: tuple[str, ...] = (
    "pure",
    "deterministic",
    "pairing",
    "markers",
    "places_markers",
    "idempotent",
    "prefix_stable",
    "keeps_visible_reasoning",
    "validates",
)
"""Every law, in the order they are checked on one example."""

REALISTIC_EXAMPLES = 20
"""Examples per realistic run by default (each drives a few exchanges of `Chat`)."""

WHOLE_FLOW_LAWS: tuple[str, ...] = ("keeps_visible_reasoning", "validates")
"""The laws checked only on realistic histories (they send to the fake endpoint)."""

LAW_TARGETS: tuple[str, ...] = (
    "databricks-claude-sonnet-4-5",
    "databricks-claude-opus-4-5",
)
"""The realistic runs' targets: one discarding earlier reasoning, one keeping it."""

DEFAULT_CLAIMS: tuple[str, ...] = ("deterministic", "pure", "pairing", "markers")
"""The laws every policy must keep."""

LAW_TARGET = Target(
    name="convo-laws-claude",
    provider="anthropic",
    family="claude",
    reasoning=ReasoningRules(style="budget"),
    cache=CacheRules(supported=True, max_breakpoints=4, min_cacheable_tokens=24),
    requires_signatures=True,
    keeps_reasoning_in_context=True,
    reasoning_required_in_tool_loop=True,
    rejects_empty_text=True,
)
"""A Claude-like target with caching and a small minimum cacheable length."""


def claims_of(policy: object) -> tuple[str, ...]:
    """The default laws plus the ones `policy` claims in its `claims` attribute."""
    extra = getattr(policy, "claims", ())
    if not isinstance(extra, tuple):
        extra = ()
    return tuple(dict.fromkeys((*DEFAULT_CLAIMS, *extra)))


# ---------------------------------------------------------------- the cases


@attrs.frozen(kw_only=True)
class LawCase:
    """One drawn example: a view, and the same conversation after one more exchange."""

    view: RequestView
    """The view the laws run on (may carry pre-placed markers)."""
    history: RealisticHistory | None = None
    """The realistic history the view continues (whole-flow laws), or None."""
    base: RequestView
    """The same view without pre-placed markers (stored history has none)."""
    user_turn: Turn
    answer: Turn
    """The next exchange, for `prefix_stable`."""


def _stamp(draw: st.DrawFn, path: Sequence[Turn]) -> list[Turn]:
    """Give assistant turns a `generated_from` that matches their prefix, or not."""
    out: list[Turn] = []
    for turn in path:
        if turn.role == "assistant":
            choice = draw(st.integers(0, 3))
            if choice <= 1:
                turn = attrs.evolve(turn, generated_from=prefix_digest(out))
            elif choice == 2:
                turn = attrs.evolve(turn, generated_from=None)
        out.append(turn)
    return out


_TTLS: tuple[Literal["5m", "1h"] | None, ...] = (None, "5m", "1h")


def _decorate(draw: st.DrawFn, view: RequestView) -> RequestView:
    """Put some markers (0-6, any ttl, anywhere, even on reasoning) on a view."""
    turns = list(view.turns)
    tools = list(view.tools)
    slots = [(i, j) for i, t in enumerate(turns) for j in range(len(t.blocks))]
    slots += [(-1, k) for k in range(len(tools))]
    if not slots:
        return view
    for _ in range(draw(st.integers(0, 6))):
        i, j = draw(st.sampled_from(slots))
        control = CacheControl(ttl=draw(st.sampled_from(_TTLS)))
        if i < 0:
            tools[j] = attrs.evolve(tools[j], cache_control=control)
        else:
            blocks = list(turns[i].blocks)
            blocks[j] = attrs.evolve(blocks[j], cache_control=control)
            turns[i] = turns[i].with_blocks(blocks)
    return attrs.evolve(view, turns=tuple(turns), tools=tuple(tools))


_CLAUDE = Provenance(provider="anthropic", family="claude")


def _conversation_strategy() -> st.SearchStrategy[Conversation]:
    return strategies.conversations(max_turns=10)


def _tool_strategy() -> st.SearchStrategy[list[Tool]]:
    names = st.sampled_from(["search", "lookup", "weather", "calculator"])
    tool = st.builds(
        Tool,
        name=names,
        description=st.sampled_from(["", "Looks things up in a long catalogue."]),
    )
    return st.lists(tool, max_size=2, unique_by=lambda t: t.name)


@st.composite
def _law_cases(
    draw: st.DrawFn,
    target: Target,
    conversations: st.SearchStrategy[Conversation],
) -> LawCase:
    conversation = draw(conversations)
    path = _stamp(draw, conversation.path())
    tools = draw(_tool_strategy())
    base = RequestView(turns=tuple(path), tools=tuple(tools), target=target)
    view = _decorate(draw, base) if draw(st.booleans()) else base
    text = draw(st.sampled_from(["And then?", "Thanks!", "Please go on."]))
    reasoning = draw(st.booleans())
    blocks: list[Block] = []
    if reasoning:
        blocks.append(
            ReasoningBlock(
                parts=(
                    SummaryText(text="Thinking it over.", signature="c2lnbmF0dXJl"),
                ),
                provenance=_CLAUDE,
            )
        )
    blocks.append(TextBlock(text="Here is the next answer."))
    return LawCase(view=view, base=base, user_turn=user(text), answer=assistant(blocks))


def law_cases(
    *,
    target: Target = LAW_TARGET,
    conversations: st.SearchStrategy[Conversation] | None = None,
) -> st.SearchStrategy[LawCase]:
    """The examples `check_policy` draws (for your own property tests)."""
    return _law_cases(
        target,
        _conversation_strategy() if conversations is None else conversations,
    )


# ----------------------------------------------------------------- the laws


def _copy(view: RequestView) -> RequestView:
    turns = tuple(converter().structure(turn_plain(t), Turn) for t in view.turns)
    return attrs.evolve(
        view, turns=turns, tools=tuple(attrs.evolve(t) for t in view.tools)
    )


def _first_difference(a: Sequence[Turn], b: Sequence[Turn]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"first difference at $.turns[{i}]"
    return f"{len(a)} turns against {len(b)}"


def _markers_ok(view: RequestView, budget: int) -> str | None:
    found = markers(view.turns, view.tools)
    if len(found) > budget:
        return f"{len(found)} markers, over the budget of {budget}"
    for m in found:
        if not m.markable:
            return f"a marker on reasoning or empty text at {position_path(m.position)}"
    for earlier, later in itertools.pairwise(found):
        if ttl_rank(earlier.control.ttl) < ttl_rank(later.control.ttl):
            return f"ttl order broken at {position_path(earlier.position)}"
    return None


def _encode_messages() -> Callable[[Turn, Target], list[Any]] | None:
    try:
        from convo.wire import chat
    except ImportError:
        return None
    encode = getattr(chat, "encode_turn_messages", None)
    if encode is None:
        return None

    def run(turn: Turn, target: Target) -> list[Any]:
        result: list[Any] = encode(turn, target=target)
        return result

    return run


def _messages(
    view: RequestView, encode: Callable[[Turn, Target], list[Any]] | None
) -> list[Any]:
    turns = [unmarked(t) for t in view.turns]
    if encode is None:
        return [turn_plain(t) for t in turns]
    return [m for t in turns for m in encode(t, view.target)]


def _serialize(*views: RequestView) -> list[tuple[list[Any], list[Any]]]:
    """(messages, tools) of each view with markers removed, for the prefix law.

    All views are encoded the same way: with the chat wire when it takes every
    turn of every view, else in canonical form.
    """
    encode = _encode_messages()
    tools = [
        [[t.name, t.description, dict(t.parameters)] for t in view.tools]
        for view in views
    ]
    if encode is not None:
        try:
            encoded = [_messages(view, encode) for view in views]
        except (ConvoError, ValueError, TypeError):
            pass
        else:
            return list(zip(encoded, tools, strict=True))
    return list(zip([_messages(v, None) for v in views], tools, strict=True))


def _check(policy: Policy, case: LawCase, claims: Sequence[str]) -> None:
    name = policy_name(policy)
    view = case.view
    target = view.target
    budget = target.cache.max_breakpoints if target.cache.supported else 0

    def broken(law: str, detail: str, where: RequestView = view) -> LawBroken:
        if case.history is not None:
            detail += (
                "\n  a realistic history of "
                + repr(case.history.target.name)
                + ", made by: "
                + "; ".join(case.history.actions or ("start",))
                + "; then the next turn"
            )
        return LawBroken(law, name, detail, where)

    copied = _copy(view)
    out = policy(view)
    if not isinstance(out, RequestView):
        raise broken("pure", f"returned {type(out).__name__}, not a RequestView")
    if "pure" in claims and (view.turns != copied.turns or view.tools != copied.tools):
        raise broken(
            "pure",
            f"the input view changed: {_first_difference(copied.turns, view.turns)}",
        )
    if "deterministic" in claims:
        again = policy(view)
        on_copy = policy(copied)
        for other, how in ((again, "a second call"), (on_copy, "an equal copy")):
            if other.turns != out.turns or other.tools != out.tools:
                raise broken(
                    "deterministic",
                    f"{how} gave other turns ({_first_difference(out.turns, other.turns)})",
                )
            if other.notes != out.notes:
                raise broken("deterministic", f"{how} gave other notes")
    if (
        "pairing" in claims
        and not pairing_problems(view.turns)
        and (problems := pairing_problems(out.turns))
    ):
        where, what = problems[0]
        raise broken("pairing", f"output pairing broken at {where}: {what}")
    if "markers" in claims and _markers_ok(view, budget) is None:
        problem = _markers_ok(out, budget)
        if problem is not None:
            raise broken(
                "markers", f"the input's markers were fine, the output has {problem}"
            )
    if "places_markers" in claims:
        problem = _markers_ok(out, budget)
        if problem is not None:
            raise broken("places_markers", f"the output has {problem}")
    if "idempotent" in claims:
        twice = policy(out)
        if twice.turns != out.turns or twice.tools != out.tools:
            raise broken(
                "idempotent",
                f"p(p(v)) differs from p(v): {_first_difference(out.turns, twice.turns)}",
            )
    if "prefix_stable" in claims and case.history is None:
        _check_prefix(policy, case, broken)
    if case.history is not None and any(law in claims for law in WHOLE_FLOW_LAWS):
        sent = sent_view(policy, view)
        flow = FlowCase(history=case.history, view=view)
        if "keeps_visible_reasoning" in claims:
            problem = keeps_visible_reasoning_problem(view, sent)
            if problem is not None:
                raise broken("keeps_visible_reasoning", problem)
        if "validates" in claims:
            problem = validates_problem(flow, sent)
            if problem is not None:
                raise broken("validates", problem)


def _check_prefix(
    policy: Policy, case: LawCase, broken: Callable[..., LawBroken]
) -> None:
    base = case.base
    first = policy(base)
    asked = attrs.evolve(base, turns=(*base.turns, case.user_turn))
    answer = attrs.evolve(
        case.answer, generated_from=prefix_digest(policy(asked).turns)
    )
    longer = policy(attrs.evolve(base, turns=(*asked.turns, answer)))
    (messages, tools), (more, more_tools) = _serialize(first, longer)
    if tools != more_tools:
        raise broken("prefix_stable", "the tool definitions changed", base)
    if more[: len(messages)] != messages:
        at = next(
            (i for i, (a, b) in enumerate(zip(messages, more, strict=False)) if a != b),
            len(more),
        )
        raise broken(
            "prefix_stable",
            f"after one more exchange the request differs at message {at}",
            base,
        )


def _realistic_cases(
    policy: Policy, target: Target | str, max_actions: int
) -> st.SearchStrategy[LawCase]:
    """Flow cases over histories `Chat` made with `policy`, then the default chain."""

    def to_case(flow: FlowCase) -> LawCase:
        return LawCase(
            view=flow.view,
            base=flow.view,
            user_turn=user("And then?"),
            answer=assistant("Here is the next answer."),
            history=flow.history,
        )

    resolved = get_target(target) if isinstance(target, str) else target
    chain = (policy, *default_policies(resolved))
    histories = strategies.realistic_histories(
        target=resolved, max_actions=max_actions, policies=chain
    )
    return flow_cases(histories).map(to_case)


def _chosen_laws(
    policy: Policy, claims: Sequence[str] | None, targets: Sequence[Target | str]
) -> tuple[str, ...]:
    """The laws to check, in `LAWS` order; refuses unknown names and unrunnable ones."""
    chosen = tuple(claims_of(policy) if claims is None else claims)
    unknown = [c for c in chosen if c not in LAWS]
    if unknown:
        raise UsageError(
            "Unknown law(s)",
            where="claims",
            received=unknown,
            fix=f"The laws are {', '.join(LAWS)}.",
        )
    ordered = tuple(law for law in LAWS if law in chosen)
    whole_flow = [law for law in ordered if law in WHOLE_FLOW_LAWS]
    if whole_flow and not targets:
        raise UsageError(
            f"The whole-flow law(s) {whole_flow!r} run on realistic histories, "
            "but targets=() names none",
            where="targets",
            fix="Pass targets=LAW_TARGETS or a built-in target name.",
        )
    return ordered


def _settings(max_examples: int | None) -> dict[str, Any]:
    """The Hypothesis settings of every run (no deadline, no database, no explain)."""
    overrides: dict[str, Any] = {
        "deadline": None,
        "database": None,
        "report_multiple_bugs": False,
        # The explain phase re-runs the failing example hundreds of times to
        # annotate lines; the law name and the shrunk view say more, faster.
        "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        "suppress_health_check": [
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    }
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    return overrides


def check_policy(
    policy: Policy,
    *,
    claims: Sequence[str] | None = None,
    target: Target = LAW_TARGET,
    targets: Sequence[Target | str] = LAW_TARGETS,
    max_examples: int | None = None,
    conversations: st.SearchStrategy[Conversation] | None = None,
    max_actions: int = 5,
    realistic_examples: int = REALISTIC_EXAMPLES,
) -> None:
    """Check `policy` against the laws it claims, with Hypothesis.

    Two kinds of runs (module docstring): generated conversations for
    `target`, then realistic histories for each of `targets`.

    Args:
        policy: the policy under test.
        claims: law names from `LAWS`; None: `claims_of(policy)` (the default
            laws plus the policy's own `claims` attribute).
        target: the target the generated views are built for (default: `LAW_TARGET`).
        targets: the targets of the realistic runs (default: `LAW_TARGETS`),
            built-in names the fake endpoint serves; () skips those runs.
        max_examples: examples to draw per run (None: the active Hypothesis profile's).
        conversations: the conversations to draw (default: `conversations()`).
        max_actions: user actions per realistic history, at most.
        realistic_examples: examples per realistic run, at most (each one
            drives `Chat` through several exchanges, so it costs far more than
            a generated one); `max_examples` caps it too.

    Raises:
        LawBroken: the first law broken, with the shrunk counterexample.
        UsageError: a claim is not a law name, or a whole-flow law is claimed
            with no realistic targets.
    """
    ordered = _chosen_laws(policy, claims, targets)
    overrides = _settings(max_examples)

    generated = tuple(law for law in ordered if law not in WHOLE_FLOW_LAWS)
    if generated:

        @settings(**overrides)
        @given(case=law_cases(target=target, conversations=conversations))
        def run(case: LawCase) -> None:
            _check(policy, case, generated)

        run()

    realistic = dict(overrides)
    realistic["max_examples"] = min(
        realistic_examples,
        max_examples if max_examples is not None else realistic_examples,
    )
    for each in targets:

        @settings(**realistic)
        @given(case=_realistic_cases(policy, each, max_actions))
        def run_realistic(case: LawCase) -> None:
            _check(policy, case, ordered)

        run_realistic()

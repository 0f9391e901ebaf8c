"""`convo.testing.laws.check_policy` catches each broken law and names it."""

from __future__ import annotations

import attrs
import pytest

from convo import CacheControl, ReasoningBlock, Turn, get_target
from convo.policies import (
    Policy,
    RequestView,
    compose,
    default_policies,
    drop_reasoning,
    keep_last_reasoning,
    prefix_digest,
)
from convo.testing.laws import (
    DEFAULT_CLAIMS,
    LAW_TARGETS,
    LAWS,
    LawBroken,
    check_policy,
    claims_of,
)
from convo.testing.strategies import REALISTIC_TARGETS, conversations


def drop_last_tool_turn(view: RequestView) -> RequestView:
    turns = list(view.turns)
    for i in range(len(turns) - 1, -1, -1):
        if turns[i].role == "tool":
            del turns[i]
            break
    return attrs.evolve(view, turns=tuple(turns))


def mark_reasoning(view: RequestView) -> RequestView:
    turns = tuple(
        t.with_blocks(
            attrs.evolve(b, cache_control=CacheControl())
            if isinstance(b, ReasoningBlock)
            else b
            for b in t.blocks
        )
        for t in view.turns
    )
    return attrs.evolve(view, turns=turns)


def mutate_metadata(view: RequestView) -> RequestView:
    for turn in view.turns:
        if turn.metadata:
            turn.metadata["touched"] = True  # type: ignore[index]
    return view


class Flaky:
    """Drops the first turn every other call."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, view: RequestView) -> RequestView:
        self.calls += 1
        return view if self.calls % 2 else attrs.evolve(view, turns=view.turns[1:])


def drop_first_turn(view: RequestView) -> RequestView:
    return attrs.evolve(view, turns=view.turns[1:])


def identity(view: RequestView) -> RequestView:
    return view


LEAN = conversations(max_turns=5, metadata=False)


def broken_law(policy, **kwargs) -> LawBroken:
    with pytest.raises(LawBroken) as info:
        check_policy(policy, max_examples=200, **{"conversations": LEAN, **kwargs})
    return info.value


class TestCheckPolicy:
    def test_passes_a_policy_that_keeps_its_laws(self):
        check_policy(
            identity,
            claims=tuple(law for law in LAWS if law != "places_markers"),
            max_examples=20,
        )

    def test_catches_broken_tool_pairing_and_reports_the_shrunk_counterexample(self):
        # At least four turns, so most examples hold a tool turn with a turn after
        # it: the search must not hinge on luck (Hypothesis biases generation
        # with constants from the code it has loaded, so luck moves with it).
        lean = conversations(min_turns=4, max_turns=5, reasoning=False, metadata=False)
        error = broken_law(drop_last_tool_turn, conversations=lean)
        assert error.law == "pairing"
        assert isinstance(error, AssertionError)
        assert isinstance(error.view, RequestView)
        assert "counterexample (shrunk)" in str(error)
        assert "tool_call" in str(error)
        assert len(error.view.turns) <= 4

    def test_catches_a_marker_on_reasoning(self):
        assert broken_law(mark_reasoning).law == "markers"

    def test_catches_a_mutated_input(self):
        error = broken_law(mutate_metadata, conversations=conversations(max_turns=5))
        assert error.law == "pure"

    def test_catches_nondeterminism(self):
        assert broken_law(Flaky()).law == "deterministic"

    def test_catches_a_policy_that_is_not_idempotent(self):
        assert broken_law(drop_first_turn, claims=("idempotent",)).law == "idempotent"

    def test_catches_a_policy_that_is_not_prefix_stable(self):
        error = broken_law(keep_last_reasoning(), claims=("prefix_stable",))
        assert error.law == "prefix_stable"
        assert error.policy == "keep_last_reasoning"

    def test_catches_markers_left_over_budget_by_a_policy_claiming_to_place_them(self):
        assert (
            broken_law(drop_reasoning(), claims=("places_markers",)).law
            == "places_markers"
        )

    def test_refuses_an_unknown_law(self):
        with pytest.raises(ValueError, match="Unknown law"):
            check_policy(identity, claims=("fast",))

    def test_claims_of_adds_the_policy_claims_to_the_defaults(self):
        assert claims_of(identity) == DEFAULT_CLAIMS
        assert claims_of(drop_reasoning()) == (
            *DEFAULT_CLAIMS,
            "idempotent",
            "prefix_stable",
        )


# ------------------------------------------------ whole-flow laws, realistic runs

EVERY_LAW_BUT_PREFIX = tuple(law for law in LAWS if law != "prefix_stable")


def _without_reasoning(turn: Turn) -> Turn | None:
    kept = [b for b in turn.blocks if not isinstance(b, ReasoningBlock)]
    return turn.with_blocks(kept) if kept else None


def old_default_chain(view: RequestView) -> RequestView:
    """The chain before the fix: `keep_last_reasoning`, then a bind on full digests.

    Each answer's stamp was the full digest of the view sent for it (earlier
    reasoning already thinned by `keep_last_reasoning` then); the bind compared
    it with the full digest of the new view, where `keep_last_reasoning` has
    since dropped one more exchange's reasoning, and unbound what differed.
    """
    kept = keep_last_reasoning()(view)
    out: list[Turn] = []
    for i, turn in enumerate(kept.turns):
        if turn.role == "assistant" and turn.reasoning and turn.generated_from:
            then = keep_last_reasoning()(attrs.evolve(view, turns=view.turns[:i]))
            if prefix_digest(then.turns) != prefix_digest(out):
                unbound = _without_reasoning(turn)
                if unbound is None:
                    continue
                turn = unbound
        out.append(turn)
    return attrs.evolve(view, turns=tuple(out))


def broken_on(policy: Policy, law: str, target: str) -> LawBroken:
    """The `law` broken by `policy` on realistic histories of `target`.

    Enough short histories (150, at most 3 actions) that one with two exchanges
    and a tool call is always drawn.
    """
    with pytest.raises(LawBroken) as info:
        check_policy(
            policy,
            claims=(law,),
            targets=(target,),
            max_examples=150,
            realistic_examples=150,
            max_actions=3,
        )
    return info.value


class TestWholeFlowLaws:
    @pytest.mark.parametrize("name", REALISTIC_TARGETS)
    def test_the_default_chain_of_every_built_in_target_keeps_every_law(
        self, name: str
    ):
        target = get_target(name)
        claims = [law for law in EVERY_LAW_BUT_PREFIX if law != "places_markers"]
        if target.cache.supported:
            claims.append("places_markers")
        check_policy(
            compose(*default_policies(target)),
            claims=tuple(claims),
            target=target,
            targets=(name,),
            max_examples=12,
        )

    def test_the_chain_before_the_fix_is_caught_by_validates_with_a_small_counterexample(
        self,
    ):
        error = broken_on(
            old_default_chain, "validates", "databricks-claude-sonnet-4-5"
        )
        assert error.law == "validates"
        assert "R2" in error.detail
        turns = error.view.turns
        assert len(turns) <= 7
        assert sum(t.is_genuine_user for t in turns) >= 2
        assert turns[-1].role == "tool"
        assert "tool_call" in str(error)

    def test_the_chain_before_the_fix_loses_visible_reasoning(self):
        error = broken_on(
            old_default_chain, "keeps_visible_reasoning", "databricks-claude-sonnet-4-5"
        )
        assert error.law == "keeps_visible_reasoning"
        assert "byte-exact" in error.detail

    def test_dropping_all_reasoning_on_a_preserving_target_loses_visible_reasoning(
        self,
    ):
        error = broken_on(
            drop_reasoning(), "keeps_visible_reasoning", "databricks-claude-opus-4-5"
        )
        assert error.law == "keeps_visible_reasoning"
        assert error.view.target.name == "databricks-claude-opus-4-5"

    def test_a_user_policy_keeping_the_content_validates_on_both_law_targets(self):
        check_policy(
            identity,
            claims=("keeps_visible_reasoning", "validates"),
            max_examples=10,
        )
        assert LAW_TARGETS == (
            "databricks-claude-sonnet-4-5",
            "databricks-claude-opus-4-5",
        )

    def test_whole_flow_laws_without_realistic_targets_are_refused(self):
        with pytest.raises(ValueError, match="targets"):
            check_policy(identity, claims=("validates",), targets=())

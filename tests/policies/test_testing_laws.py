"""`convo.testing.laws.check_policy` catches each broken law and names it."""

from __future__ import annotations

import attrs
import pytest

from convo import CacheControl, ReasoningBlock
from convo.policies import RequestView, drop_reasoning, keep_last_reasoning
from convo.testing.laws import DEFAULT_CLAIMS, LAWS, LawBroken, check_policy, claims_of
from convo.testing.strategies import conversations


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
        error = broken_law(keep_last_reasoning, claims=("prefix_stable",))
        assert error.law == "prefix_stable"
        assert error.policy == "keep_last_reasoning"

    def test_catches_markers_left_over_budget_by_a_policy_claiming_to_place_them(self):
        assert (
            broken_law(drop_reasoning, claims=("places_markers",)).law
            == "places_markers"
        )

    def test_refuses_an_unknown_law(self):
        with pytest.raises(ValueError, match="Unknown law"):
            check_policy(identity, claims=("fast",))

    def test_claims_of_adds_the_policy_claims_to_the_defaults(self):
        assert claims_of(identity) == DEFAULT_CLAIMS
        assert claims_of(drop_reasoning) == (
            *DEFAULT_CLAIMS,
            "idempotent",
            "prefix_stable",
        )

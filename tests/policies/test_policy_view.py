"""Request views, composition and the default chains."""

from __future__ import annotations

import attrs

from convo import Target, Turn, assistant, user
from convo._targets import CacheRules
from convo.policies import (
    CacheBreakpoints,
    Chain,
    DropForeignReasoning,
    KeepLastReasoning,
    PolicyNote,
    RequestView,
    apply,
    compose,
    default_policies,
)

TARGET = Target(name="t-view")


def tag(name: str):
    def policy(view: RequestView) -> RequestView:
        return view.noted(
            [PolicyNote(policy=name, action="ran", path="$", reason="test")]
        )

    return policy


class TestRequestView:
    def test_is_a_frozen_value_with_tuple_fields(self):
        view = RequestView(turns=[user("q")], target=TARGET)
        assert isinstance(view.turns, tuple)
        assert view.tools == ()
        assert view.notes == ()

    def test_with_turns_appends_notes(self):
        note = PolicyNote(policy="p", action="a", path="$", reason="r")
        view = RequestView(turns=[user("q")], target=TARGET).with_turns(
            [user("x")], [note]
        )
        assert view.turns == (user("x"),)
        assert view.notes == (note,)

    def test_noted_without_notes_is_the_same_view(self):
        view = RequestView(turns=[user("q")], target=TARGET)
        assert view.noted([]) is view


class TestCompose:
    def test_applies_policies_left_to_right(self):
        view = compose(tag("a"), tag("b"))(
            RequestView(turns=[user("q")], target=TARGET)
        )
        assert [n.policy for n in view.notes] == ["a", "b"]

    def test_apply_is_the_same_as_calling_the_composition(self):
        view = RequestView(turns=[user("q")], target=TARGET)
        assert apply(view, tag("a"), tag("b")) == compose(tag("a"), tag("b"))(view)

    def test_flattens_nested_chains(self):
        a, b, c = tag("a"), tag("b"), tag("c")
        chain = compose(a, compose(b, c))
        assert isinstance(chain, Chain)
        assert chain.policies == (a, b, c)


class TestDefaultPolicies:
    def test_a_target_discarding_earlier_reasoning_keeps_the_last_exchange_only(self):
        target = Target(name="d", family="claude", cache=CacheRules(supported=True))
        names = [p.name for p in default_policies(target)]  # type: ignore[attr-defined]
        assert names == [
            "apply_summaries",
            "keep_last_reasoning",
            "drop_foreign_reasoning",
            "repair_tool_pairs",
            "bind_prefixes",
            "cache_breakpoints",
        ]

    def test_a_target_keeping_reasoning_in_context_keeps_all_of_it(self):
        target = Target(
            name="k",
            family="claude",
            keeps_reasoning_in_context=True,
            cache=CacheRules(supported=True),
        )
        chain = default_policies(target)
        assert not any(isinstance(p, KeepLastReasoning) for p in chain)
        assert isinstance(chain[1], DropForeignReasoning)

    def test_no_cache_placement_without_cache_support(self):
        chain = default_policies(
            attrs.evolve(TARGET, cache=CacheRules(supported=False))
        )
        assert not any(isinstance(p, CacheBreakpoints) for p in chain)

    def test_the_default_chain_never_touches_its_input_turns(self):
        turns: tuple[Turn, ...] = (user("q"), assistant("a"), user("q2"))
        view = RequestView(turns=turns, target=TARGET)
        apply(view, *default_policies(TARGET))
        assert view.turns == turns

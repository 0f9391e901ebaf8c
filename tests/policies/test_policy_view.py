"""Request views, composition and the default chains."""

from __future__ import annotations

from typing import Any

import attrs

import convo.policies
from convo import Target, Turn, assistant, user
from convo._targets import CacheRules
from convo.policies import (
    CacheBreakpoints,
    DropForeignReasoning,
    KeepLastReasoning,
    PolicyNote,
    RequestView,
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

    def test_the_composition_is_the_policies_called_in_turn(self):
        view = RequestView(turns=[user("q")], target=TARGET)
        a, b = tag("a"), tag("b")
        assert compose(a, b)(view) == b(a(view))

    def test_composing_nothing_is_the_identity(self):
        view = RequestView(turns=[user("q")], target=TARGET)
        assert compose()(view) == view

    def test_nested_chains_run_as_one_flat_chain(self):
        a, b, c = tag("a"), tag("b"), tag("c")
        view = RequestView(turns=[user("q")], target=TARGET)
        assert compose(a, compose(b, c))(view) == compose(a, b, c)(view)


class TestOnePolicyShape:
    """Every built-in policy is built by a factory; `compose` is the one chain."""

    def test_no_ready_made_policy_value_is_exported(self):
        ready = [
            name
            for name in convo.policies.__all__
            if not isinstance(getattr(convo.policies, name), type)
            and hasattr(getattr(convo.policies, name), "claims")
        ]
        assert ready == []

    def test_every_factory_builds_a_policy_with_a_name_and_claims(self):
        built: list[Any] = [
            convo.policies.apply_summaries(),
            convo.policies.drop_reasoning(),
            convo.policies.keep_last_reasoning(),
            convo.policies.drop_foreign_reasoning(),
            convo.policies.repair_tool_pairs(),
            convo.policies.trim(max_tokens=100),
            convo.policies.fit(),
            convo.policies.bind_prefixes(),
            convo.policies.cache_breakpoints(),
        ]
        for policy in built:
            assert isinstance(policy.name, str)
            assert isinstance(policy.claims, tuple)

    def test_apply_and_chain_are_not_public(self):
        assert "apply" not in convo.policies.__all__
        assert "Chain" not in convo.policies.__all__


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
        compose(*default_policies(TARGET))(view)
        assert view.turns == turns

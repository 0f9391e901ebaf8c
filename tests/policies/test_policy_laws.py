"""The policy laws, as Hypothesis properties, for every built-in policy and chain.

Each case runs `convo.testing.laws.check_policy` with the laws the policy
claims (`claims_of`): deterministic, pure, keeps tool pairing, never makes the
markers worse, plus idempotent / prefix stable / places markers where claimed.
"""

from __future__ import annotations

import attrs
import pytest

from convo import registered_targets
from convo._targets import CacheRules
from convo.policies import (
    Policy,
    bind_prefixes,
    cache_breakpoints,
    compose,
    default_policies,
    drop_foreign_reasoning,
    drop_reasoning,
    keep_last_reasoning,
    repair_tool_pairs,
    trim,
)
from convo.testing.laws import LAW_TARGET, check_policy, claims_of

DISCARDS = attrs.evolve(
    LAW_TARGET, name="laws-discards", keeps_reasoning_in_context=False
)
NO_CACHE = attrs.evolve(
    LAW_TARGET,
    name="laws-no-cache",
    cache=CacheRules(supported=False),
    family="gpt-oss",
)

LAW_EXAMPLES = 60
"""Examples per policy: generating conversations dominates, so fewer than the profile's."""

BUILT_IN: dict[str, Policy] = {
    "drop_reasoning": drop_reasoning(),
    "keep_last_reasoning": keep_last_reasoning(),
    "drop_foreign_reasoning": drop_foreign_reasoning(),
    "repair_tool_pairs": repair_tool_pairs(),
    "trim": trim(max_tokens=120),
    "bind_prefixes": bind_prefixes(),
    "cache_breakpoints": cache_breakpoints(),
    "cache_breakpoints_1h": cache_breakpoints(ttl="1h"),
}


class TestBuiltInPoliciesKeepTheirLaws:
    @pytest.mark.parametrize("name", sorted(BUILT_IN))
    def test_keeps_every_law_it_claims(self, name):
        """Every built-in policy keeps the default laws and the ones it claims."""
        check_policy(BUILT_IN[name], max_examples=LAW_EXAMPLES)

    @pytest.mark.parametrize(
        "name", ["drop_foreign_reasoning", "cache_breakpoints", "drop_reasoning"]
    )
    def test_keeps_its_laws_for_a_target_without_caching_or_claude(self, name):
        """The laws hold for another family's target without prompt caching."""
        check_policy(BUILT_IN[name], target=NO_CACHE, max_examples=25)

    def test_claims_are_stated(self):
        assert "prefix_stable" in claims_of(drop_reasoning())
        assert "prefix_stable" not in claims_of(keep_last_reasoning())
        assert "places_markers" in claims_of(cache_breakpoints())
        assert "idempotent" in claims_of(trim(max_tokens=1))


class TestDefaultChains:
    def test_the_chain_for_a_target_keeping_reasoning_is_prefix_stable(self):
        """A keeps-reasoning target's chain: deterministic, pure, pairing, idempotent, prefix stable, markers placed."""
        chain = compose(*default_policies(LAW_TARGET))
        check_policy(
            chain,
            claims=(
                "deterministic",
                "pure",
                "pairing",
                "markers",
                "idempotent",
                "prefix_stable",
                "places_markers",
            ),
            max_examples=LAW_EXAMPLES,
        )

    def test_the_chain_for_a_target_discarding_reasoning_keeps_its_laws(self):
        """A discarding target's chain: the same laws except prefix stability."""
        chain = compose(*default_policies(DISCARDS))
        check_policy(
            chain,
            claims=(
                "deterministic",
                "pure",
                "pairing",
                "markers",
                "idempotent",
                "places_markers",
            ),
            target=DISCARDS,
            max_examples=LAW_EXAMPLES,
        )


class TestRegisteredTargets:
    @pytest.mark.parametrize("target", registered_targets(), ids=lambda t: t.name)
    def test_the_default_chain_of_every_registered_target_keeps_its_laws(self, target):
        """Each built-in target's default chain keeps the laws it states."""
        claims = ["deterministic", "pure", "pairing", "markers", "idempotent"]
        if target.keeps_reasoning_in_context:
            claims.append("prefix_stable")
        if target.cache.supported:
            claims.append("places_markers")
        check_policy(
            compose(*default_policies(target)),
            claims=tuple(claims),
            target=target,
            max_examples=20,
        )

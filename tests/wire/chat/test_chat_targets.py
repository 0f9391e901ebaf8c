"""The built-in targets carry the rules the seed pages and wire-facts give."""

from __future__ import annotations

import pytest

import convo.targets
from convo import get_target, registered_targets
from convo._targets import register_target

NAMES = (
    "databricks-claude-sonnet-4",
    "databricks-claude-sonnet-4-5",
    "databricks-claude-opus-4-1",
    "databricks-claude-opus-4-5",
    "databricks-gpt-oss-20b",
    "databricks-gpt-oss-120b",
    "databricks-gpt-5-1",
    "databricks-gemini-3-pro",
    "databricks-meta-llama-3-1-405b-instruct",
    "openai-compatible",
)


class TestBuiltInTargets:
    def test_every_model_of_the_seeds_is_registered(self):
        registered = {t.name for t in registered_targets()}
        assert set(NAMES) <= registered

    @pytest.mark.parametrize("name", [n for n in NAMES if "claude" in n])
    def test_claude_targets_are_hybrid_budget_models_with_claudes_rules(self, name):
        target = get_target(name)
        assert (target.reasoning.style, target.reasoning.min_budget) == ("budget", 1024)
        assert target.reasoning.budget_warning_above == 32_000
        assert target.rejects_empty_text
        assert target.requires_signatures
        assert target.reasoning_required_in_tool_loop
        assert target.cache.supported
        assert target.cache.max_breakpoints == 4
        assert not target.tool_results_need_preceding_call
        assert {
            "reasoning_effort",
            "parallel_tool_calls",
            "stream_options",
        } <= target.rejected_fields

    def test_minimum_cacheable_lengths(self):
        assert (
            get_target("databricks-claude-sonnet-4-5").cache.min_cacheable_tokens
            == 1024
        )
        assert (
            get_target("databricks-claude-opus-4-5").cache.min_cacheable_tokens == 4096
        )

    def test_gpt_oss_effort_ladder_and_default(self):
        for name in ("databricks-gpt-oss-20b", "databricks-gpt-oss-120b"):
            rules = get_target(name).reasoning
            assert (rules.style, rules.efforts, rules.default_effort) == (
                "effort",
                ("low", "medium", "high"),
                "medium",
            )
            assert get_target(name).tool_results_need_preceding_call

    def test_gpt_5_1_defaults_to_none_and_takes_strict_tools(self):
        target = get_target("databricks-gpt-5-1")
        assert target.reasoning.efforts == ("none", "low", "medium", "high")
        assert target.reasoning.default_effort == "none"
        assert target.supports_strict_tools

    def test_gemini_3_pro_defaults_to_low_and_echoes_tool_call_extras(self):
        target = get_target("databricks-gemini-3-pro")
        assert target.reasoning.default_effort == "low"
        assert target.echoes_tool_call_extras
        assert "stream_options" in target.rejected_fields

    def test_llama_405b_has_no_reasoning_and_a_retirement_notice(self):
        target = get_target("databricks-meta-llama-3-1-405b-instruct")
        assert target.reasoning.style == "none"
        assert target.deprecation is not None
        assert target.deprecation.pay_per_token_retirement == "2026-02-15"
        assert target.deprecation.provisioned_throughput_retirement == "2026-05-15"

    def test_registering_the_same_target_again_is_harmless(self):
        assert register_target(convo.targets.GPT_5_1) is convo.targets.GPT_5_1

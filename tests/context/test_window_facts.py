"""Window facts: every built-in target knows its context window and output cap."""

from __future__ import annotations

import pytest

from convo import targets
from convo._targets import Target

BUILT_IN = (
    targets.CLAUDE_SONNET_4,
    targets.CLAUDE_SONNET_4_5,
    targets.CLAUDE_OPUS_4_1,
    targets.CLAUDE_OPUS_4_5,
    targets.GPT_OSS_20B,
    targets.GPT_OSS_120B,
    targets.GPT_5_1,
    targets.GEMINI_3_PRO,
    targets.LLAMA_3_1_405B,
)


class TestBuiltInWindowFacts:
    @pytest.mark.parametrize("target", BUILT_IN, ids=lambda t: t.name)
    def test_every_named_model_has_a_window_and_an_output_cap_below_it(
        self, target: Target
    ) -> None:
        assert target.context_window is not None
        assert target.max_output_tokens is not None
        assert 0 < target.max_output_tokens <= target.context_window

    def test_the_figures_are_the_providers_published_ones(self) -> None:
        assert targets.CLAUDE_SONNET_4_5.context_window == 200_000
        assert targets.CLAUDE_OPUS_4_1.max_output_tokens == 32_000
        assert targets.GPT_OSS_120B.context_window == 131_072
        assert targets.GPT_5_1.context_window == 400_000
        assert targets.GEMINI_3_PRO.context_window == 1_048_576
        assert targets.GEMINI_3_PRO.max_output_tokens == 65_536

    def test_the_generic_target_leaves_the_window_unknown(self) -> None:
        assert targets.OPENAI_COMPATIBLE.context_window is None
        assert targets.OPENAI_COMPATIBLE.max_output_tokens is None


class TestRegisteredWindowFacts:
    def test_a_registered_target_takes_its_window_as_parameters(self) -> None:
        target = Target(name="my-model", context_window=32_768, max_output_tokens=2048)
        assert (target.context_window, target.max_output_tokens) == (32_768, 2048)

    @pytest.mark.parametrize("value", [0, -5, True])
    def test_refuses_a_window_that_is_not_a_positive_count(self, value: int) -> None:
        with pytest.raises(ValueError, match="context_window must be a positive"):
            Target(name="my-model", context_window=value)

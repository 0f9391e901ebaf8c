"""Requests a target would answer with a 400 are refused before sending (R6-R8, R12, R14-R16, R18)."""

from __future__ import annotations

import warnings

import attrs
import pytest

from convo import (
    AdaptiveThinking,
    CacheControl,
    Effort,
    ImageBlock,
    ReasoningBlock,
    RequestParams,
    ResponseFormat,
    SummaryText,
    Target,
    TextBlock,
    ThinkingBudget,
    Tool,
    ToolCallBlock,
    ToolResultBlock,
    assistant,
    get_target,
    tool_results,
    user,
)
from convo._targets import ImageLimits, ReasoningRules, TargetDeprecationWarning
from convo.errors import PayloadTooLargeError, RequestRejectedError
from convo.wire import chat
from convo.wire.chat import LargeThinkingBudgetWarning

CLAUDE = get_target("databricks-claude-sonnet-4-5")
GPT_OSS = get_target("databricks-gpt-oss-20b")
GPT_5_1 = get_target("databricks-gpt-5-1")
GEMINI = get_target("databricks-gemini-3-pro")
LLAMA = get_target("databricks-meta-llama-3-1-405b-instruct")
ADAPTIVE = Target(
    name="adaptive-only-claude",
    provider="anthropic",
    family="claude",
    reasoning=ReasoningRules(
        style="adaptive", efforts=("low", "medium", "high", "max")
    ),
)
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def png(width: int, height: int) -> bytes:
    return (
        PNG_HEADER
        + width.to_bytes(4, "big")
        + height.to_bytes(4, "big")
        + b"\x08\x02\x00\x00\x00"
    )


def rejected(
    target: Target, *, turns=None, params=None, tools=()
) -> RequestRejectedError:
    with pytest.raises(RequestRejectedError) as info:
        chat.validate_request(
            [user("q")] if turns is None else turns,
            target=target,
            params=params,
            tools=tools,
        )
    assert info.value.target == target.name
    assert info.value.rule in str(info.value)
    return info.value


def thinking(budget: int, max_tokens: int | None = 8000, **kw: object) -> RequestParams:
    return RequestParams(
        max_tokens=max_tokens,
        reasoning=ThinkingBudget(budget_tokens=budget),
        **kw,  # type: ignore[arg-type]
    )


class TestR12EmptyText:
    def test_r12_a_whitespace_only_user_message_is_refused_for_claude(self):
        error = rejected(CLAUDE, turns=[user(" \n")])
        assert (error.rule, error.path) == ("R12", "$.turns[0]")

    def test_r12_the_same_message_is_fine_for_a_target_that_takes_empty_text(self):
        chat.validate_request([user(" ")], target=GPT_OSS)

    def test_r12_an_assistant_turn_with_only_blank_text_is_refused_for_claude(self):
        error = rejected(CLAUDE, turns=[user("q"), assistant(""), user("r")])
        assert (error.rule, error.path) == ("R12", "$.turns[1]")


class TestR14Thinking:
    def test_r14_budget_below_1024_is_refused(self):
        error = rejected(CLAUDE, params=thinking(1000))
        assert (error.rule, error.path) == ("R14", "$.params.reasoning.budget_tokens")

    def test_r14_budget_must_be_below_max_tokens(self):
        assert rejected(CLAUDE, params=thinking(4096, 4096)).rule == "R14"
        assert rejected(CLAUDE, params=thinking(2048, None)).rule == "R14"

    def test_r14_the_smallest_valid_budget_passes(self):
        chat.validate_request([user("q")], target=CLAUDE, params=thinking(1024, 1025))

    def test_r14_thinking_forbids_temperature_and_top_k(self):
        assert (
            rejected(CLAUDE, params=thinking(2048, temperature=0.5)).path
            == "$.params.temperature"
        )
        assert rejected(CLAUDE, params=thinking(2048, top_k=5)).path == "$.params.top_k"

    def test_r14_thinking_allows_top_p_only_in_095_to_1(self):
        assert (
            rejected(CLAUDE, params=thinking(2048, top_p=0.9)).path == "$.params.top_p"
        )
        chat.validate_request(
            [user("q")], target=CLAUDE, params=thinking(2048, top_p=0.95)
        )

    def test_r14_thinking_allows_tool_choice_auto_or_none_only(self):
        error = rejected(CLAUDE, params=thinking(2048, tool_choice="required"))
        assert error.path == "$.params.tool_choice"
        chat.validate_request(
            [user("q")], target=CLAUDE, params=thinking(2048, tool_choice="auto")
        )

    def test_r14_sampling_is_fine_without_thinking(self):
        chat.validate_request(
            [user("q")], target=CLAUDE, params=RequestParams(temperature=0.3, top_k=3)
        )

    def test_r14_adaptive_only_models_reject_budgets_and_sampling(self):
        assert rejected(ADAPTIVE, params=thinking(2048)).rule == "R14"
        error = rejected(ADAPTIVE, params=RequestParams(temperature=1.0))
        assert (error.rule, error.path) == ("R14", "$.params.temperature")
        chat.validate_request(
            [user("q")],
            target=ADAPTIVE,
            params=RequestParams(reasoning=AdaptiveThinking(effort="max")),
        )

    def test_r14_a_budget_above_32k_warns_as_the_seed_says(self):
        with pytest.warns(LargeThinkingBudgetWarning, match="32K"):
            chat.validate_request(
                [user("q")], target=CLAUDE, params=thinking(40_000, 64_000)
            )

    def test_r14_a_32k_budget_does_not_warn(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            chat.validate_request(
                [user("q")], target=CLAUDE, params=thinking(32_000, 64_000)
            )


class TestR15Effort:
    def test_r15_claude_rejects_reasoning_effort(self):
        error = rejected(CLAUDE, params=RequestParams(reasoning=Effort(level="high")))
        assert error.rule == "R15"

    def test_r15_gpt_oss_takes_low_medium_high_only(self):
        for level in ("low", "medium", "high"):
            chat.validate_request(
                [user("q")],
                target=GPT_OSS,
                params=RequestParams(reasoning=Effort(level=level)),
            )
        assert (
            rejected(GPT_OSS, params=RequestParams(reasoning=Effort(level="none"))).rule
            == "R15"
        )

    def test_r15_gpt_5_1_takes_none(self):
        chat.validate_request(
            [user("q")],
            target=GPT_5_1,
            params=RequestParams(reasoning=Effort(level="none")),
        )
        assert (
            rejected(
                GPT_5_1, params=RequestParams(reasoning=Effort(level="minimal"))
            ).rule
            == "R15"
        )

    def test_r15_defaults_per_family_follow_the_seed(self):
        assert GPT_OSS.reasoning.default_effort == "medium"
        assert GPT_5_1.reasoning.default_effort == "none"
        assert GEMINI.reasoning.default_effort == "low"

    def test_r15_a_model_without_reasoning_takes_no_reasoning_parameter(self):
        with pytest.warns(TargetDeprecationWarning):
            error = rejected(LLAMA, params=RequestParams(reasoning=Effort(level="low")))
        assert error.rule == "R15"

    def test_r15_effort_targets_take_no_thinking_budget(self):
        assert rejected(GPT_OSS, params=thinking(2048)).rule == "R15"


class TestR16Fields:
    def test_r16_parallel_tool_calls_is_refused_for_claude_even_as_extra(self):
        error = rejected(
            CLAUDE, params=RequestParams(extra={"parallel_tool_calls": False})
        )
        assert (error.rule, error.path) == ("R16", "$.params.extra.parallel_tool_calls")

    def test_r16_stream_options_is_refused_for_claude_and_gemini(self):
        params = RequestParams(
            stream=True, extra={"stream_options": {"include_usage": True}}
        )
        assert rejected(CLAUDE, params=params).rule == "R16"
        assert rejected(GEMINI, params=params).rule == "R16"
        chat.validate_request([user("q")], target=GPT_5_1, params=params)

    def test_r16_strict_tools_only_on_gpt(self):
        tool = Tool(name="t", strict=True)
        assert rejected(CLAUDE, tools=[tool]).path == "$.tools[0].strict"
        chat.validate_request([user("q")], target=GPT_5_1, tools=[tool])

    def test_r16_strict_structured_output_only_on_gpt(self):
        params = RequestParams(
            response_format=ResponseFormat(type="json_schema", schema={}, strict=True)
        )
        assert rejected(GEMINI, params=params).rule == "R16"

    def test_r16_top_k_is_not_a_field_gpt_takes(self):
        assert rejected(GPT_5_1, params=RequestParams(top_k=3)).path == "$.params.top_k"

    def test_r16_cache_markers_only_where_caching_exists(self):
        turn = user(TextBlock(text="doc", cache_control=CacheControl()))
        assert rejected(GPT_OSS, turns=[turn]).rule == "R16"


class TestCacheMarkers:
    def test_r6_a_fifth_marker_is_refused(self):
        marked = [
            user(TextBlock(text=f"t{i}", cache_control=CacheControl()))
            for i in range(2)
        ]
        tools = [Tool(name=f"t{i}", cache_control=CacheControl()) for i in range(3)]
        turns = [marked[0], assistant("a"), marked[1]]
        error = rejected(CLAUDE, turns=turns, tools=tools)
        assert (error.rule, error.path) == ("R6", "$.turns[2].blocks[0]")

    def test_r7_no_marker_on_reasoning_or_empty_text(self):
        reasoning = ReasoningBlock(
            parts=(SummaryText(text="r", signature="s"),), cache_control=CacheControl()
        )
        assert (
            rejected(
                CLAUDE, turns=[user("q"), assistant([reasoning, TextBlock(text="a")])]
            ).rule
            == "R7"
        )
        blank = assistant(
            [TextBlock(text="", cache_control=CacheControl()), TextBlock(text="a")]
        )
        assert rejected(CLAUDE, turns=[user("q"), blank]).rule == "R7"


class TestR18Images:
    def test_r18_text_only_targets_refuse_images(self):
        turn = user([TextBlock(text="q"), ImageBlock.from_bytes(png(10, 10))])
        assert rejected(GPT_OSS, turns=[turn]).rule == "R18"

    def test_r18_a_side_over_8000_px_is_refused(self):
        turn = user([ImageBlock.from_bytes(png(8001, 10))])
        error = rejected(CLAUDE, turns=[turn])
        assert isinstance(error, PayloadTooLargeError)
        assert error.path == "$.turns[0].blocks[0]"

    def test_r18_an_image_over_the_targets_byte_limit_is_refused(self):
        target = attrs.evolve(
            CLAUDE, name="small-images", images=ImageLimits(max_base64_bytes=100)
        )
        turn = user([ImageBlock.from_bytes(png(1, 1) + b"\x00" * 200)])
        assert isinstance(rejected(target, turns=[turn]), PayloadTooLargeError)

    def test_r18_the_request_size_limit_is_enforced(self):
        target = attrs.evolve(CLAUDE, name="small-requests", max_request_bytes=1000)
        error = rejected(target, turns=[user("x" * 2000)])
        assert isinstance(error, PayloadTooLargeError)
        assert error.rule == "R18"

    def test_r18_claude_refuses_images_inside_tool_messages(self):
        turns = [
            user("q"),
            assistant(ToolCallBlock(id="a", name="f")),
            tool_results(
                ToolResultBlock(
                    call_id="a", content=(ImageBlock.from_bytes(png(2, 2)),)
                )
            ),
        ]
        assert rejected(CLAUDE, turns=turns).path == "$.turns[2].blocks[0].content[0]"

    def test_r18_claude_refuses_images_in_assistant_messages(self):
        turns = [user("q"), assistant([ImageBlock.from_bytes(png(2, 2))])]
        assert rejected(CLAUDE, turns=turns).path == "$.turns[1].blocks[0]"
        chat.validate_request(turns, target=GPT_5_1)


class TestDeprecation:
    def test_llama_405b_warns_with_both_retirement_dates(self):
        with pytest.warns(TargetDeprecationWarning) as record:
            chat.encode_request([user("q")], target=LLAMA)
        text = str(record[0].message)
        assert "2026-02-15" in text
        assert "2026-05-15" in text

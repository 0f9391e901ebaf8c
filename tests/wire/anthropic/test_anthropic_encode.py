"""Encoding requests for the Messages API: layout, golden payload, and every rule refused."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import attrs
import pytest

from convo import (
    AdaptiveThinking,
    CacheControl,
    Effort,
    ImageBlock,
    Provenance,
    ReasoningBlock,
    RequestParams,
    ResponseFormat,
    SummaryEncryptedText,
    SummaryText,
    Target,
    TextBlock,
    ThinkingBudget,
    Tool,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    assistant,
    system,
    tool_results,
    user,
)
from convo._json import canonical_bytes
from convo._targets import CacheRules, ImageLimits, ReasoningRules
from convo.errors import PayloadTooLargeError, RequestRejectedError
from convo.wire.anthropic import (
    anthropic_target,
    decode_response,
    encode_request,
    encode_request_bytes,
    validate_request,
)

FIXTURES = Path(__file__).parent / "fixtures"

SONNET = anthropic_target(
    Target(
        name="databricks-claude-sonnet-4-5",
        provider="databricks",
        family="claude",
        reasoning=ReasoningRules(style="budget"),
        cache=CacheRules(supported=True),
    )
)
OPUS_ADAPTIVE = anthropic_target(
    Target(
        name="databricks-claude-opus-4-7",
        provider="databricks",
        family="claude",
        reasoning=ReasoningRules(style="adaptive", efforts=("low", "medium", "high")),
    )
)
PARAMS = RequestParams(max_tokens=1000)
THINKING = RequestParams(max_tokens=4000, reasoning=ThinkingBudget(budget_tokens=2048))
CLAUDE = Provenance(provider="anthropic", family="claude", model="claude-sonnet-4-5")
WEATHER = Tool(
    name="get_weather",
    description="Current weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def signed(text: str = "thinking...", signature: str = "SIG") -> ReasoningBlock:
    return ReasoningBlock(
        parts=(SummaryText(text=text, signature=signature),), provenance=CLAUDE
    )


def call(call_id: str = "toolu_1", arguments: str = '{"city":"Oslo"}') -> ToolCallBlock:
    return ToolCallBlock(id=call_id, name="get_weather", arguments=arguments)


def result(call_id: str = "toolu_1", content: str = "3 C") -> Turn:
    return tool_results(ToolResultBlock(call_id=call_id, content=content))


def encode(turns: list[Turn], **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("target", SONNET)
    kwargs.setdefault("params", PARAMS)
    return encode_request(turns, **kwargs)


def rejected(turns: list[Turn], **kwargs: Any) -> RequestRejectedError:
    kwargs.setdefault("target", SONNET)
    kwargs.setdefault("params", PARAMS)
    with pytest.raises(RequestRejectedError) as info:
        validate_request(turns, **kwargs)
    return info.value


def tool_loop() -> list[Turn]:
    return [
        user("Weather in Oslo and Lima?"),
        assistant([signed(), call("toolu_1"), call("toolu_2", '{"city":"Lima"}')]),
        result("toolu_1"),
        result("toolu_2", "19 C"),
    ]


class TestAnthropicTarget:
    def test_keeps_the_model_and_switches_to_the_messages_wire(self) -> None:
        assert SONNET.name == "databricks-claude-sonnet-4-5"
        assert SONNET.wire == "anthropic"
        assert "thinking" in SONNET.accepted_fields
        assert "output_config" not in SONNET.accepted_fields

    def test_adaptive_only_models_take_output_config_and_no_sampling_fields(
        self,
    ) -> None:
        assert {"thinking", "output_config"} <= OPUS_ADAPTIVE.accepted_fields
        assert not {"temperature", "top_p", "top_k"} & OPUS_ADAPTIVE.accepted_fields

    def test_refuses_a_model_of_another_family(self) -> None:
        with pytest.raises(RequestRejectedError) as info:
            anthropic_target(Target(name="databricks-gpt-oss-120b", family="gpt-oss"))
        assert info.value.rule == "anthropic.route"


class TestGoldenPayload:
    def test_tool_loop_with_reasoning_encodes_to_the_golden_payload(self) -> None:
        first = decode_response(
            (FIXTURES / "response_thinking_tool_use.json").read_bytes(), target=SONNET
        )
        final = decode_response(
            (FIXTURES / "response_final_answer.json").read_bytes(), target=SONNET
        )
        turns = [
            system(
                [
                    TextBlock(
                        text="Answer briefly.", cache_control=CacheControl(ttl="1h")
                    )
                ]
            ),
            user("Weather in Oslo and Lima?"),
            first,
            result("toolu_01A", "Oslo: 3 C, light snow"),
            tool_results(
                ToolResultBlock(
                    call_id="toolu_01B",
                    content=(TextBlock(text="Lima: 19 C, overcast"),),
                )
            ),
            final,
            user([TextBlock(text="And tomorrow?", cache_control=CacheControl())]),
        ]
        tools = [
            Tool(
                name="get_weather",
                description="Current weather for one city",
                parameters={
                    "type": "object",
                    "properties": {
                        "city": {"type": "string"},
                        "units": {"type": "string"},
                    },
                    "required": ["city"],
                },
                cache_control=CacheControl(ttl="1h"),
            )
        ]
        params = RequestParams(
            max_tokens=8000,
            reasoning=ThinkingBudget(budget_tokens=2048),
            tool_choice="auto",
            stream=True,
        )
        payload = encode_request(turns, target=SONNET, params=params, tools=tools)
        golden = json.loads((FIXTURES / "request_tool_loop.json").read_text("utf-8"))
        assert payload == golden
        data = encode_request_bytes(turns, target=SONNET, params=params, tools=tools)
        assert data == canonical_bytes(golden)


class TestLayout:
    def test_a_lone_system_text_becomes_the_top_level_system_string(self) -> None:
        payload = encode([system("Be brief."), user("Hi")])
        assert payload["system"] == "Be brief."
        assert all(m["role"] != "system" for m in payload["messages"])

    def test_a_cached_system_block_makes_system_a_list_of_text_blocks(self) -> None:
        marked = TextBlock(text="Be brief.", cache_control=CacheControl())
        payload = encode([system([marked]), user("Hi")])
        assert payload["system"] == [
            {
                "type": "text",
                "text": "Be brief.",
                "cache_control": {"type": "ephemeral"},
            }
        ]

    def test_parallel_tool_results_go_together_into_one_user_message(self) -> None:
        payload = encode(tool_loop(), params=THINKING)
        last = payload["messages"][-1]
        assert last["role"] == "user"
        assert [b["tool_use_id"] for b in last["content"]] == ["toolu_1", "toolu_2"]
        assert len(payload["messages"]) == 3

    def test_user_text_after_tool_results_merges_after_the_results(self) -> None:
        turns = [user("Hi"), assistant([call()]), result(), user("Thanks")]
        content = encode(turns)["messages"][-1]["content"]
        assert [b["type"] for b in content] == ["tool_result", "text"]

    def test_consecutive_user_turns_merge_into_one_message(self) -> None:
        payload = encode([user("one"), user("two")])
        assert payload["messages"] == [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "one"},
                    {"type": "text", "text": "two"},
                ],
            }
        ]

    def test_tool_call_arguments_become_the_input_object(self) -> None:
        payload = encode([user("Hi"), assistant([call()]), result()])
        tool_use = payload["messages"][1]["content"][0]
        assert tool_use == {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "get_weather",
            "input": {"city": "Oslo"},
        }

    def test_empty_arguments_are_the_empty_input_object(self) -> None:
        payload = encode([user("Hi"), assistant([call(arguments="")]), result()])
        assert payload["messages"][1]["content"][0]["input"] == {}

    def test_error_results_carry_is_error(self) -> None:
        turns = [
            user("Hi"),
            assistant([call()]),
            tool_results(
                ToolResultBlock(call_id="toolu_1", content="boom", is_error=True)
            ),
        ]
        block = encode(turns)["messages"][-1]["content"][0]
        assert block["is_error"] is True

    def test_images_are_base64_sources(self) -> None:
        image = ImageBlock(media_type="image/gif", data=b"GIF89a...")
        block = encode([user([TextBlock(text="look"), image])])["messages"][0][
            "content"
        ][1]
        assert block == {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": "image/gif",
                "data": image.base64,
            },
        }

    def test_reasoning_parts_become_one_block_each_in_order(self) -> None:
        reasoning = ReasoningBlock(
            parts=(
                SummaryText(text="a", signature="S1"),
                SummaryEncryptedText(data="ENC"),
                SummaryText(text="", signature="S2"),
            ),
            provenance=CLAUDE,
        )
        payload = encode(
            [user("Hi"), assistant([reasoning, TextBlock(text="ok")]), user("more")]
        )
        assert payload["messages"][1]["content"][:3] == [
            {"type": "thinking", "thinking": "a", "signature": "S1"},
            {"type": "redacted_thinking", "data": "ENC"},
            {"type": "thinking", "thinking": "", "signature": "S2"},
        ]

    def test_params_map_to_messages_fields(self) -> None:
        params = RequestParams(
            max_tokens=50, temperature=0.2, top_p=0.9, top_k=5, stop=("END",)
        )
        payload = encode([user("Hi")], params=params, tools=[WEATHER])
        assert payload["stop_sequences"] == ["END"]
        assert (payload["temperature"], payload["top_p"], payload["top_k"]) == (
            0.2,
            0.9,
            5,
        )
        assert payload["tools"] == [
            {
                "name": "get_weather",
                "description": "Current weather",
                "input_schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                },
            }
        ]
        assert payload["stream"] is False

    @pytest.mark.parametrize(
        ("choice", "wire"),
        [
            ("auto", {"type": "auto"}),
            ("none", {"type": "none"}),
            ("required", {"type": "any"}),
            ("get_weather", {"type": "tool", "name": "get_weather"}),
        ],
    )
    def test_tool_choice_maps_to_the_messages_shape(
        self, choice: str, wire: dict[str, str]
    ) -> None:
        params = RequestParams(max_tokens=50, tool_choice=choice)
        assert (
            encode([user("Hi")], params=params, tools=[WEATHER])["tool_choice"] == wire
        )

    def test_thinking_budget_becomes_the_enabled_thinking_field(self) -> None:
        assert encode([user("Hi")], params=THINKING)["thinking"] == {
            "type": "enabled",
            "budget_tokens": 2048,
        }

    def test_adaptive_thinking_sends_thinking_and_output_config_effort(self) -> None:
        params = RequestParams(
            max_tokens=4000, reasoning=AdaptiveThinking(effort="high")
        )
        payload = encode([user("Hi")], target=OPUS_ADAPTIVE, params=params)
        assert payload["thinking"] == {"type": "adaptive"}
        assert payload["output_config"] == {"effort": "high"}

    def test_extra_params_are_sent_verbatim(self) -> None:
        params = RequestParams(max_tokens=50, extra={"metadata": {"user_id": "u1"}})
        assert encode([user("Hi")], params=params)["metadata"] == {"user_id": "u1"}

    def test_bytes_are_the_canonical_bytes_of_the_payload(self) -> None:
        turns = [system("s"), *tool_loop()]
        payload = encode(turns, params=THINKING, tools=[WEATHER])
        data = encode_request_bytes(
            turns, target=SONNET, params=THINKING, tools=[WEATHER]
        )
        assert data == canonical_bytes(payload)
        assert data == encode_request_bytes(
            turns, target=SONNET, params=THINKING, tools=[WEATHER]
        )

    def test_each_turn_is_encoded_once_and_reused(self) -> None:
        turns = [user("Hi"), assistant("Hello"), user("Again")]
        encode(turns)
        assert "anthropic.blocks" in turns[1]._memo
        cached = turns[1]._memo["anthropic.blocks"]
        encode([*turns, assistant("Sure"), user("Bye")])
        assert turns[1]._memo["anthropic.blocks"] is cached

    def test_the_returned_payload_can_be_changed_without_touching_the_memo(
        self,
    ) -> None:
        turns = [user("Hi")]
        encode(turns)["messages"][0]["content"][0]["text"] = "changed"
        assert encode(turns)["messages"][0]["content"][0]["text"] == "Hi"


class TestRules:
    """One test per provider rule the encoder enforces."""

    def test_r2_a_tool_loop_continuation_with_thinking_must_start_with_reasoning(
        self,
    ) -> None:
        turns = [user("Hi"), assistant([call()]), result()]
        assert rejected(turns, params=THINKING).rule == "R2"
        validate_request(turns, target=SONNET, params=PARAMS)

    def test_r4_foreign_reasoning_is_refused(self) -> None:
        foreign = ReasoningBlock(
            parts=(SummaryText(text="x", signature="S"),),
            provenance=Provenance(provider="openai", family="gpt-oss"),
        )
        error = rejected(
            [user("Hi"), assistant([foreign, TextBlock(text="ok")]), user("?")]
        )
        assert error.rule == "R4"
        assert error.path == "$.turns[1].blocks[0]"

    def test_r4_unsigned_reasoning_is_refused_never_sent_as_text(self) -> None:
        unsigned = ReasoningBlock(parts=(SummaryText(text="x"),), provenance=CLAUDE)
        error = rejected(
            [user("Hi"), assistant([unsigned, TextBlock(text="ok")]), user("?")]
        )
        assert error.rule == "R4"
        assert "drop_foreign_reasoning" in str(error)

    def test_r6_more_than_four_cache_markers_are_refused(self) -> None:
        marked = [
            TextBlock(text=f"t{i}", cache_control=CacheControl()) for i in range(5)
        ]
        assert rejected([user(marked)]).rule == "R6"

    def test_r6_markers_count_tools_system_and_messages(self) -> None:
        tool = attrs.evolve(WEATHER, cache_control=CacheControl())
        sys_turn = system([TextBlock(text="s", cache_control=CacheControl())])
        marked = [
            TextBlock(text=f"t{i}", cache_control=CacheControl()) for i in range(3)
        ]
        assert rejected([sys_turn, user(marked)], tools=[tool]).rule == "R6"

    def test_r7_reasoning_cannot_carry_cache_control(self) -> None:
        block = attrs.evolve(signed(), cache_control=CacheControl())
        error = rejected(
            [user("Hi"), assistant([block, TextBlock(text="ok")]), user("?")]
        )
        assert error.rule == "R7"

    def test_r7_an_empty_text_block_cannot_carry_cache_control(self) -> None:
        blank = TextBlock(text="  ", cache_control=CacheControl())
        assert rejected([user([TextBlock(text="Hi"), blank])]).rule == "R7"

    def test_r8_an_earlier_breakpoint_cannot_have_a_shorter_ttl(self) -> None:
        early = TextBlock(text="a", cache_control=CacheControl(ttl="5m"))
        late = TextBlock(text="b", cache_control=CacheControl(ttl="1h"))
        assert rejected([user([early, late])]).rule == "R8"

    def test_r10_a_tool_call_without_a_result_is_refused(self) -> None:
        turns = [user("Hi"), assistant([call()]), user("never mind")]
        error = rejected(turns)
        assert error.rule == "R10"
        assert "toolu_1" in str(error)

    def test_r10_an_orphan_tool_result_is_refused(self) -> None:
        turns = [user("Hi"), assistant("Hello"), result("toolu_9")]
        assert rejected(turns).rule == "R10"

    def test_r12_whitespace_only_text_blocks_are_left_out(self) -> None:
        turns = [user("Hi"), assistant([TextBlock(text="\n\n"), call()]), result()]
        content = encode(turns)["messages"][1]["content"]
        assert [b["type"] for b in content] == ["tool_use"]

    def test_r12_a_message_left_empty_is_refused(self) -> None:
        assert rejected([user(" ")]).rule == "R12"

    def test_r14_budget_below_the_minimum_is_refused(self) -> None:
        params = RequestParams(
            max_tokens=4000, reasoning=ThinkingBudget(budget_tokens=1023)
        )
        assert rejected([user("Hi")], params=params).rule == "R14"

    def test_r14_budget_not_below_max_tokens_is_refused(self) -> None:
        params = RequestParams(
            max_tokens=2048, reasoning=ThinkingBudget(budget_tokens=2048)
        )
        error = rejected([user("Hi")], params=params)
        assert (error.rule, error.path) == ("R14", "$.params.reasoning.budget_tokens")

    def test_r14_adaptive_only_models_reject_a_budget(self) -> None:
        assert (
            rejected([user("Hi")], target=OPUS_ADAPTIVE, params=THINKING).rule == "R14"
        )

    def test_r14_adaptive_only_models_reject_sampling_parameters(self) -> None:
        params = RequestParams(max_tokens=100, temperature=0.5)
        assert rejected([user("Hi")], target=OPUS_ADAPTIVE, params=params).rule == "R14"

    @pytest.mark.parametrize(
        "change", [{"temperature": 0.5}, {"top_k": 10}, {"top_p": 0.9}]
    )
    def test_r14_thinking_refuses_temperature_top_k_and_low_top_p(
        self, change: dict[str, Any]
    ) -> None:
        params = attrs.evolve(THINKING, **change)
        assert rejected([user("Hi")], params=params).rule == "R14"

    def test_r14_thinking_allows_top_p_from_point_95(self) -> None:
        params = attrs.evolve(THINKING, top_p=0.95)
        assert encode([user("Hi")], params=params)["top_p"] == 0.95

    @pytest.mark.parametrize("choice", ["required", "get_weather"])
    def test_r14_thinking_allows_only_auto_or_none_tool_choice(
        self, choice: str
    ) -> None:
        params = attrs.evolve(THINKING, tool_choice=choice)
        assert rejected([user("Hi")], params=params, tools=[WEATHER]).rule == "R14"

    def test_r14_thinking_refuses_an_assistant_prefill(self) -> None:
        assert rejected([user("Hi"), assistant("Sure,")], params=THINKING).rule == "R14"

    def test_r15_reasoning_effort_is_refused_for_claude(self) -> None:
        params = RequestParams(max_tokens=100, reasoning=Effort(level="high"))
        assert rejected([user("Hi")], params=params).rule == "R15"

    def test_an_effort_on_an_adaptive_model_asks_like_chat_completions_does(
        self,
    ) -> None:
        from convo.wire import chat

        params = RequestParams(max_tokens=100, reasoning=Effort(level="high"))
        payload = encode([user("Hi")], target=OPUS_ADAPTIVE, params=params)
        expected = {
            "thinking": {"type": "adaptive"},
            "output_config": {"effort": "high"},
        }
        assert {k: payload[k] for k in expected} == expected
        on_chat = chat.encode_request(
            [user("Hi")], target=attrs.evolve(OPUS_ADAPTIVE, wire="chat"), params=params
        )
        assert {k: on_chat[k] for k in expected} == expected

    def test_r15_an_effort_the_model_does_not_take_is_refused(self) -> None:
        params = RequestParams(max_tokens=100, reasoning=AdaptiveThinking(effort="max"))
        assert rejected([user("Hi")], target=OPUS_ADAPTIVE, params=params).rule == "R15"

    @pytest.mark.parametrize(
        "params",
        [
            RequestParams(max_tokens=100, n=2),
            RequestParams(
                max_tokens=100, response_format=ResponseFormat(type="json_object")
            ),
        ],
    )
    def test_r16_fields_the_messages_api_does_not_take_are_refused(
        self, params: RequestParams
    ) -> None:
        assert rejected([user("Hi")], params=params).rule == "R16"

    def test_an_extra_field_that_collides_with_one_convo_sets_is_refused(self) -> None:
        params = RequestParams(max_tokens=100, extra={"model": "other"})
        error = rejected([user("Hi")], params=params)
        assert (error.rule, error.path) == ("params.extra", "$.params.extra.model")

    def test_a_target_of_the_chat_wire_is_refused_with_the_fix(self) -> None:
        chat = attrs.evolve(SONNET, wire="chat")
        error = rejected([user("Hi")], target=chat)
        assert error.rule == "anthropic.route"
        assert "anthropic_target" in str(error)

    def test_r16_strict_tools_are_refused(self) -> None:
        tool = attrs.evolve(WEATHER, strict=True)
        assert rejected([user("Hi")], tools=[tool]).rule == "R16"

    def test_r18_an_image_over_the_target_limit_is_refused(self) -> None:
        small = attrs.evolve(SONNET, images=ImageLimits(max_base64_bytes=8))
        image = ImageBlock(media_type="image/gif", data=b"GIF89a" + b"\x00" * 20)
        with pytest.raises(PayloadTooLargeError) as info:
            validate_request([user([image])], target=small, params=PARAMS)
        assert info.value.rule == "R18"

    def test_r18_an_image_wider_than_8000_px_is_refused_naming_its_size(self) -> None:
        wide = b"GIF89a" + struct.pack("<HH", 8001, 10) + b"\x00" * 16
        image = ImageBlock(media_type="image/gif", data=wide)
        with pytest.raises(PayloadTooLargeError) as info:
            validate_request([user([image])], target=SONNET, params=PARAMS)
        assert info.value.rule == "R18"
        assert "8001x10 px" in str(info.value)

    def test_r18_beyond_20_images_each_side_is_at_most_2000_px(self) -> None:
        def gif(width: int) -> ImageBlock:
            data = b"GIF89a" + struct.pack("<HH", width, 10) + b"\x00" * 16
            return ImageBlock(media_type="image/gif", data=data)

        twenty = [gif(2001) for _ in range(20)]
        validate_request([user(twenty)], target=SONNET, params=PARAMS)
        with pytest.raises(PayloadTooLargeError) as info:
            validate_request([user([*twenty, gif(2001)])], target=SONNET, params=PARAMS)
        assert "over 2000 px per side" in str(info.value)

    def test_r18_a_request_over_the_size_limit_is_refused(self) -> None:
        small = attrs.evolve(SONNET, max_request_bytes=100)
        with pytest.raises(PayloadTooLargeError):
            encode_request([user("x" * 200)], target=small, params=PARAMS)

    def test_max_tokens_is_required(self) -> None:
        error = rejected([user("Hi")], params=RequestParams())
        assert error.rule == "anthropic.max_tokens"
        assert "max_tokens" in str(error)

    def test_the_first_message_must_be_a_user_message(self) -> None:
        error = rejected([assistant("Hello"), user("Hi")])
        assert error.rule == "anthropic.first_user"
        assert "Start the view with a user turn" in str(error)

    def test_tool_arguments_that_are_not_an_object_are_refused_naming_the_call(
        self,
    ) -> None:
        turns = [user("Hi"), assistant([call(arguments='{"city": ')]), result()]
        error = rejected(turns)
        assert error.rule == "anthropic.tool_input"
        assert "toolu_1" in str(error)
        assert error.path == "$.turns[1].blocks[0].arguments"

    def test_a_system_turn_after_messages_is_refused(self) -> None:
        assert rejected([user("Hi"), system("late")]).rule == "anthropic.system"

    def test_r18_images_in_assistant_turns_are_refused(self) -> None:
        image = ImageBlock(media_type="image/gif", data=b"GIF89a")
        error = rejected(
            [user("Hi"), assistant([TextBlock(text="see"), image]), user("ok")]
        )
        assert (error.rule, error.path) == ("R18", "$.turns[1].blocks[1]")

    def test_r17_tool_call_extras_are_echoed_only_to_targets_that_take_them(
        self,
    ) -> None:
        extra_call = ToolCallBlock(
            id="toolu_1", name="get_weather", arguments="{}", extra={"caller": "x"}
        )
        turns = [user("Hi"), assistant([extra_call]), result()]
        echoed = encode(turns)["messages"][1]["content"][0]
        bare_target = attrs.evolve(SONNET, echoes_tool_call_extras=False)
        bare = encode(turns, target=bare_target)["messages"][1]["content"][0]
        assert echoed["caller"] == "x"
        assert "caller" not in bare

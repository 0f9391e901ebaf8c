"""Encoding a request view into the Databricks / OpenAI chat-completions payload."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    get_target,
    system,
    tool_results,
    user,
)
from convo._json import canonical_bytes
from convo._targets import ReasoningRules
from convo.errors import RequestRejectedError
from convo.testing.strategies import conversations, turns
from convo.wire import chat

CLAUDE = get_target("databricks-claude-sonnet-4-5")
GPT_OSS = get_target("databricks-gpt-oss-120b")
GEMINI = get_target("databricks-gemini-3-pro")
GENERIC = get_target("openai-compatible")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
    b"\x00\x00\x00\x90wS\xde"
)
PROV = Provenance(provider="anthropic", family="claude", model=CLAUDE.name)


def messages(turns: list[Turn], target: Target = CLAUDE) -> list[dict[str, object]]:
    payload = chat.encode_request(turns, target=target)
    result: list[dict[str, object]] = payload["messages"]
    return result


class TestContentShapes:
    def test_user_and_system_content_is_a_string_for_one_plain_text_block(self):
        assert messages([system("Be brief."), user("Hi")]) == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ]

    def test_a_marker_turns_string_content_into_a_one_block_list_rule_r7(self):
        turn = user(TextBlock(text="doc", cache_control=CacheControl(ttl="1h")))
        assert messages([turn]) == [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "doc",
                        "cache_control": {"type": "ephemeral", "ttl": "1h"},
                    }
                ],
            }
        ]

    def test_images_are_image_url_data_url_parts_rule_r18(self):
        turn = user([TextBlock(text="What is it?"), ImageBlock.from_bytes(PNG)])
        (msg,) = messages([turn])
        assert msg["content"] == [
            {"type": "text", "text": "What is it?"},
            {
                "type": "image_url",
                "image_url": {"url": ImageBlock.from_bytes(PNG).data_url},
            },
        ]

    def test_reasoning_goes_only_inside_content_as_reasoning_parts_rule_r3(self):
        reasoning = ReasoningBlock(
            parts=(
                SummaryText(text="a", signature="S1"),
                SummaryText(text="", signature="S2"),
                SummaryText(text="b", signature=""),
                SummaryText(text="c"),
                SummaryEncryptedText(data="ENC"),
            ),
            provenance=PROV,
        )
        (msg,) = messages([user("q"), assistant([reasoning, TextBlock(text="ans")])])[
            1:
        ]
        assert set(msg) == {"role", "content"}
        assert msg["content"] == [
            {
                "type": "reasoning",
                "summary": [
                    {"type": "summary_text", "text": "a", "signature": "S1"},
                    {"type": "summary_text", "text": "", "signature": "S2"},
                    {"type": "summary_text", "text": "b", "signature": ""},
                    {"type": "summary_text", "text": "c"},
                    {"type": "summary_encrypted_text", "data": "ENC"},
                ],
            },
            {"type": "text", "text": "ans"},
        ]

    def test_tool_calls_keep_arguments_verbatim_and_echo_extras_rule_r17(self):
        call = ToolCallBlock(
            id="c1",
            name="f",
            arguments='{ "b":1, "a":2 }',
            extra={"extra_content": {"google": {"thought_signature": "TS"}}},
        )
        (msg,) = messages([user("q"), assistant(call)], GEMINI)[1:]
        assert msg == {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{ "b":1, "a":2 }'},
                    "extra_content": {"google": {"thought_signature": "TS"}},
                }
            ],
        }

    def test_an_assistant_message_with_calls_and_no_text_omits_content_rule_r12(self):
        call = ToolCallBlock(id="c1", name="f")
        (msg,) = messages([user("q"), assistant([TextBlock(text="  "), call])])[1:]
        assert "content" not in msg

    def test_a_target_may_ask_for_null_content_instead(self):
        target = attrs.evolve(
            GENERIC, name="null-content", empty_assistant_content="null"
        )
        (msg,) = messages(
            [user("q"), assistant(ToolCallBlock(id="c1", name="f"))], target
        )[1:]
        assert msg["content"] is None

    def test_claude_never_gets_a_blank_text_part_rule_r12(self):
        turn = assistant(
            [TextBlock(text=""), TextBlock(text="x"), TextBlock(text=" \n")]
        )
        (msg,) = messages([user("q"), turn])[1:]
        assert msg["content"] == "x"

    def test_one_tool_message_per_result_with_its_call_id(self):
        turns = [
            user("q"),
            assistant(
                [ToolCallBlock(id="a", name="f"), ToolCallBlock(id="b", name="f")]
            ),
            tool_results(
                ToolResultBlock(call_id="a", content="A"),
                ToolResultBlock(call_id="b", content=(TextBlock(text="B"),)),
            ),
        ]
        assert messages(turns)[2:] == [
            {"role": "tool", "tool_call_id": "a", "content": "A"},
            {
                "role": "tool",
                "tool_call_id": "b",
                "content": [{"type": "text", "text": "B"}],
            },
        ]

    def test_a_tool_result_marker_makes_its_string_a_one_part_list(self):
        turns = [
            user("q"),
            assistant(ToolCallBlock(id="a", name="f")),
            tool_results(
                ToolResultBlock(call_id="a", content="A", cache_control=CacheControl())
            ),
        ]
        assert messages(turns)[2]["content"] == [
            {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}}
        ]

    def test_message_name_fields_are_never_sent_to_databricks_rule_r16(self):
        turns = [
            user("q"),
            assistant(ToolCallBlock(id="a", name="f")),
            tool_results(
                ToolResultBlock(call_id="a", content="A", extra={"name": "f"})
            ),
        ]
        assert "name" not in messages(turns)[2]
        assert messages(turns, GENERIC)[2]["name"] == "f"


class TestParallelCallSplitting:
    def turns(self) -> list[Turn]:
        reasoning = ReasoningBlock(parts=(SummaryText(text="r"),))
        return [
            user("q"),
            assistant(
                [
                    reasoning,
                    TextBlock(text="calling"),
                    ToolCallBlock(id="A", name="f"),
                    ToolCallBlock(id="B", name="g"),
                ]
            ),
            tool_results(
                ToolResultBlock(call_id="B", content="rb"),
                ToolResultBlock(call_id="A", content="ra"),
            ),
        ]

    def test_non_claude_targets_get_assistant_a_tool_a_assistant_b_tool_b_rule_r11(
        self,
    ):
        out = messages(self.turns(), GPT_OSS)[1:]
        assert [m["role"] for m in out] == ["assistant", "tool", "assistant", "tool"]
        assert out[0]["content"] == [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "r"}]},
            {"type": "text", "text": "calling"},
        ]
        assert [c["id"] for c in out[0]["tool_calls"]] == ["A"]  # type: ignore[attr-defined]
        assert out[1]["tool_call_id"] == "A"
        assert out[2] == {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "B",
                    "type": "function",
                    "function": {"name": "g", "arguments": "{}"},
                }
            ],
        }
        assert out[3]["tool_call_id"] == "B"

    def test_claude_keeps_parallel_calls_on_one_message_and_results_consecutive(self):
        out = messages(self.turns(), CLAUDE)[1:]
        assert [m["role"] for m in out] == ["assistant", "tool", "tool"]
        assert len(out[0]["tool_calls"]) == 2  # type: ignore[arg-type]

    @settings(max_examples=40)
    @given(conversations(max_turns=10))
    def test_every_tool_message_directly_follows_the_call_it_answers_rule_r11(
        self, conv
    ):
        """For R11 targets, the message before each tool message carries its call."""
        split = messages_for_split(conv.path())
        for i, msg in enumerate(split):
            if msg["role"] == "tool":
                prev = split[i - 1]
                assert prev["role"] == "assistant"
                calls: Any = prev["tool_calls"]
                assert msg["tool_call_id"] in [c["id"] for c in calls]


def messages_for_split(turns: tuple[Turn, ...]) -> list[dict[str, object]]:
    target = attrs.evolve(
        GENERIC, name="generic-split", tool_results_need_preceding_call=True
    )
    return chat.encode_request(turns, target=target)["messages"]  # type: ignore[no-any-return]


class TestParams:
    def test_sampling_and_output_fields_are_sent_as_given(self):
        params = RequestParams(
            max_tokens=100,
            temperature=0.2,
            top_p=0.9,
            stop=("END",),
            n=2,
            stream=True,
            tool_choice="lookup",
            response_format=ResponseFormat(
                type="json_schema",
                name="answer",
                schema={"type": "object"},
                strict=True,
            ),
        )
        payload = chat.encode_request([user("q")], target=GENERIC, params=params)
        assert payload["tool_choice"] == {
            "type": "function",
            "function": {"name": "lookup"},
        }
        assert payload["response_format"] == {
            "type": "json_schema",
            "json_schema": {
                "name": "answer",
                "schema": {"type": "object"},
                "strict": True,
            },
        }
        assert (payload["max_tokens"], payload["temperature"], payload["top_p"]) == (
            100,
            0.2,
            0.9,
        )
        assert (payload["stop"], payload["n"], payload["stream"]) == (["END"], 2, True)

    def test_stream_is_left_out_when_false(self):
        assert "stream" not in chat.encode_request([user("q")], target=GENERIC)

    def test_a_thinking_budget_becomes_thinking_enabled(self):
        params = RequestParams(
            max_tokens=4096, reasoning=ThinkingBudget(budget_tokens=2048)
        )
        payload = chat.encode_request([user("q")], target=CLAUDE, params=params)
        assert payload["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert "reasoning_effort" not in payload

    def test_effort_becomes_reasoning_effort_for_effort_targets(self):
        params = RequestParams(reasoning=Effort(level="high"))
        payload = chat.encode_request([user("q")], target=GPT_OSS, params=params)
        assert payload["reasoning_effort"] == "high"

    def test_adaptive_thinking_becomes_thinking_adaptive_and_output_config(self):
        target = Target(
            name="adaptive-claude",
            family="claude",
            provider="anthropic",
            reasoning=ReasoningRules(
                style="adaptive", efforts=("low", "medium", "high")
            ),
        )
        for reasoning in (AdaptiveThinking(effort="high"), Effort(level="high")):
            payload = chat.encode_request(
                [user("q")], target=target, params=RequestParams(reasoning=reasoning)
            )
            assert payload["thinking"] == {"type": "adaptive"}
            assert payload["output_config"] == {"effort": "high"}

    def test_extra_fields_are_sent_verbatim(self):
        params = RequestParams(extra={"seed": 7, "metadata": {"a": [1]}})
        payload = chat.encode_request([user("q")], target=GENERIC, params=params)
        assert (payload["seed"], payload["metadata"]) == (7, {"a": [1]})

    def test_extra_fields_may_not_collide_with_convo_fields(self):
        params = RequestParams(max_tokens=5, extra={"max_tokens": 6})
        with pytest.raises(RequestRejectedError) as info:
            chat.encode_request([user("q")], target=GENERIC, params=params)
        assert info.value.path == "$.params.extra.max_tokens"

    def test_tool_definitions_carry_cache_control_inside_function(self):
        tool = Tool(name="t", description="d", cache_control=CacheControl())
        payload = chat.encode_request([user("q")], target=CLAUDE, tools=[tool])
        assert payload["tools"] == [
            {
                "type": "function",
                "function": {
                    "name": "t",
                    "description": "d",
                    "parameters": {"type": "object", "properties": {}},
                    "cache_control": {"type": "ephemeral"},
                },
            }
        ]


class TestDeterminismAndMemo:
    @settings(max_examples=40)
    @given(conversations(max_turns=12, images=True))
    def test_bytes_are_the_canonical_bytes_of_the_payload(self, conv):
        """encode_request_bytes == canonical_bytes(encode_request) for every view."""
        turns = conv.path()
        data = chat.encode_request_bytes(turns, target=GENERIC)
        assert data == canonical_bytes(chat.encode_request(turns, target=GENERIC))
        fresh = [Turn(role=t.role, blocks=t.blocks) for t in turns]
        assert chat.encode_request_bytes(fresh, target=GENERIC) == data

    @settings(max_examples=30)
    @given(conversations(max_turns=12), st.sampled_from([CLAUDE, GPT_OSS, GENERIC]))
    def test_the_request_after_one_more_turn_extends_the_messages(self, conv, target):
        """Prefix stability: messages of request N are a prefix of request N+1's."""
        turns = conv.path()
        if target is not GENERIC:
            target = attrs.evolve(
                target,
                name=target.name + "-lenient",
                images=GENERIC.images,
                rejects_empty_text=False,
            )
        before = chat.encode_request(turns, target=target)["messages"]
        after = chat.encode_request([*turns, user("more")], target=target)["messages"]
        assert after[: len(before)] == before

    def test_mutating_a_returned_payload_never_changes_the_memo(self):
        turns = [user("q"), assistant("a")]
        first = chat.encode_request(turns, target=CLAUDE)
        first["messages"][0]["content"] = "changed"
        assert (
            chat.encode_request(turns, target=CLAUDE)["messages"][0]["content"] == "q"
        )

    def test_encode_turn_messages_is_memoized_per_target(self):
        turn = assistant(
            [ToolCallBlock(id="A", name="f"), ToolCallBlock(id="B", name="f")]
        )
        assert len(chat.encode_turn_messages(turn, target=CLAUDE)) == 1
        assert len(chat.encode_turn_messages(turn, target=GPT_OSS)) == 2
        assert json.dumps(chat.encode_turn_messages(turn, target=CLAUDE))


class TestFastPath:
    @settings(max_examples=80)
    @given(
        turns(cache_control=True),
        st.sampled_from([CLAUDE, GPT_OSS, GEMINI, GENERIC]),
    )
    def test_the_dict_free_encoder_writes_the_canonical_bytes_of_the_general_one(
        self, turn, target
    ):
        """_encode_fast.fast(turn) is either None or exactly canonical_bytes of the dict encoding."""
        from convo.wire.chat import _encode, _encode_fast

        fast = _encode_fast.fast(turn, target)
        if fast is not None:
            general = tuple(
                (cid, canonical_bytes(m)) for cid, m in _encode._build(turn, target)
            )
            assert fast == general

    @given(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)
    )
    def test_string_literals_match_canonical_bytes_including_del(self, text):
        """_esc(text) is exactly how canonical_bytes writes the string (DEL included)."""
        from convo.wire.chat import _encode_fast

        assert _encode_fast._esc(text).encode() == canonical_bytes(text)
        assert _encode_fast._esc(text + "\x7f").encode() == canonical_bytes(
            text + "\x7f"
        )

"""Encoding request views as Responses bodies: items, fields, replay rules (goldens)."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from convo._blocks import (
    ImageBlock,
    Provenance,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolResultBlock,
)
from convo._json import canonical_bytes
from convo._params import Effort, RequestParams, ResponseFormat, ThinkingBudget
from convo._targets import ResponsesOptions
from convo._tools import Tool
from convo._turns import Turn
from convo.errors import RequestRejectedError
from convo.wire.responses import (
    decode_response,
    encode_request,
    encode_request_bytes,
    endpoint_suffix,
)
from tests.wire.responses._helpers import (
    CLAUDE_GW,
    CLAUDE_OR,
    GEMINI_GW,
    GEMINI_OR,
    GPT5,
    load,
    raw,
)

WEATHER = Tool(
    name="get_weather",
    description="Current weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082"
)


def _user(text: str) -> Turn:
    return Turn(role="user", blocks=(TextBlock(text=text),))


def _tool_loop() -> list[Turn]:
    return [
        Turn(role="system", blocks=(TextBlock(text="Be terse."),)),
        _user("Weather in Oslo?"),
        decode_response(raw("response_reasoning_tool_call.json"), target=CLAUDE_OR),
        Turn(
            role="tool",
            blocks=(ToolResultBlock(call_id="call_01", content="4 C, snow"),),
        ),
    ]


def _golden(name: str, payload: dict[str, Any]) -> None:
    assert payload == load(name), f"{name} differs from the encoded payload"


class TestGoldenRequests:
    def test_an_open_responses_tool_loop_replays_reasoning_and_call_unchanged(
        self,
    ) -> None:
        payload = encode_request(
            _tool_loop(),
            target=CLAUDE_OR,
            params=RequestParams(
                max_tokens=16000, reasoning=ThinkingBudget(budget_tokens=10000)
            ),
            tools=[WEATHER],
        )
        _golden("request_tool_loop.json", payload)

    def test_openai_responses_replays_message_ids_status_and_phase(self) -> None:
        turns = [
            _user("Hi"),
            decode_response(raw("response_gpt5_phase.json"), target=GPT5),
            _user("Again?"),
        ]
        payload = encode_request(
            turns, target=GPT5, params=RequestParams(stream=True, max_tokens=64)
        )
        _golden("request_gpt5_phase_replay.json", payload)

    def test_the_gateway_takes_images_and_a_flat_json_schema(self) -> None:
        turns = [
            Turn(
                role="user",
                blocks=(
                    TextBlock(text="What is in this image?"),
                    ImageBlock.from_bytes(PNG),
                ),
            )
        ]
        schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
        payload = encode_request(
            turns,
            target=GEMINI_GW,
            params=RequestParams(
                response_format=ResponseFormat(
                    type="json_schema", name="answer", schema=schema
                ),
                tool_choice="required",
                temperature=0.2,
            ),
        )
        _golden("request_gateway_image_schema.json", payload)

    def test_a_gemini_call_goes_back_with_its_signature(self) -> None:
        turns = [
            _user("Weather in Bergen?"),
            decode_response(
                raw("response_gemini_call_signature.json"), target=GEMINI_OR
            ),
            Turn(
                role="tool",
                blocks=(ToolResultBlock(call_id="call_04", content="rain"),),
            ),
        ]
        payload = encode_request(
            turns,
            target=GEMINI_OR,
            params=RequestParams(tool_choice="get_weather"),
            tools=[WEATHER],
        )
        _golden("request_gemini_signature.json", payload)


class TestItems:
    def test_bytes_are_the_canonical_form_of_the_payload(self) -> None:
        turns = _tool_loop()
        assert encode_request_bytes(turns, target=CLAUDE_OR) == canonical_bytes(
            encode_request(turns, target=CLAUDE_OR)
        )

    def test_the_same_answer_on_another_route_goes_back_without_its_item_ids(
        self,
    ) -> None:
        answer = decode_response(raw("response_gpt5_phase.json"), target=GPT5)
        answer = answer.with_blocks(answer.blocks[1:])  # as drop_foreign_reasoning does
        turns = [_user("Hi"), answer]
        other = attrs.evolve(GPT5, route="ai-gateway")
        items = encode_request([*turns, _user("More")], target=other)["input"]
        assert items[1] == {
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "Hello", "annotations": []},
                {"type": "output_text", "text": " there.", "annotations": []},
            ],
        }

    def test_a_call_whose_reasoning_was_dropped_goes_back_without_its_fc_id(
        self,
    ) -> None:
        turns = _tool_loop()
        answer = turns[2]
        turns[2] = answer.with_blocks(
            tuple(b for b in answer.blocks if not isinstance(b, ReasoningBlock))
        )
        items = encode_request(turns, target=CLAUDE_OR)["input"]
        call = next(i for i in items if i["type"] == "function_call")
        assert "id" not in call
        assert call["call_id"] == "call_01"

    def test_reasoning_ids_can_be_left_out_but_never_regenerated(self) -> None:
        target = attrs.evolve(
            CLAUDE_OR, responses=ResponsesOptions(reasoning_ids="omit")
        )
        items = encode_request(_tool_loop(), target=target)["input"]
        reasoning = next(i for i in items if i["type"] == "reasoning")
        assert "id" not in reasoning
        assert reasoning["encrypted_content"] == "gAAAAB-claude-blob-01"

    def test_assistant_text_can_go_as_input_text_for_routes_that_require_it(
        self,
    ) -> None:
        target = attrs.evolve(
            GPT5, responses=ResponsesOptions(assistant_text_part="input_text")
        )
        turns = [
            _user("Hi"),
            decode_response(raw("response_gpt5_phase.json"), target=target),
        ]
        items = encode_request(turns, target=target)["input"]
        assert [p["type"] for p in items[2]["content"]] == ["input_text", "input_text"]
        assert items[2]["phase"] == "final_answer"

    def test_store_and_include_can_be_left_out(self) -> None:
        target = attrs.evolve(
            CLAUDE_OR,
            responses=ResponsesOptions(
                send_store_false=False, include_encrypted_reasoning=False
            ),
        )
        payload = encode_request([_user("Hi")], target=target)
        assert "store" not in payload
        assert "include" not in payload

    def test_a_later_system_turn_is_a_developer_message(self) -> None:
        turns = [_user("Hi"), Turn(role="system", blocks=(TextBlock(text="Be kind."),))]
        payload = encode_request(turns, target=CLAUDE_OR)
        assert "instructions" not in payload
        assert payload["input"][1] == {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "Be kind."}],
        }

    def test_never_sends_previous_response_id(self) -> None:
        payload = encode_request(_tool_loop(), target=CLAUDE_OR)
        assert "previous_response_id" not in json.dumps(payload)

    def test_the_route_picks_the_path(self) -> None:
        assert (
            endpoint_suffix(CLAUDE_OR, databricks=True)
            == "/serving-endpoints/open-responses"
        )
        assert endpoint_suffix(GPT5, databricks=True) == "/serving-endpoints/responses"
        assert (
            endpoint_suffix(CLAUDE_GW, databricks=True)
            == "/ai-gateway/mlflow/v1/responses"
        )
        assert endpoint_suffix(GPT5, databricks=False) == "/responses"

    def test_gateway_targets_send_the_service_name_as_model(self) -> None:
        assert encode_request([_user("Hi")], target=CLAUDE_GW)["model"] == (
            "system.ai.claude-sonnet-4-5"
        )


def _signed_elsewhere(route: str | None) -> Turn:
    return Turn(
        role="assistant",
        blocks=(
            ReasoningBlock(
                parts=(SummaryText(text="hm", signature="sig"),),
                provenance=Provenance(
                    provider="anthropic", family="claude", route=route
                ),
            ),
            TextBlock(text="ok"),
        ),
    )


class TestReplayRules:
    def test_refuses_reasoning_signed_for_another_route_rr10(self) -> None:
        with pytest.raises(RequestRejectedError) as caught:
            encode_request(
                [_user("a"), _signed_elsewhere(None), _user("b")], target=CLAUDE_OR
            )
        assert caught.value.rule == "RR10"
        assert caught.value.path == "$.turns[1].blocks[0]"

    def test_refuses_bare_reasoning_without_encrypted_content_rr7(self) -> None:
        with pytest.raises(RequestRejectedError) as caught:
            encode_request(
                [_user("a"), _signed_elsewhere("open-responses"), _user("b")],
                target=CLAUDE_OR,
            )
        assert caught.value.rule == "RR7"

    def test_refuses_reasoning_not_followed_by_its_item_rr4(self) -> None:
        answer = Turn(
            role="assistant",
            blocks=(
                TextBlock(text="ok"),
                ReasoningBlock(
                    parts=(SummaryEncryptedText(data="blob"),),
                    provenance=Provenance(
                        provider="anthropic", family="claude", route="open-responses"
                    ),
                ),
            ),
        )
        with pytest.raises(RequestRejectedError) as caught:
            encode_request([_user("a"), answer, _user("b")], target=CLAUDE_OR)
        assert caught.value.rule == "RR4"

    def test_refuses_an_output_for_a_call_never_sent_r10(self) -> None:
        turns = [
            _user("a"),
            Turn(role="tool", blocks=(ToolResultBlock(call_id="call_x", content="?"),)),
        ]
        with pytest.raises(RequestRejectedError) as caught:
            encode_request(turns, target=CLAUDE_OR)
        assert caught.value.rule == "R10"

    @pytest.mark.parametrize(
        "params",
        [
            RequestParams(stop=("x",)),
            RequestParams(n=2),
            RequestParams(top_k=3),
            RequestParams(max_tokens=8),
        ],
    )
    def test_refuses_fields_the_format_lacks_r16(self, params: RequestParams) -> None:
        with pytest.raises(RequestRejectedError) as caught:
            encode_request([_user("a")], target=CLAUDE_OR, params=params)
        assert caught.value.rule == "R16"

    @pytest.mark.parametrize(
        ("budget", "effort"),
        [(1024, "low"), (2048, "low"), (4096, "medium"), (9000, "high")],
    )
    def test_a_claude_thinking_budget_goes_as_an_effort(
        self, budget: int, effort: str
    ) -> None:
        params = RequestParams(
            max_tokens=16000, reasoning=ThinkingBudget(budget_tokens=budget)
        )
        payload = encode_request([_user("a")], target=CLAUDE_OR, params=params)
        assert payload["reasoning"] == {"effort": effort, "summary": "auto"}

    def test_an_effort_to_claude_is_r15_as_on_every_route(self) -> None:
        with pytest.raises(RequestRejectedError) as caught:
            encode_request(
                [_user("a")],
                target=CLAUDE_OR,
                params=RequestParams(reasoning=Effort(level="high")),
            )
        assert caught.value.rule == "R15"

    def test_refuses_an_effort_the_target_does_not_list_r15(self) -> None:
        with pytest.raises(RequestRejectedError) as caught:
            encode_request(
                [_user("a")],
                target=GEMINI_OR,
                params=RequestParams(reasoning=Effort(level="none")),
            )
        assert caught.value.rule == "R15"

    def test_refuses_images_on_a_text_only_model_r18(self) -> None:
        from tests.wire.responses._helpers import GPT_OSS_OR

        turn = Turn(role="user", blocks=(ImageBlock.from_bytes(PNG),))
        with pytest.raises(RequestRejectedError) as caught:
            encode_request([turn], target=GPT_OSS_OR)
        assert caught.value.rule == "R18"

    def test_a_refused_request_changes_nothing(self) -> None:
        turns = _tool_loop()
        before = [canonical_bytes(encode_request(turns, target=CLAUDE_OR))]
        with pytest.raises(RequestRejectedError):
            encode_request(turns, target=CLAUDE_OR, params=RequestParams(n=2))
        assert [canonical_bytes(encode_request(turns, target=CLAUDE_OR))] == before

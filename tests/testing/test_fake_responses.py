"""The fake endpoint's Responses routes: valid replays pass, each replay rule is its 400."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from convo import (
    Conversation,
    Effort,
    RequestParams,
    Target,
    ThinkingBudget,
    Tool,
    ToolResultBlock,
)
from convo.targets import route_target
from convo.testing.fake import FakeEndpoint
from convo.wire import responses

WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
CLAUDE = route_target("open-responses", "databricks-claude-sonnet-4-5")
GPT5 = route_target("responses", "databricks-gpt-5-1")
GEMINI_GW = route_target("ai-gateway", "system.ai.gemini-3-pro")


def params(target: Target) -> RequestParams:
    """Reasoning on: Claude by a thinking budget (sent as an effort), others by effort."""
    if target.reasoning.style == "budget":
        return RequestParams(
            max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=4096)
        )
    return RequestParams(max_tokens=2000, reasoning=Effort(level="high"))


HEADERS = [("authorization", "Bearer t"), ("content-type", "application/json")]


def _post(endpoint: FakeEndpoint, target: Any, payload: dict[str, Any]) -> Any:
    path = responses.endpoint_suffix(target, databricks=True)
    return endpoint.handle("POST", path, HEADERS, json.dumps(payload).encode())


def _after_tool_call(endpoint: FakeEndpoint, target: Any) -> dict[str, Any]:
    """The valid request continuing a tool loop that began with reasoning."""
    conversation = Conversation.new().user("Please use get_weather for Oslo.")
    first = responses.encode_request(
        conversation.path(), target=target, params=params(target), tools=(WEATHER,)
    )
    answer = responses.decode_response(
        _post(endpoint, target, first).body, target=target
    )
    assert answer.tool_calls
    conversation = conversation.append(answer).tool_results(
        *[ToolResultBlock(call_id=c.id, content="3 C") for c in answer.tool_calls]
    )
    return responses.encode_request(
        conversation.path(), target=target, params=params(target), tools=(WEATHER,)
    )


def _index(payload: dict[str, Any], kind: str) -> int:
    return next(i for i, item in enumerate(payload["input"]) if item["type"] == kind)


@pytest.fixture
def endpoint() -> FakeEndpoint:
    return FakeEndpoint()


class TestValidReplays:
    @pytest.mark.parametrize("target", [CLAUDE, GPT5, GEMINI_GW], ids=lambda t: t.route)
    def test_a_tool_loop_replayed_unchanged_is_answered(
        self, endpoint: FakeEndpoint, target: Any
    ) -> None:
        response = _post(endpoint, target, _after_tool_call(endpoint, target))
        assert response.status == 200, response.body
        turn = responses.decode_response(response.body, target=target)
        assert "get_weather returned: 3 C" in turn.text

    def test_open_responses_streams_end_with_done_and_openai_responses_without(
        self, endpoint: FakeEndpoint
    ) -> None:
        for target, done in ((CLAUDE, True), (GPT5, False)):
            payload = responses.encode_request(
                Conversation.new().user("Hi").path(),
                target=target,
                params=RequestParams(stream=True),
            )
            body = _post(endpoint, target, payload).body
            assert body.endswith(b"data: [DONE]\n\n") is done


def _rule(response: Any) -> str | None:
    return dict(response.headers).get("x-fake-rule")


class TestReplayRules:
    def test_a_function_call_without_its_reasoning_item_is_rr3(
        self, endpoint: FakeEndpoint
    ) -> None:
        payload = _after_tool_call(endpoint, CLAUDE)
        del payload["input"][_index(payload, "reasoning")]
        response = _post(endpoint, CLAUDE, payload)
        assert (response.status, _rule(response)) == (400, "RR3")
        assert b"without its required 'reasoning' item" in response.body

    def test_a_regenerated_rs_id_is_an_item_id_mismatch_rr9(
        self, endpoint: FakeEndpoint
    ) -> None:
        payload = _after_tool_call(endpoint, CLAUDE)
        payload["input"][_index(payload, "reasoning")]["id"] = "rs_regenerated"
        response = _post(endpoint, CLAUDE, payload)
        assert (response.status, _rule(response)) == (400, "RR9")

    def test_reasoning_without_encrypted_content_is_not_found_rr7(
        self, endpoint: FakeEndpoint
    ) -> None:
        payload = _after_tool_call(endpoint, CLAUDE)
        del payload["input"][_index(payload, "reasoning")]["encrypted_content"]
        response = _post(endpoint, CLAUDE, payload)
        assert (response.status, _rule(response)) == (404, "RR7")
        assert b"Items are not persisted when `store` is set to false" in response.body

    def test_a_blob_from_another_route_does_not_verify_rr10(
        self, endpoint: FakeEndpoint
    ) -> None:
        gateway = route_target("ai-gateway", "system.ai.claude-sonnet-4-5")
        payload = _after_tool_call(endpoint, CLAUDE)
        payload["model"] = gateway.name
        response = _post(endpoint, gateway, payload)
        assert (response.status, _rule(response)) == (400, "RR10")
        assert b"could not be verified" in response.body

    def test_an_edited_summary_does_not_verify_rr10(
        self, endpoint: FakeEndpoint
    ) -> None:
        payload = _after_tool_call(endpoint, CLAUDE)
        payload["input"][_index(payload, "reasoning")]["summary"][0]["text"] += "!"
        assert _rule(_post(endpoint, CLAUDE, payload)) == "RR10"

    def test_reasoning_not_followed_by_its_item_is_rr4(
        self, endpoint: FakeEndpoint
    ) -> None:
        payload = _after_tool_call(endpoint, CLAUDE)
        at = _index(payload, "reasoning")
        payload["input"] = payload["input"][: at + 1]
        assert _rule(_post(endpoint, CLAUDE, payload)) == "RR4"

    def test_an_output_without_its_call_is_r10(self, endpoint: FakeEndpoint) -> None:
        payload = _after_tool_call(endpoint, CLAUDE)
        payload["input"] = [
            i
            for i in payload["input"]
            if i["type"] not in ("reasoning", "function_call")
        ]
        response = _post(endpoint, CLAUDE, payload)
        assert _rule(response) == "R10"
        assert b"No tool call found" in response.body

    def test_a_cache_control_key_on_an_item_is_rr14(
        self, endpoint: FakeEndpoint
    ) -> None:
        payload = _after_tool_call(endpoint, CLAUDE)
        payload["input"][0]["cache_control"] = {"type": "ephemeral"}
        response = _post(endpoint, CLAUDE, payload)
        assert _rule(response) == "RR14"
        assert b"Unknown parameter: 'input[0].cache_control'" in response.body

    def test_previous_response_id_is_rr1(self, endpoint: FakeEndpoint) -> None:
        payload = copy.deepcopy(_after_tool_call(endpoint, CLAUDE))
        payload["previous_response_id"] = "resp_1"
        assert _rule(_post(endpoint, CLAUDE, payload)) == "RR1"

    def test_a_hosted_tool_for_claude_is_rr12(self, endpoint: FakeEndpoint) -> None:
        payload = _after_tool_call(endpoint, CLAUDE)
        payload["tools"].append({"type": "web_search"})
        assert _rule(_post(endpoint, CLAUDE, payload)) == "RR12"

    def test_a_gpt_message_replayed_without_its_phase_is_rr16(
        self, endpoint: FakeEndpoint
    ) -> None:
        payload = _after_tool_call(endpoint, GPT5)
        answer = next(i for i in payload["input"] if i.get("role") == "assistant")
        del answer["phase"]
        assert _rule(_post(endpoint, GPT5, payload)) == "RR16"

    def test_a_gemini_call_without_its_signature_is_rr2(
        self, endpoint: FakeEndpoint
    ) -> None:
        payload = _after_tool_call(endpoint, GEMINI_GW)
        del payload["input"][_index(payload, "function_call")]["encrypted_content"]
        assert _rule(_post(endpoint, GEMINI_GW, payload)) == "RR2"


class TestRouting:
    def test_claude_on_the_openai_responses_route_is_a_400(
        self, endpoint: FakeEndpoint
    ) -> None:
        payload = {"model": "databricks-claude-sonnet-4-5", "input": "hi"}
        response = endpoint.handle(
            "POST",
            "/serving-endpoints/responses",
            HEADERS,
            json.dumps(payload).encode(),
        )
        assert (response.status, _rule(response)) == (400, "route")

    def test_the_gateway_takes_only_service_names(self, endpoint: FakeEndpoint) -> None:
        payload = {"model": "databricks-claude-sonnet-4-5", "input": "hi"}
        response = endpoint.handle(
            "POST",
            "/ai-gateway/mlflow/v1/responses",
            HEADERS,
            json.dumps(payload).encode(),
        )
        assert response.status == 404

"""The native Anthropic Messages surface of the fake endpoint."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx

from convo.testing.fake import FakeEndpoint, Fault

PATH = "/serving-endpoints/anthropic/v1/messages"
CLAUDE = "databricks-claude-sonnet-4-5"
TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather for one city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
BASE: dict[str, Any] = {
    "model": CLAUDE,
    "max_tokens": 4000,
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "tools": [TOOL],
    "system": "Answer briefly.",
}


def _ask(post: Any, messages: list[Any], **extra: Any) -> httpx.Response:
    response: httpx.Response = post({**BASE, "messages": messages, **extra}, path=PATH)
    return response


def _events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for event in response.text.split("\n\n"):
        if not event:
            continue
        kind, data = event.split("\n")
        assert kind.startswith("event: ")
        assert data.startswith("data: ")
        payload = json.loads(data[len("data: ") :])
        assert payload["type"] == kind[len("event: ") :]
        out.append((payload["type"], payload))
    return out


class TestMessagesSurface:
    def test_answers_with_thinking_text_and_tool_use_blocks(
        self, endpoint: FakeEndpoint, post: Any
    ) -> None:
        answer = _ask(post, [{"role": "user", "content": "Weather in Oslo?"}]).json()
        assert answer["type"] == "message"
        assert [b["type"] for b in answer["content"]] == [
            "thinking",
            "text",
            "tool_use",
        ]
        thinking = answer["content"][0]
        assert thinking["signature"] == endpoint.signature(
            "claude", thinking["thinking"]
        )
        assert answer["content"][2]["input"] == {"city": "Oslo"}
        assert answer["stop_reason"] == "tool_use"
        assert set(answer["usage"]) >= {
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        }

    def test_a_tool_loop_replaying_the_signed_thinking_is_accepted(
        self, post: Any
    ) -> None:
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": "Weather in Oslo?"}
        ]
        answer = _ask(post, messages).json()
        call = answer["content"][2]
        messages += [
            {"role": "assistant", "content": answer["content"]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call["id"], "content": "3 C"}
                ],
            },
        ]
        final = _ask(post, messages)
        assert final.status_code == 200, final.text
        assert final.json()["stop_reason"] == "end_turn"
        assert final.json()["content"][-1]["text"].endswith("get_weather returned: 3 C")

    def test_an_altered_thinking_block_gets_the_native_error_nested(
        self, post: Any
    ) -> None:
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": "Weather in Oslo?"}
        ]
        answer = _ask(post, messages).json()
        content = copy.deepcopy(answer["content"])
        content[0]["thinking"] += "!"
        messages += [
            {"role": "assistant", "content": content},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": content[2]["id"],
                        "content": "3 C",
                    }
                ],
            },
        ]
        response = _ask(post, messages)
        assert response.status_code == 400
        assert response.headers["x-fake-rule"] == "R1"
        inner = json.loads(response.json()["message"])
        assert inner["type"] == "error"
        assert inner["error"]["type"] == "invalid_request_error"
        assert "Invalid `signature` in `thinking` block" in inner["error"]["message"]

    def test_a_tool_loop_without_its_thinking_breaks_r2(self, post: Any) -> None:
        messages = [
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Oslo"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3 C"}
                ],
            },
        ]
        assert _ask(post, messages).headers["x-fake-rule"] == "R2"

    def test_tool_results_must_come_first_in_their_user_message(
        self, post: Any
    ) -> None:
        messages = [
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "here:"},
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3 C"},
                ],
            },
        ]
        assert (
            _ask(post, messages, thinking={"type": "disabled"}).headers["x-fake-rule"]
            == "R10"
        )

    def test_unknown_fields_and_effort_labels_are_refused(self, post: Any) -> None:
        messages = [{"role": "user", "content": "hi"}]
        assert (
            _ask(post, messages, parallel_tool_calls=True).headers["x-fake-rule"]
            == "R16"
        )
        assert (
            _ask(post, messages, reasoning_effort="high").headers["x-fake-rule"]
            == "R15"
        )

    def test_non_claude_models_are_not_served_here(self, post: Any) -> None:
        response = _ask(
            post, [{"role": "user", "content": "hi"}], model="databricks-gpt-oss-120b"
        )
        assert response.status_code == 404

    def test_streams_native_events_with_the_signature_before_the_block_stops(
        self, post: Any
    ) -> None:
        whole = _ask(post, [{"role": "user", "content": "Weather in Oslo?"}]).json()
        events = _events(
            _ask(post, [{"role": "user", "content": "Weather in Oslo?"}], stream=True)
        )
        kinds = [k for k, _ in events]
        assert kinds[0] == "message_start"
        assert kinds[-2:] == ["message_delta", "message_stop"]
        deltas = [
            p["delta"]
            for k, p in events
            if k == "content_block_delta" and p["index"] == 0
        ]
        assert deltas[-1] == {
            "type": "signature_delta",
            "signature": whole["content"][0]["signature"],
        }
        thinking = "".join(d.get("thinking", "") for d in deltas)
        assert thinking == whole["content"][0]["thinking"]
        arguments = "".join(
            p["delta"].get("partial_json", "")
            for k, p in events
            if k == "content_block_delta" and p["index"] == 2
        )
        assert json.loads(arguments) == whole["content"][2]["input"]
        assert (
            events[-2][1]["usage"]["output_tokens"] == whole["usage"]["output_tokens"]
        )

    def test_an_injected_error_event_uses_the_native_shape(
        self, endpoint: FakeEndpoint, post: Any
    ) -> None:
        endpoint.inject(Fault.error_event(after_parts=2))
        events = _events(_ask(post, [{"role": "user", "content": "hi"}], stream=True))
        assert len(events) == 3
        assert events[-1] == (
            "error",
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"},
            },
        )

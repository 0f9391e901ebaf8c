"""Streamed answers have the Databricks shape and add up to the non-streamed answer."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from convo.testing.fake import FakeEndpoint

CLAUDE = "databricks-claude-sonnet-4-5"
THINKING: dict[str, Any] = {
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "max_tokens": 4000,
}
TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
FIXTURES = Path(__file__).parent / "fixtures"


def _events(response: httpx.Response) -> list[Any]:
    assert response.headers["content-type"].startswith("text/event-stream")
    raw = response.text
    assert raw.endswith("\n\n")
    out: list[Any] = []
    for event in raw.split("\n\n")[:-1]:
        assert event.startswith("data: ")
        data = event[len("data: ") :]
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


def _golden(name: str, value: Any) -> None:
    path = FIXTURES / name
    if os.environ.get("CONVO_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
    assert json.loads(path.read_text()) == value


@pytest.fixture
def twin(clock: Any) -> Any:
    """POSTs the same request to two fresh endpoints: one whole, one streamed."""

    def run(request: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        answers = []
        for stream in (False, True):
            endpoint = FakeEndpoint(secret=b"s", clock=clock)
            with httpx.Client(
                transport=endpoint.transport(),
                base_url="https://f",
                headers={"Authorization": "Bearer t"},
            ) as http:
                answers.append(
                    http.post(
                        "/serving-endpoints/chat/completions",
                        json={**request, "stream": stream},
                    )
                )
        return answers[0].json(), _events(answers[1])

    return run


class TestStreamShape:
    def test_reasoning_fragments_then_signature_then_text_then_finish(
        self, twin: Any
    ) -> None:
        whole, events = twin(
            {
                "model": CLAUDE,
                "messages": [{"role": "user", "content": "Why is the sky blue?"}],
                **THINKING,
            }
        )
        assert events[-1] == "[DONE]"
        chunks = events[:-1]
        assert all(
            c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"]
            for c in chunks
        )
        kinds = []
        for chunk in chunks[:-1]:
            content = chunk["choices"][0]["delta"]["content"]
            if isinstance(content, list):
                part = content[0]["summary"][0]
                kinds.append("sig" if part["text"] == "" else "reasoning")
                assert (part["signature"] == "") is (part["text"] != "")
            else:
                kinds.append("text")
        assert kinds == sorted(kinds, key=["reasoning", "sig", "text"].index)
        assert kinds.count("sig") == 1
        assert kinds.count("reasoning") > 1
        assert kinds.count("text") > 1
        last = chunks[-1]["choices"][0]
        assert last["finish_reason"] == "stop"
        assert last["delta"] == {"role": "assistant", "content": ""}
        _golden("claude_reasoning_stream.json", events)
        _golden("claude_reasoning_response.json", whole)

    def test_concatenated_stream_equals_the_whole_answer(self, twin: Any) -> None:
        whole, events = twin(
            {
                "model": CLAUDE,
                "messages": [{"role": "user", "content": "Why is the sky blue?"}],
                **THINKING,
            }
        )
        reasoning, signature, text = "", "", ""
        for chunk in events[:-1]:
            content = chunk["choices"][0]["delta"].get("content")
            if isinstance(content, list):
                part = content[0]["summary"][0]
                reasoning += part["text"]
                signature = part["signature"] or signature
            elif content:
                text += content
        message = whole["choices"][0]["message"]
        assert message["content"][0]["summary"][0] == {
            "type": "summary_text",
            "text": reasoning,
            "signature": signature,
        }
        assert message["content"][1] == {"type": "text", "text": text}

    def test_usage_is_a_cumulative_snapshot_on_every_chunk(self, twin: Any) -> None:
        whole, events = twin(
            {
                "model": CLAUDE,
                "messages": [{"role": "user", "content": "Why is the sky blue?"}],
                **THINKING,
            }
        )
        chunks = events[:-1]
        completions = [c["usage"]["completion_tokens"] for c in chunks]
        assert completions == sorted(completions)
        assert all(
            c["usage"]["prompt_tokens"] == whole["usage"]["prompt_tokens"]
            for c in chunks
        )
        assert chunks[-1]["usage"] == whole["usage"]
        assert all(
            c["usage"]["total_tokens"] >= c["usage"]["completion_tokens"]
            for c in chunks
        )

    def test_tool_calls_stream_by_index_with_id_and_name_first(self, twin: Any) -> None:
        request = {
            "model": CLAUDE,
            "messages": [{"role": "user", "content": "Weather in Oslo?"}],
            "tools": [TOOL],
            **THINKING,
        }
        whole, events = twin(request)
        fragments = [
            f
            for c in events[:-1]
            for f in c["choices"][0]["delta"].get("tool_calls") or []
        ]
        head, *rest = fragments
        assert head["function"]["arguments"] == ""
        assert {"index", "id", "type"} <= set(head)
        assert head["function"]["name"] == "get_weather"
        assert rest
        assert all(
            set(f) == {"index", "function"} and set(f["function"]) == {"arguments"}
            for f in rest
        )
        call = whole["choices"][0]["message"]["tool_calls"][0]
        assert head["id"] == call["id"]
        assert (
            "".join(f["function"]["arguments"] for f in fragments)
            == call["function"]["arguments"]
        )
        last = events[-2]["choices"][0]
        assert last["finish_reason"] == "tool_calls"
        assert last["delta"] == {}

    def test_gpt_oss_streams_unsigned_reasoning(self, twin: Any) -> None:
        _, events = twin(
            {
                "model": "databricks-gpt-oss-20b",
                "messages": [{"role": "user", "content": "hi"}],
            }
        )
        parts = [
            c["choices"][0]["delta"]["content"][0]["summary"][0]
            for c in events[:-1]
            if isinstance(c["choices"][0]["delta"].get("content"), list)
        ]
        assert parts
        assert all("signature" not in p for p in parts)

    def test_without_thinking_claude_answers_with_string_content(
        self, twin: Any
    ) -> None:
        whole, events = twin(
            {"model": CLAUDE, "messages": [{"role": "user", "content": "hello there"}]}
        )
        assert whole["choices"][0]["message"]["content"] == "You said: hello there"
        assert all(
            not isinstance(c["choices"][0]["delta"].get("content"), list)
            for c in events[:-1]
        )


class TestAsyncTransport:
    async def _stream(self, endpoint: FakeEndpoint) -> list[str]:
        async with httpx.AsyncClient(
            transport=endpoint.async_transport(),
            base_url="https://f",
            headers={"Authorization": "Bearer t"},
        ) as http:
            body = {
                "model": CLAUDE,
                "messages": [{"role": "user", "content": "hi"}],
                "stream": True,
                **THINKING,
            }
            async with http.stream(
                "POST", "/serving-endpoints/chat/completions", json=body
            ) as response:
                return [line async for line in response.aiter_lines() if line]

    def test_streams_the_same_events(self, clock: Any) -> None:
        import asyncio

        lines = asyncio.run(self._stream(FakeEndpoint(secret=b"s", clock=clock)))
        assert lines[-1] == "data: [DONE]"
        assert len(lines) > 5

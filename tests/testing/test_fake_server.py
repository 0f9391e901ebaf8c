"""The loopback server: the real `openai` SDK talks to it; faults reach real sockets; the CLI serves it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from convo._cli import build_parser
from convo._cli._fake import run_fake_server
from convo.testing.fake import FakeEndpoint, Fault, serve

CLAUDE = "databricks-claude-sonnet-4-5"
THINKING: dict[str, Any] = {"thinking": {"type": "enabled", "budget_tokens": 2048}}
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for one city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


@pytest.fixture
def fake() -> FakeEndpoint:
    return FakeEndpoint(secret=b"server-secret")


@pytest.fixture
def url(fake: FakeEndpoint) -> Iterator[str]:
    with serve(fake, port=0) as base:
        yield base


@pytest.fixture
def sdk(url: str) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(
        base_url=url + "/serving-endpoints", api_key="x", max_retries=0, timeout=10
    )
    yield client
    client.close()


def _replay_stream(stream: Any) -> tuple[dict[str, Any], str | None]:
    """Assemble a streamed answer into the assistant message to send back."""
    parts: list[dict[str, Any]] = []
    text = ""
    calls: dict[int, dict[str, Any]] = {}
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        content = choice.delta.content
        if isinstance(content, list):
            for block in content:
                parts.extend(block["summary"])
        elif content:
            text += content
        for fragment in choice.delta.tool_calls or []:
            slot = calls.setdefault(
                fragment.index,
                {
                    "id": "",
                    "type": "function",
                    "function": {"name": "", "arguments": ""},
                },
            )
            slot["id"] = fragment.id or slot["id"]
            if fragment.function is not None:
                slot["function"]["name"] += fragment.function.name or ""
                slot["function"]["arguments"] += fragment.function.arguments or ""
    content_out: list[dict[str, Any]] = []
    if parts:
        content_out.append({"type": "reasoning", "summary": parts})
    if text:
        content_out.append({"type": "text", "text": text})
    message: dict[str, Any] = {"role": "assistant", "content": content_out}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return message, finish


class TestOpenAISDK:
    def test_completes_a_conversation_with_reasoning_and_tool_calls(
        self, sdk: openai.OpenAI, fake: FakeEndpoint
    ) -> None:
        messages: list[Any] = [
            {"role": "user", "content": "What is the weather in Oslo?"}
        ]
        raw = sdk.chat.completions.with_raw_response.create(
            model=CLAUDE,
            messages=messages,
            tools=TOOLS,
            max_tokens=4000,
            extra_body=THINKING,
        )
        first = raw.parse()
        assert first.choices[0].finish_reason == "tool_calls"
        message = raw.http_response.json()["choices"][0]["message"]
        assert message["content"][0]["type"] == "reasoning"
        messages.append(message)
        for call in first.choices[0].message.tool_calls or []:
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": "Oslo: 3 C, light snow",
                }
            )
        second = sdk.chat.completions.create(
            model=CLAUDE,
            messages=messages,
            tools=TOOLS,
            max_tokens=4000,
            extra_body=THINKING,
        )
        assert second.choices[0].finish_reason == "stop"
        content: Any = second.choices[0].message.content
        assert (
            content[1]["text"]
            == "Here is what the tools returned: get_weather returned: Oslo: 3 C, light snow"
        )
        assert [r.json()["model"] for r in fake.requests] == [CLAUDE, CLAUDE]

    def test_streams_a_conversation_with_reasoning_and_tool_calls(
        self, sdk: openai.OpenAI
    ) -> None:
        messages: list[Any] = [
            {"role": "user", "content": "What is the weather in Lima?"}
        ]
        stream = sdk.chat.completions.create(
            model=CLAUDE,
            messages=messages,
            tools=TOOLS,
            max_tokens=4000,
            stream=True,
            extra_body=THINKING,
        )
        message, finish = _replay_stream(stream)
        assert finish == "tool_calls"
        assert message["content"][0]["summary"][-1]["signature"]
        assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {
            "city": "Lima"
        }
        messages.append(message)
        messages.append(
            {
                "role": "tool",
                "tool_call_id": message["tool_calls"][0]["id"],
                "content": "19 C",
            }
        )
        stream = sdk.chat.completions.create(
            model=CLAUDE,
            messages=messages,
            tools=TOOLS,
            max_tokens=4000,
            stream=True,
            extra_body=THINKING,
        )
        final, finish = _replay_stream(stream)
        assert finish == "stop"
        assert final["content"][-1]["text"].endswith("19 C")

    def test_a_broken_rule_surfaces_as_a_400_with_the_rule_header(
        self, sdk: openai.OpenAI
    ) -> None:
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.chat.completions.create(
                model=CLAUDE,
                messages=[{"role": "user", "content": "hi"}],
                parallel_tool_calls=False,
                tools=TOOLS,
            )
        assert caught.value.status_code == 400
        assert caught.value.response.headers["x-fake-rule"] == "R16"


class TestLoopbackFaults:
    def _stream_body(self) -> dict[str, Any]:
        return {
            "model": CLAUDE,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "max_tokens": 4000,
            **THINKING,
        }

    def test_a_dropped_connection_cuts_the_stream(
        self, url: str, fake: FakeEndpoint
    ) -> None:
        fake.inject(Fault.drop(after_parts=2))
        received: list[str] = []
        with httpx.Client(
            base_url=url, headers={"Authorization": "Bearer t"}, timeout=5
        ) as http:

            def read() -> None:
                path = "/serving-endpoints/chat/completions"
                with http.stream("POST", path, json=self._stream_body()) as response:
                    received.extend(line for line in response.iter_lines() if line)

            with pytest.raises(httpx.RemoteProtocolError):
                read()
            assert (
                http.post(
                    "/serving-endpoints/chat/completions", json=self._stream_body()
                ).status_code
                == 200
            )
        assert len(received) == 2

    def test_a_trickle_spreads_the_events_over_time(
        self, url: str, fake: FakeEndpoint
    ) -> None:
        fake.inject(Fault.trickle(0.02))
        stamps: list[float] = []
        with (
            httpx.Client(
                base_url=url, headers={"Authorization": "Bearer t"}, timeout=5
            ) as http,
            http.stream(
                "POST", "/serving-endpoints/chat/completions", json=self._stream_body()
            ) as response,
        ):
            for line in response.iter_lines():
                if line:
                    stamps.append(time.monotonic())
        assert stamps[-1] - stamps[0] >= 0.02 * (len(stamps) - 1) * 0.9

    def test_429_reaches_the_client_with_its_headers(
        self, url: str, fake: FakeEndpoint
    ) -> None:
        fake.inject(Fault.rate_limited(retry_after=3))
        with httpx.Client(
            base_url=url, headers={"Authorization": "Bearer t"}, timeout=5
        ) as http:
            response = http.post(
                "/serving-endpoints/chat/completions", json=self._stream_body()
            )
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"


class TestCLI:
    def test_registers_fake_server_with_port_and_host(self) -> None:
        args = build_parser().parse_args(
            ["fake-server", "--port", "0", "--host", "127.0.0.1"]
        )
        assert (args.command, args.port, args.host) == ("fake-server", 0, "127.0.0.1")
        assert callable(args.func)

    def test_serves_until_stopped(self) -> None:
        stop = threading.Event()
        lines: list[str] = []
        ready = threading.Event()

        def announce(line: str) -> None:
            lines.append(line)
            ready.set()

        worker = threading.Thread(
            target=run_fake_server,
            kwargs={"port": 0, "stop": stop, "announce": announce},
        )
        worker.start()
        try:
            assert ready.wait(5)
            base = lines[0].rsplit(" ", 1)[-1]
            response = httpx.post(
                base + "/serving-endpoints/chat/completions",
                json={"model": CLAUDE, "messages": [{"role": "user", "content": "hi"}]},
                headers={"Authorization": "Bearer t"},
                timeout=5,
            )
            assert response.json()["choices"][0]["message"]["content"] == "You said: hi"
        finally:
            stop.set()
            worker.join(5)
        assert not worker.is_alive()

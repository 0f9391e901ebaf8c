"""The fake endpoint answers every provider rule it can check with the Databricks 400."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from convo.testing.fake import FakeEndpoint

CLAUDE = "databricks-claude-sonnet-4-5"
GPT_OSS = "databricks-gpt-oss-120b"
GPT = "databricks-gpt-5-1"
GEMINI = "databricks-gemini-3-pro"
LLAMA = "databricks-meta-llama-3-1-405b-instruct"

TOOL: dict[str, Any] = {
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


def call(call_id: str, city: str = "Oslo") -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
    }


def result(call_id: str, text: str = "3 C") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def body(
    model: str = CLAUDE, messages: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 4000,
        "messages": messages or [{"role": "user", "content": "Hello"}],
        **extra,
    }


def reasoning(
    endpoint: FakeEndpoint, text: str = "Two cities, two calls.", family: str = "claude"
) -> dict[str, Any]:
    signature = endpoint.signature(family, text)
    return {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text, "signature": signature}],
    }


def between(assistant: dict[str, Any]) -> list[dict[str, Any]]:
    """A user turn, `assistant`, then another user turn."""
    return [
        {"role": "user", "content": "hi"},
        assistant,
        {"role": "user", "content": "go"},
    ]


def asked(*rest: dict[str, Any]) -> list[dict[str, Any]]:
    """A user asking about Oslo's weather, then `rest`."""
    return [{"role": "user", "content": "Oslo?"}, *rest]


def tool_loop(
    endpoint: FakeEndpoint, *, with_reasoning: bool = True
) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = (
        [reasoning(endpoint)]
        if with_reasoning
        else [{"type": "text", "text": "Checking."}]
    )
    return [
        {"role": "user", "content": "Weather in Oslo and Lima?"},
        {
            "role": "assistant",
            "content": content,
            "tool_calls": [call("toolu_A"), call("toolu_B", "Lima")],
        },
        result("toolu_A"),
        result("toolu_B", "19 C"),
    ]


STRICT_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {**TOOL["function"], "strict": True},
}
THINKING: dict[str, Any] = {"thinking": {"type": "enabled", "budget_tokens": 2048}}
PNG_9000 = (
    b"\x89PNG\r\n\x1a\n"
    + b"\x00\x00\x00\rIHDR"
    + (9000).to_bytes(4, "big")
    + (10).to_bytes(4, "big")
    + b"\x08\x02\x00\x00\x00"
)


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def _png_url(raw: bytes, media: str = "image/png") -> str:
    return f"data:{media};base64,{base64.b64encode(raw).decode()}"


def _user_parts(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(parts)}]


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, **extra}


EPH: dict[str, Any] = {"type": "ephemeral"}

Build = Callable[[FakeEndpoint], dict[str, Any]]

# (id, rule, upstream message nested as JSON, build the offending request)
CASES: list[tuple[str, str, bool, Build]] = [
    (
        "parallel_tool_calls on Claude",
        "R16",
        True,
        lambda e: body(parallel_tool_calls=True, tools=[TOOL]),
    ),
    (
        "stream_options on Claude",
        "R16",
        True,
        lambda e: body(stream=True, stream_options={"include_usage": True}),
    ),
    (
        "stream_options on Gemini",
        "R16",
        False,
        lambda e: body(GEMINI, stream=True, stream_options={"include_usage": True}),
    ),
    (
        "message-level name",
        "R16",
        True,
        lambda e: body(messages=[{"role": "user", "content": "hi", "name": "bob"}]),
    ),
    (
        "strict on a Claude tool",
        "R16",
        True,
        lambda e: body(tools=[STRICT_TOOL]),
    ),
    (
        "strict on a GPT OSS tool",
        "R16",
        False,
        lambda e: body(
            GPT_OSS,
            tools=[STRICT_TOOL],
        ),
    ),
    ("thinking on Llama", "R16", False, lambda e: body(LLAMA, **THINKING)),
    (
        "reasoning_content on a message",
        "R3",
        True,
        lambda e: body(
            messages=between(
                {"role": "assistant", "content": "ok", "reasoning_content": "x"}
            )
        ),
    ),
    (
        "thinking_blocks on a message",
        "R3",
        True,
        lambda e: body(
            messages=between(
                {"role": "assistant", "content": "ok", "thinking_blocks": []}
            )
        ),
    ),
    (
        "reasoning block in a user message",
        "R3",
        True,
        lambda e: body(messages=_user_parts(reasoning(e), _text("hi"))),
    ),
    (
        "reasoning_effort on Claude",
        "R15",
        True,
        lambda e: body(reasoning_effort="high"),
    ),
    (
        "minimal effort on GPT OSS",
        "R15",
        False,
        lambda e: body(GPT_OSS, reasoning_effort="minimal"),
    ),
    (
        "none effort on Gemini 3 Pro",
        "R15",
        False,
        lambda e: body(GEMINI, reasoning_effort="none"),
    ),
    (
        "budget below 1024",
        "R14",
        True,
        lambda e: body(thinking={"type": "enabled", "budget_tokens": 512}),
    ),
    (
        "budget not below max_tokens",
        "R14",
        True,
        lambda e: body(max_tokens=2048, **THINKING),
    ),
    (
        "temperature with thinking",
        "R14",
        True,
        lambda e: body(temperature=0.5, **THINKING),
    ),
    ("top_k with thinking", "R14", True, lambda e: body(top_k=5, **THINKING)),
    (
        "top_p below 0.95 with thinking",
        "R14",
        True,
        lambda e: body(top_p=0.5, **THINKING),
    ),
    (
        "forced tool_choice with thinking",
        "R14",
        True,
        lambda e: body(tools=[TOOL], tool_choice="required", **THINKING),
    ),
    (
        "adaptive thinking on a budget model",
        "R14",
        True,
        lambda e: body(thinking={"type": "adaptive"}),
    ),
    (
        "empty text block to Claude",
        "R12",
        True,
        lambda e: body(messages=_user_parts(_text(""))),
    ),
    (
        "whitespace string content to Claude",
        "R12",
        True,
        lambda e: body(messages=[{"role": "user", "content": "  \n"}]),
    ),
    (
        "empty content beside tool calls",
        "R12",
        True,
        lambda e: body(
            messages=asked(
                {"role": "assistant", "content": "", "tool_calls": [call("toolu_A")]},
                result("toolu_A"),
            ),
            tools=[TOOL],
        ),
    ),
    (
        "reasoning-only assistant message",
        "R13",
        True,
        lambda e: body(
            messages=between({"role": "assistant", "content": [reasoning(e)]})
        ),
    ),
    (
        "a call left unanswered before the next user message",
        "R10",
        True,
        lambda e: body(
            messages=asked(
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [call("toolu_A")],
                },
                {"role": "user", "content": "never mind"},
            ),
            tools=[TOOL],
        ),
    ),
    (
        "one of two parallel calls unanswered",
        "R10",
        True,
        lambda e: body(
            messages=[
                *tool_loop(e, with_reasoning=False)[:3],
                {"role": "user", "content": "and?"},
            ],
            tools=[TOOL],
        ),
    ),
    (
        "an orphan tool result",
        "R10",
        True,
        lambda e: body(
            messages=asked(
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [call("toolu_A")],
                },
                result("toolu_Z"),
            ),
            tools=[TOOL],
        ),
    ),
    (
        "a call answered twice",
        "R10",
        True,
        lambda e: body(
            messages=[*tool_loop(e, with_reasoning=False), result("toolu_B")],
            tools=[TOOL],
        ),
    ),
    (
        "a tool result after an intervening message (Claude)",
        "R10",
        True,
        lambda e: body(
            messages=asked(
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [call("toolu_A")],
                },
                {"role": "assistant", "content": "wait"},
                result("toolu_A"),
            ),
            tools=[TOOL],
        ),
    ),
    (
        "unsplit parallel results on GPT OSS",
        "R11",
        False,
        lambda e: body(
            GPT_OSS, messages=tool_loop(e, with_reasoning=False), tools=[TOOL]
        ),
    ),
    (
        "a tool message first on Llama",
        "R11",
        False,
        lambda e: body(
            LLAMA, messages=[result("call_A"), {"role": "user", "content": "hi"}]
        ),
    ),
    (
        "five cache_control markers",
        "R6",
        True,
        lambda e: body(
            messages=_user_parts(
                *(_text(f"part {i}", cache_control=EPH) for i in range(5))
            )
        ),
    ),
    (
        "cache_control on a reasoning block",
        "R7",
        True,
        lambda e: body(
            messages=between(
                {
                    "role": "assistant",
                    "content": [{**reasoning(e), "cache_control": EPH}, _text("ok")],
                }
            )
        ),
    ),
    (
        "cache_control on an empty text block",
        "R7",
        True,
        lambda e: body(messages=_user_parts(_text("", cache_control=EPH), _text("hi"))),
    ),
    (
        "cache_control on a message with string content",
        "R7",
        True,
        lambda e: body(
            messages=[{"role": "user", "content": "hi", "cache_control": EPH}]
        ),
    ),
    (
        "a 1h marker after a 5m marker",
        "R8",
        True,
        lambda e: body(
            messages=_user_parts(
                _text("a", cache_control=EPH),
                _text("b", cache_control={"type": "ephemeral", "ttl": "1h"}),
            )
        ),
    ),
    (
        "an unknown ttl",
        "R8",
        True,
        lambda e: body(
            messages=_user_parts(
                _text("a", cache_control={"type": "ephemeral", "ttl": "10m"})
            )
        ),
    ),
    (
        "an http image URL",
        "R18",
        True,
        lambda e: body(messages=_user_parts(image("https://example.com/cat.png"))),
    ),
    (
        "a bmp image",
        "R18",
        True,
        lambda e: body(messages=_user_parts(image(_png_url(b"BM..", "image/bmp")))),
    ),
    (
        "an image over 5 MB",
        "R18",
        True,
        lambda e: body(
            messages=_user_parts(
                image("data:image/png;base64," + "A" * (5 * 1024 * 1024 + 4))
            )
        ),
    ),
    (
        "an image wider than 8000 px",
        "R18",
        True,
        lambda e: body(messages=_user_parts(image(_png_url(PNG_9000)))),
    ),
    (
        "a tool loop continued without its reasoning",
        "R2",
        True,
        lambda e: body(
            messages=tool_loop(e, with_reasoning=False), tools=[TOOL], **THINKING
        ),
    ),
    (
        "an altered reasoning text",
        "R1",
        True,
        lambda e: body(
            messages=between(
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "reasoning",
                            "summary": [
                                {**reasoning(e)["summary"][0], "text": "changed"}
                            ],
                        },
                        _text("ok"),
                    ],
                }
            )
        ),
    ),
    (
        "reasoning signed by another family",
        "R4",
        True,
        lambda e: body(
            messages=between(
                {
                    "role": "assistant",
                    "content": [reasoning(e, family="gpt-oss"), _text("ok")],
                }
            )
        ),
    ),
    (
        "unsigned reasoning to Claude",
        "R4",
        True,
        lambda e: body(
            messages=between(
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "reasoning",
                            "summary": [{"type": "summary_text", "text": "hmm"}],
                        },
                        _text("ok"),
                    ],
                }
            )
        ),
    ),
    (
        "encrypted reasoning the endpoint never made",
        "R1",
        True,
        lambda e: body(
            messages=between(
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "reasoning",
                            "summary": [
                                {"type": "summary_encrypted_text", "data": "Zm9v"}
                            ],
                        },
                        _text("ok"),
                    ],
                }
            )
        ),
    ),
    (
        "an unknown content part type",
        "schema",
        False,
        lambda e: body(messages=_user_parts({"type": "audio", "data": "x"})),
    ),
    ("no messages", "schema", False, lambda e: {"model": CLAUDE, "messages": []}),
    (
        "tool call arguments that are not JSON",
        "schema",
        False,
        lambda e: body(
            messages=asked(
                {
                    "role": "assistant",
                    "content": "x",
                    "tool_calls": [
                        {
                            **call("toolu_A"),
                            "function": {"name": "get_weather", "arguments": "{oops"},
                        }
                    ],
                },
                result("toolu_A"),
            ),
            tools=[TOOL],
        ),
    ),
]


class TestProviderRules:
    @pytest.mark.parametrize(
        ("case", "rule", "upstream", "build"), CASES, ids=[c[0] for c in CASES]
    )
    def test_answers_the_broken_rule_with_the_databricks_400(
        self,
        endpoint: FakeEndpoint,
        post: Any,
        case: str,
        rule: str,
        upstream: bool,
        build: Build,
    ) -> None:
        response = post(build(endpoint))
        assert response.status_code == 400, response.text
        assert response.headers["x-fake-rule"] == rule
        envelope = response.json()
        assert set(envelope) == {"error_code", "message"}
        assert envelope["error_code"] == "BAD_REQUEST"
        if upstream:
            assert isinstance(json.loads(envelope["message"])["message"], str)
        else:
            assert not envelope["message"].startswith("{")

    def test_error_messages_name_where_the_problem_is(self, post: Any) -> None:
        response = post(
            body(
                messages=between(
                    {"role": "assistant", "content": "ok", "reasoning_content": "x"}
                )
            )
        )
        assert (
            json.loads(response.json()["message"])["message"]
            == "messages.1.reasoning_content: Extra inputs are not permitted"
        )

    def test_five_markers_get_anthropics_own_wording(self, post: Any) -> None:
        response = post(
            body(
                messages=_user_parts(
                    *(_text(f"part {i}", cache_control=EPH) for i in range(5))
                )
            )
        )
        text = json.loads(response.json()["message"])["message"]
        assert (
            text == "A maximum of 4 blocks with cache_control may be provided. Found 5."
        )


def _valid_tool_loop(endpoint: FakeEndpoint) -> dict[str, Any]:
    return body(messages=tool_loop(endpoint), tools=[TOOL], **THINKING)


VALID: list[tuple[str, Build]] = [
    ("a plain Claude request", lambda e: body()),
    ("a Claude tool loop with its signed reasoning first", _valid_tool_loop),
    (
        "a streamed reasoning block replayed as fragments plus a signature-only part",
        lambda e: body(
            messages=between(
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "reasoning",
                            "summary": [
                                {
                                    "type": "summary_text",
                                    "text": "Two cities, ",
                                    "signature": "",
                                },
                                {
                                    "type": "summary_text",
                                    "text": "two calls.",
                                    "signature": "",
                                },
                                {
                                    "type": "summary_text",
                                    "text": "",
                                    "signature": e.signature(
                                        "claude", "Two cities, two calls."
                                    ),
                                },
                            ],
                        },
                        _text("ok"),
                    ],
                }
            )
        ),
    ),
    (
        "an assistant tool call with content omitted",
        lambda e: body(
            messages=asked(
                {"role": "assistant", "tool_calls": [call("toolu_A")]},
                result("toolu_A"),
            ),
            tools=[TOOL],
        ),
    ),
    (
        "exactly four markers ordered 1h before 5m",
        lambda e: body(
            tools=[
                {
                    **TOOL,
                    "function": {
                        **TOOL["function"],
                        "cache_control": {"type": "ephemeral", "ttl": "1h"},
                    },
                }
            ],
            messages=[
                {
                    "role": "system",
                    "content": [
                        _text(
                            "Be brief.",
                            cache_control={"type": "ephemeral", "ttl": "1h"},
                        )
                    ],
                },
                *_user_parts(
                    _text("a", cache_control=EPH), _text("b", cache_control=EPH)
                ),
            ],
        ),
    ),
    (
        "a jpeg data URL image",
        lambda e: body(
            messages=_user_parts(
                _text("What is this?"),
                image(_png_url(b"\xff\xd8\xff\xe0", "image/jpeg")),
            )
        ),
    ),
    (
        "split parallel calls on GPT OSS",
        lambda e: body(
            GPT_OSS,
            messages=[
                {"role": "user", "content": "Oslo and Lima?"},
                {"role": "assistant", "content": None, "tool_calls": [call("call_A")]},
                result("call_A"),
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [call("call_B", "Lima")],
                },
                result("call_B"),
            ],
            tools=[TOOL],
            reasoning_effort="high",
        ),
    ),
    (
        "strict tools and stream_options on GPT-5.1",
        lambda e: body(
            GPT,
            tools=[STRICT_TOOL],
            stream=True,
            stream_options={"include_usage": True},
            parallel_tool_calls=False,
        ),
    ),
    ("Gemini with its effort", lambda e: body(GEMINI, reasoning_effort="high")),
    (
        "empty text to a non-Claude model",
        lambda e: body(LLAMA, messages=[{"role": "user", "content": ""}]),
    ),
    (
        "budget thinking with top_p 0.95 and tool_choice auto",
        lambda e: body(top_p=0.95, tool_choice="auto", tools=[TOOL], **THINKING),
    ),
    (
        "the worked tool-loop example of the wire facts",
        lambda e: json.loads(json.dumps(_valid_tool_loop(e))),
    ),
]


class TestValidRequests:
    @pytest.mark.parametrize(("case", "build"), VALID, ids=[c[0] for c in VALID])
    def test_are_answered_with_200(
        self, endpoint: FakeEndpoint, post: Any, case: str, build: Build
    ) -> None:
        response = post(build(endpoint))
        assert response.status_code == 200, response.text
        assert "x-fake-rule" not in response.headers

    def test_invocations_route_takes_the_model_from_the_path(self, post: Any) -> None:
        request = body()
        del request["model"]
        response = post(request, path=f"/serving-endpoints/{CLAUDE}/invocations")
        assert response.status_code == 200
        assert response.headers["served-model-name"] == CLAUDE

    def test_checks_do_not_mutate_the_request(
        self, endpoint: FakeEndpoint, post: Any
    ) -> None:
        request = _valid_tool_loop(endpoint)
        before = copy.deepcopy(request)
        post(request)
        assert request == before


class TestTextOnlyModels:
    @pytest.mark.parametrize("model", [GPT_OSS, LLAMA])
    def test_refuse_images(self, post: Any, model: str) -> None:
        jpeg = image(_png_url(b"\xff\xd8\xff\xe0", "image/jpeg"))
        response = post(body(model, messages=_user_parts(_text("What is this?"), jpeg)))
        assert response.headers["x-fake-rule"] == "R18"

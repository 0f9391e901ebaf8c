"""A Claude conversation recorded in the chat format moves to Messages and back losslessly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from convo import (
    RequestParams,
    ThinkingBudget,
    ToolResultBlock,
    Turn,
    get_target,
    system,
    tool_results,
    user,
)
from convo.errors import RequestRejectedError
from convo.policies import RequestView, compose, default_policies
from convo.wire import anthropic, chat

FIXTURES = Path(__file__).parent / "fixtures"
PARAMS = RequestParams(max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048))


def chat_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text("utf-8"))
    return body


def chat_summaries(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The reasoning summary parts of a chat response, as the wire carried them."""
    content = body["choices"][0]["message"]["content"]
    return [
        part
        for block in content
        if block["type"] == "reasoning"
        for part in block["summary"]
    ]


def messages_parts(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The thinking / redacted_thinking blocks of a Messages payload, in order."""
    return [
        block
        for message in payload["messages"]
        for block in message["content"]
        if block["type"] in ("thinking", "redacted_thinking")
    ]


def recorded() -> list[Turn]:
    """The conversation as the chat wire recorded it, response by response."""
    target = get_target("databricks-claude-sonnet-4-5")
    first = chat.decode_response(chat_body("chat_claude_tool_call.json"), target=target)
    final = chat.decode_response(chat_body("chat_claude_final.json"), target=target)
    return [
        system("Answer briefly."),
        user("Weather in Oslo and Lima?"),
        first,
        tool_results(
            ToolResultBlock(call_id="toolu_A", content="Oslo: 3 C, light snow"),
            ToolResultBlock(call_id="toolu_B", content="Lima: 19 C, overcast"),
        ),
        final,
        user("And tomorrow?"),
    ]


class TestChatToMessagesAndBack:
    def test_reasoning_recorded_in_chat_format_reaches_messages_byte_exact(
        self,
    ) -> None:
        chat_target = get_target("databricks-claude-sonnet-4-5")
        payload = anthropic.encode_request(
            recorded(), target=anthropic.anthropic_target(chat_target), params=PARAMS
        )
        expected = [
            {"type": "thinking", "thinking": p["text"], "signature": p["signature"]}
            if p["type"] == "summary_text"
            else {"type": "redacted_thinking", "data": p["data"]}
            for body in ("chat_claude_tool_call.json", "chat_claude_final.json")
            for p in chat_summaries(chat_body(body))
        ]
        assert messages_parts(payload) == expected
        assert payload["messages"][1]["content"][0]["type"] == "thinking"
        assert [b["type"] for b in payload["messages"][2]["content"]] == [
            "tool_result",
            "tool_result",
        ]

    def test_messages_back_to_chat_gives_the_same_chat_payload(self) -> None:
        chat_target = get_target("databricks-claude-sonnet-4-5")
        turns = recorded()
        original = chat.encode_request_bytes(turns, target=chat_target, params=PARAMS)
        payload = anthropic.encode_request(
            turns, target=anthropic.anthropic_target(chat_target), params=PARAMS
        )
        back = anthropic.import_messages(
            payload["messages"], system=payload["system"], target=chat_target
        )
        assert (
            chat.encode_request_bytes(back, target=chat_target, params=PARAMS)
            == original
        )

    def test_reasoning_blocks_are_equal_values_after_the_trip(self) -> None:
        chat_target = get_target("databricks-claude-sonnet-4-5")
        turns = recorded()
        payload = anthropic.encode_request(
            turns, target=anthropic.anthropic_target(chat_target), params=PARAMS
        )
        back = anthropic.import_messages(payload["messages"], system=payload["system"])
        before = [r.parts for t in turns for r in t.reasoning]
        after = [r.parts for t in back for r in t.reasoning]
        assert after == before

    def test_a_messages_response_goes_to_the_chat_wire_byte_exact(self) -> None:
        messages_response = json.loads(
            (FIXTURES / "response_thinking_tool_use.json").read_text("utf-8")
        )
        chat_target = get_target("databricks-claude-sonnet-4-5")
        answer = anthropic.decode_response(messages_response, target=chat_target)
        turns = [
            user("Weather in Oslo and Lima?"),
            answer,
            tool_results(
                ToolResultBlock(call_id="toolu_01A", content="3 C"),
                ToolResultBlock(call_id="toolu_01B", content="19 C"),
            ),
        ]
        payload = chat.encode_request(turns, target=chat_target, params=PARAMS)
        assistant = payload["messages"][1]
        summary = next(b for b in assistant["content"] if b["type"] == "reasoning")[
            "summary"
        ]
        sent = [b for b in messages_response["content"] if "thinking" in b["type"]]
        assert summary == [
            {"type": "summary_text", "text": b["thinking"], "signature": b["signature"]}
            if b["type"] == "thinking"
            else {"type": "summary_encrypted_text", "data": b["data"]}
            for b in sent
        ]


class TestReasoningGoesOnlyWhereItCanBeVerified:
    def test_foreign_reasoning_is_dropped_by_policy_and_refused_without_it(
        self,
    ) -> None:
        gpt = get_target("databricks-gpt-oss-120b")
        claude = anthropic.anthropic_target(get_target("databricks-claude-sonnet-4-5"))
        gpt_answer = chat.decode_response(
            {
                "model": "databricks-gpt-oss-120b",
                "choices": [
                    {
                        "message": {
                            "role": "assistant",
                            "content": [
                                {
                                    "type": "reasoning",
                                    "summary": [{"type": "summary_text", "text": "hm"}],
                                },
                                {"type": "text", "text": "Hello."},
                            ],
                        },
                        "finish_reason": "stop",
                    }
                ],
            },
            target=gpt,
        )
        turns = (user("Hi"), gpt_answer, user("Now you, Claude."))
        with pytest.raises(RequestRejectedError) as info:
            anthropic.validate_request(turns, target=claude, params=PARAMS)
        assert info.value.rule == "R4"
        view = compose(*default_policies(claude))(
            RequestView(turns=turns, tools=(), target=claude)
        )
        payload = anthropic.encode_request(view.turns, target=claude, params=PARAMS)
        assert messages_parts(payload) == []
        assert payload["messages"][1]["content"][0]["text"] == "Hello."

"""Golden tests: every JSON example of the two seed pages (and wire-facts' worked
examples) decodes into convo values and re-encodes to the same JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from convo import (
    CacheControl,
    Effort,
    ReasoningBlock,
    RequestParams,
    SummaryEncryptedText,
    SummaryText,
    ThinkingBudget,
    Tool,
    get_target,
)
from convo.wire import chat

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def params_of(spec: dict[str, Any]) -> RequestParams:
    reasoning: Any = None
    if "budget_tokens" in spec:
        reasoning = ThinkingBudget(budget_tokens=spec["budget_tokens"])
    elif "effort" in spec:
        reasoning = Effort(level=spec["effort"])
    return RequestParams(
        max_tokens=spec.get("max_tokens"),
        stream=spec.get("stream", False),
        reasoning=reasoning,
    )


def tools_of(body: dict[str, Any]) -> list[Tool]:
    out = []
    for item in body.get("tools", []):
        fn = item["function"]
        cc = fn.get("cache_control")
        out.append(
            Tool(
                name=fn["name"],
                description=fn.get("description", ""),
                parameters=fn["parameters"],
                cache_control=None if cc is None else CacheControl(),
            )
        )
    return out


class TestSeedMessageExamples:
    def test_every_seed_messages_example_imports_and_reencodes_to_the_same_json(self):
        for name in (
            "seed_ja_text_cache.json",
            "seed_ja_reasoning.json",
            "seed_ja_image_cache.json",
            "seed_ja_tool_call_cache.json",
        ):
            fixture = load(name)
            target = get_target(fixture["target"])
            turns = chat.import_messages(fixture["messages"], target=target)
            payload = chat.encode_request(turns, target=target, include_model=False)
            assert payload == {"messages": fixture["messages"]}, name

    def test_the_reasoning_example_keeps_both_parts_in_order_and_bytes(self):
        fixture = load("seed_ja_reasoning.json")
        (turn,) = chat.import_messages(fixture["messages"])
        (block,) = turn.blocks
        assert isinstance(block, ReasoningBlock)
        assert block.parts == (
            SummaryText(text="Thinking...", signature="[optional]"),
            SummaryEncryptedText(data="[encrypted text]"),
        )


class TestSeedRequestBodies:
    def test_every_request_body_reencodes_from_turns_and_params_exactly(self):
        for name in (
            "seed_pt_gpt_5_1_request.json",
            "seed_pt_gpt_oss_request.json",
            "seed_pt_gemini_request.json",
            "seed_pt_claude_request.json",
            "wf_3_tool_loop_request.json",
            "wf_4_cache_request.json",
        ):
            fixture = load(name)
            body = fixture["body"]
            target = get_target(fixture["target"])
            turns = chat.import_messages(body["messages"], target=target)
            payload = chat.encode_request(
                turns,
                target=target,
                params=params_of(fixture["params"]),
                tools=tools_of(body),
                include_model="model" in body,
            )
            assert payload == body, name
            assert chat.encode_request_bytes(
                turns,
                target=target,
                params=params_of(fixture["params"]),
                tools=tools_of(body),
                include_model="model" in body,
            ) == json.dumps(
                body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8"), name


class TestSeedResponses:
    def test_every_response_decodes_and_its_message_reencodes_to_the_same_json(self):
        for name in ("seed_pt_claude_response.json", "wf_1_claude_response.json"):
            fixture = load(name)
            target = get_target(fixture["target"])
            body = fixture["body"]
            turn = chat.decode_response(json.dumps(body).encode(), target=target)
            message = {
                k: v for k, v in body["choices"][0]["message"].items() if v is not None
            }
            assert chat.encode_turn_messages(turn, target=target) == [message], name

    def test_the_seed_response_is_read_by_type_not_by_position(self):
        fixture = load("seed_pt_claude_response.json")
        turn = chat.decode_response(fixture["body"])
        assert turn.text.startswith("# Why the Sky Is Blue")
        assert turn.reasoning[0].parts[0].signature.startswith("EqoBCkgIARAB")  # type: ignore[union-attr]

    def test_the_streamed_example_assembles_to_the_non_streamed_turn(self):
        target = get_target("databricks-claude-sonnet-4-5")
        expected = chat.decode_response(
            load("wf_1_claude_response.json")["body"], target=target
        )
        assembler = chat.StreamAssembler(target=target)
        assembler.feed((FIXTURES / "wf_2_claude_stream.sse").read_bytes())
        assert assembler.done
        assert assembler.finish() == expected

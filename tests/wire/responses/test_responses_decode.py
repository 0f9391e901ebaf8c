"""Decoding Responses objects: items to blocks, finish, usage, errors (goldens)."""

from __future__ import annotations

import json

import pytest

from convo._blocks import (
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
)
from convo._turns import FinishReason
from convo.errors import (
    BadRequestError,
    DecodeError,
    ServerError,
    UnknownBlockTypeError,
)
from convo.wire.responses import ITEMS_KEY, decode_error, decode_response
from tests.wire.responses._helpers import (
    CLAUDE_OR,
    GEMINI_OR,
    GPT5,
    GPT_OSS_OR,
    load,
    raw,
)


class TestDecodeResponse:
    def test_a_reasoning_item_is_one_block_with_its_parts_in_order_and_its_blob_last(
        self,
    ) -> None:
        turn = decode_response(
            raw("response_reasoning_tool_call.json"), target=CLAUDE_OR
        )
        reasoning = turn.blocks[0]
        assert isinstance(reasoning, ReasoningBlock)
        assert reasoning.parts == (
            SummaryText(text="**Plan**\nLook up the weather."),
            SummaryText(text="Then answer briefly."),
            SummaryEncryptedText(data="gAAAAB-claude-blob-01"),
        )
        assert reasoning.extra == {"id": "rs_01", "status": "completed"}

    def test_reasoning_provenance_names_the_family_model_and_route(self) -> None:
        turn = decode_response(
            raw("response_reasoning_tool_call.json"), target=CLAUDE_OR
        )
        block = turn.blocks[0]
        assert isinstance(block, ReasoningBlock)
        assert block.provenance is not None
        assert (block.provenance.family, block.provenance.route) == (
            "claude",
            "open-responses",
        )
        assert block.provenance.model == "databricks-claude-sonnet-4-5"

    def test_a_function_call_keeps_its_call_id_and_arguments_verbatim(self) -> None:
        turn = decode_response(
            raw("response_reasoning_tool_call.json"), target=CLAUDE_OR
        )
        assert turn.blocks[1] == ToolCallBlock(
            id="call_01", name="get_weather", arguments='{"city":"Oslo"}'
        )
        meta = turn.metadata[ITEMS_KEY]
        assert isinstance(meta, dict)
        assert meta["calls"] == {"call_01": {"id": "fc_01", "status": "completed"}}
        assert meta["route"] == "open-responses"

    def test_completed_with_calls_finishes_with_tool_calls_and_keeps_the_raw_status(
        self,
    ) -> None:
        turn = decode_response(
            raw("response_reasoning_tool_call.json"), target=CLAUDE_OR
        )
        assert turn.finish_reason is FinishReason.TOOL_CALLS
        assert turn.finish_reason_raw == "completed"

    def test_completed_without_calls_is_stop(self) -> None:
        turn = decode_response(raw("response_final_answer.json"), target=CLAUDE_OR)
        assert turn.finish_reason is FinishReason.STOP
        assert turn.blocks[1] == TextBlock(text="It is 4 C and snowing in Oslo.")

    def test_incomplete_for_max_output_tokens_is_length_with_the_raw_reason(
        self,
    ) -> None:
        turn = decode_response(raw("response_incomplete.json"), target=GPT_OSS_OR)
        assert turn.finish_reason is FinishReason.LENGTH
        assert turn.finish_reason_raw == "max_output_tokens"

    def test_an_unknown_incomplete_reason_is_unknown_never_stop(self) -> None:
        body = load("response_incomplete.json")
        body["incomplete_details"] = {"reason": "steered"}
        turn = decode_response(body, target=GPT_OSS_OR)
        assert turn.finish_reason is FinishReason.UNKNOWN
        assert turn.finish_reason_raw == "steered"

    def test_usage_maps_cached_and_reasoning_tokens(self) -> None:
        usage = decode_response(raw("response_reasoning_tool_call.json")).usage
        assert usage is not None
        assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
            328,
            52,
            380,
        )
        assert (usage.cache_read_tokens, usage.reasoning_tokens) == (128, 31)

    def test_message_parts_become_text_blocks_and_phase_is_kept_for_replay(
        self,
    ) -> None:
        turn = decode_response(raw("response_gpt5_phase.json"), target=GPT5)
        assert [b for b in turn.blocks if isinstance(b, TextBlock)] == [
            TextBlock(text="Hello"),
            TextBlock(text=" there."),
        ]
        meta = turn.metadata[ITEMS_KEY]
        assert isinstance(meta, dict)
        assert meta["messages"] == [
            {
                "id": "msg_03",
                "status": "completed",
                "phase": "final_answer",
                "parts": [
                    {"type": "output_text", "annotations": []},
                    {"type": "output_text", "annotations": []},
                ],
            }
        ]

    def test_a_gemini_call_signature_is_kept_in_the_calls_metadata(self) -> None:
        turn = decode_response(
            raw("response_gemini_call_signature.json"), target=GEMINI_OR
        )
        meta = turn.metadata[ITEMS_KEY]
        assert isinstance(meta, dict)
        calls = meta["calls"]
        assert isinstance(calls, dict)
        assert calls["call_04"] == {
            "id": "fc_04",
            "status": "completed",
            "encrypted_content": "gemini-thought-signature-04",
        }

    def test_a_failed_response_raises_server_error_with_its_code(self) -> None:
        with pytest.raises(ServerError) as caught:
            decode_response(raw("response_failed.json"), target=CLAUDE_OR)
        assert caught.value.error_code == "server_error"
        assert "failed to produce an answer" in str(caught.value)

    def test_refuses_an_item_of_a_built_in_tool(self) -> None:
        body = load("response_final_answer.json")
        body["output"].append(
            {"type": "web_search_call", "id": "ws_1", "status": "completed"}
        )
        with pytest.raises(UnknownBlockTypeError) as caught:
            decode_response(body, target=CLAUDE_OR)
        assert caught.value.path == "$.output[2]"

    def test_refuses_a_body_that_is_not_json(self) -> None:
        with pytest.raises(DecodeError):
            decode_response(b"{not json", target=CLAUDE_OR)

    def test_refuses_a_response_without_an_output_list(self) -> None:
        with pytest.raises(DecodeError) as caught:
            decode_response({"status": "completed"}, target=CLAUDE_OR)
        assert caught.value.path == "$.output"


class TestDecodeError:
    def test_the_openai_envelope_keeps_the_replay_rule_text(self) -> None:
        error = decode_error(400, raw("error_openai_envelope.json"))
        assert isinstance(error, BadRequestError)
        assert "without its required 'reasoning' item" in str(error)

    def test_the_databricks_envelope_unwraps_the_nested_upstream_error(self) -> None:
        error = decode_error(400, raw("error_databricks_envelope.json"))
        assert isinstance(error, BadRequestError)
        assert "Unknown parameter: 'input[2].cache_breakpoint'" in str(error)
        assert error.error_code == "unknown_parameter"  # the innermost code wins

    def test_never_raises_on_garbage(self) -> None:
        error = decode_error(502, b"<html>bad gateway</html>")
        assert isinstance(error, ServerError)
        assert json.dumps(error.body_excerpt)


def _nested(depth: int = 3000) -> object:
    deep: object = "x"
    for _ in range(depth):
        deep = [deep]
    return deep


class TestDeeplyNestedValues:
    """Issue 13 (found by the fuzz harness): server values nested thousands deep
    are named in bounded messages and details, never a RecursionError."""

    def test_a_failed_response_with_a_deep_error_code_is_a_bounded_server_error(
        self,
    ) -> None:
        body = {
            "id": "resp_x",
            "object": "response",
            "status": "failed",
            "error": {"code": _nested(), "message": _nested()},
            "output": [],
        }
        with pytest.raises(ServerError) as caught:
            decode_response(body)
        assert len(str(caught.value)) < 1000
        assert caught.value.error_code is None

    def test_a_failed_response_keeps_a_text_code_and_message_as_sent(self) -> None:
        body = {
            "status": "failed",
            "error": {"code": "server_error", "message": "boom"},
            "output": [],
        }
        with pytest.raises(ServerError, match=r"\(server_error: boom\)"):
            decode_response(body)

    def test_an_output_item_type_nested_deep_has_bounded_details(self) -> None:
        body = {"status": "completed", "output": [{"type": _nested()}]}
        with pytest.raises(UnknownBlockTypeError) as caught:
            decode_response(body)
        assert isinstance(caught.value.tag, str)
        assert len(repr(caught.value.details)) < 1000

"""Decoding chat-completions responses and error bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from convo import (
    FinishReason,
    ImageBlock,
    Provenance,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    Usage,
    get_target,
)
from convo.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    EndpointNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    UnknownBlockTypeError,
)
from convo.wire import chat

CLAUDE = get_target("databricks-claude-sonnet-4-5")


def response(
    message: dict[str, Any], *, finish: str | None = "stop", **top: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "x",
        "object": "chat.completion",
        "model": "databricks-claude-sonnet-4-5",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": finish,
            }
        ],
    }
    body.update(top)
    return body


class TestContent:
    def test_string_content_is_one_text_block(self):
        turn = chat.decode_response(response({"content": "hi"}))
        assert turn.blocks == (TextBlock(text="hi"),)
        assert turn.role == "assistant"

    def test_null_content_with_tool_calls_gives_only_the_calls(self):
        turn = chat.decode_response(
            response(
                {
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": ""},
                        }
                    ],
                },
                finish="tool_calls",
            )
        )
        assert turn.blocks == (ToolCallBlock(id="c", name="f", arguments="{}"),)
        assert turn.finish_reason is FinishReason.TOOL_CALLS

    def test_parts_are_dispatched_on_type_not_position(self):
        body = response(
            {
                "content": [
                    {"type": "text", "text": "answer", "citations": [[{"url": "u"}]]},
                    {
                        "type": "reasoning",
                        "summary": [{"type": "summary_text", "text": "why"}],
                    },
                ]
            }
        )
        turn = chat.decode_response(body, target=CLAUDE)
        text, reasoning = turn.blocks
        assert text == TextBlock(text="answer", extra={"citations": [[{"url": "u"}]]})
        assert isinstance(reasoning, ReasoningBlock)
        assert reasoning.parts == (SummaryText(text="why", signature=None),)

    def test_reasoning_parts_keep_signatures_empty_signatures_and_encrypted_data_rule_r1(
        self,
    ):
        summary = [
            {"type": "summary_text", "text": "a", "signature": "SIG"},
            {"type": "summary_text", "text": "", "signature": "ONLY"},
            {"type": "summary_text", "text": "b", "signature": ""},
            {"type": "summary_encrypted_text", "data": "ENC"},
        ]
        turn = chat.decode_response(
            response({"content": [{"type": "reasoning", "summary": summary}]})
        )
        (block,) = turn.blocks
        assert isinstance(block, ReasoningBlock)
        assert block.parts == (
            SummaryText(text="a", signature="SIG"),
            SummaryText(text="", signature="ONLY"),
            SummaryText(text="b", signature=""),
            SummaryEncryptedText(data="ENC"),
        )

    def test_reasoning_gets_provenance_from_the_target_and_model_from_the_response_rule_r4(
        self,
    ):
        body = response(
            {"content": [{"type": "reasoning", "summary": []}]},
            model="us.anthropic.claude-x",
        )
        (block,) = chat.decode_response(body, target=CLAUDE).blocks
        assert isinstance(block, ReasoningBlock)
        assert block.provenance == Provenance(
            provider="anthropic", family="claude", model="us.anthropic.claude-x"
        )

    def test_without_a_target_provenance_comes_from_the_registered_model_name(self):
        body = response(
            {"content": [{"type": "reasoning", "summary": []}]},
            model="databricks-gpt-oss-20b",
        )
        (block,) = chat.decode_response(body).blocks
        assert isinstance(block, ReasoningBlock)
        assert block.provenance is not None
        assert block.provenance.family == "gpt-oss"

    def test_reasoning_content_strings_become_unsigned_reasoning(self):
        turn = chat.decode_response(
            response({"content": "x", "reasoning_content": "think"})
        )
        assert turn.reasoning[0].parts == (SummaryText(text="think"),)

    def test_an_image_part_with_a_data_url_is_an_image_block(self):
        url = "data:image/png;base64,iVBORw0KGgo="
        turn = chat.decode_response(
            response({"content": [{"type": "image", "image_url": url}]})
        )
        assert isinstance(turn.blocks[0], ImageBlock)

    def test_an_http_image_url_is_refused_with_its_path_rule_r18(self):
        body = response(
            {
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
                ]
            }
        )
        with pytest.raises(DecodeError) as info:
            chat.decode_response(body)
        assert info.value.path == "$.choices[0].message.content[0]"

    def test_unknown_part_types_are_refused_with_their_path(self):
        body = response(
            {"content": [{"type": "text", "text": "a"}, {"type": "audio", "x": 1}]}
        )
        with pytest.raises(UnknownBlockTypeError) as info:
            chat.decode_response(body)
        assert info.value.path == "$.choices[0].message.content[1]"

    def test_tool_call_extras_are_kept_for_the_echo_rule_r17(self):
        call = {
            "id": "c",
            "type": "function",
            "function": {"name": "f", "arguments": '{"a":1}'},
            "extra_content": {"google": {"thought_signature": "TS"}},
        }
        turn = chat.decode_response(response({"tool_calls": [call]}))
        assert turn.tool_calls[0].extra == {
            "extra_content": {"google": {"thought_signature": "TS"}}
        }

    def test_unknown_top_level_and_message_keys_are_tolerated(self):
        body = response(
            {"content": "x", "refusal": None, "annotations": [], "name": "bot"},
            system_fingerprint="fp",
        )
        turn = chat.decode_response(body)
        assert turn.metadata == {"chat.message": {"name": "bot"}}


class TestFinishReason:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("stop", FinishReason.STOP),
            ("end_turn", FinishReason.STOP),
            ("stop_sequence", FinishReason.STOP),
            ("length", FinishReason.LENGTH),
            ("max_tokens", FinishReason.LENGTH),
            ("tool_use", FinishReason.TOOL_CALLS),
            ("content_filter", FinishReason.CONTENT_FILTER),
            ("pause_turn", FinishReason.PAUSE),
            ("refusal", FinishReason.REFUSAL),
            ("model_context_window_exceeded", FinishReason.CONTEXT_WINDOW_EXCEEDED),
            ("something_new", FinishReason.UNKNOWN),
        ],
    )
    def test_finish_reasons_are_normalised_and_the_raw_value_kept_rule_r19(
        self, raw, expected
    ):
        turn = chat.decode_response(response({"content": "x"}, finish=raw))
        assert (turn.finish_reason, turn.finish_reason_raw) == (expected, raw)


class TestUsage:
    def test_claude_top_level_cache_fields(self):
        usage = {
            "prompt_tokens": 5,
            "completion_tokens": 7,
            "total_tokens": 12,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 30,
        }
        turn = chat.decode_response(response({"content": "x"}, usage=usage))
        assert turn.usage == Usage(
            prompt_tokens=5,
            completion_tokens=7,
            total_tokens=12,
            cache_read_tokens=100,
            cache_write_tokens=30,
        )

    def test_openai_detail_fields(self):
        usage = {
            "prompt_tokens": 5,
            "completion_tokens": 7,
            "total_tokens": 12,
            "prompt_tokens_details": {"cached_tokens": 3},
            "completion_tokens_details": {"reasoning_tokens": 4},
        }
        turn = chat.decode_response(response({"content": "x"}, usage=usage))
        assert (turn.usage.cache_read_tokens, turn.usage.reasoning_tokens) == (3, 4)  # type: ignore[union-attr]

    def test_a_negative_count_is_a_decode_error_with_its_path(self):
        with pytest.raises(DecodeError) as info:
            chat.decode_response(
                response({"content": "x"}, usage={"prompt_tokens": -1})
            )
        assert info.value.path == "$.usage.prompt_tokens"


class TestBounds:
    def test_a_body_over_the_limit_is_refused(self):
        with pytest.raises(ResponseTooLargeError):
            chat.decode_response(b"{" + b" " * 100 + b"}", max_bytes=50)

    def test_deep_nesting_is_refused(self):
        with pytest.raises(DecodeError):
            chat.decode_response(b"[" * 100 + b"]" * 100)

    def test_huge_integers_are_refused(self):
        with pytest.raises(DecodeError):
            chat.decode_response(b'{"choices": ' + b"9" * 5000 + b"}")

    def test_invalid_json_is_a_decode_error(self):
        with pytest.raises(DecodeError):
            chat.decode_response(b'{"choices": [')


class TestDeeplyNestedTags:
    """Issue 13: a part type nested thousands deep is a bounded UnknownBlockTypeError."""

    @staticmethod
    def _deep(depth: int = 3000) -> object:
        deep: object = "x"
        for _ in range(depth):
            deep = [deep]
        return deep

    def test_a_content_part_type_nested_3000_deep_has_bounded_details(self):
        body = {
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": [{"type": self._deep()}],
                    },
                    "finish_reason": "stop",
                }
            ]
        }
        with pytest.raises(DecodeError) as caught:
            chat.decode_response(body)
        error = caught.value
        leaf = error.__cause__ if isinstance(error.__cause__, DecodeError) else error
        for shown in (error, leaf):
            assert len(repr(shown.details)) < 1000
            assert len(str(shown)) < 1000

    def test_a_reasoning_part_type_nested_3000_deep_has_bounded_details(self):
        part = {"type": "reasoning", "summary": [{"type": self._deep()}]}
        body = {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": [part]},
                    "finish_reason": "stop",
                }
            ]
        }
        with pytest.raises(DecodeError) as caught:
            chat.decode_response(body)
        assert len(repr(caught.value.details)) < 1000


class TestDecodeError:
    def test_r22_the_databricks_envelope_with_nested_json_is_unwrapped(self):
        body = json.dumps(
            {
                "error_code": "BAD_REQUEST",
                "message": json.dumps(
                    {
                        "message": "messages.98.thinking_blocks: Extra inputs are not permitted"
                    }
                ),
            }
        ).encode()
        error = chat.decode_error(400, body, request_id="req-1", attempts=2)
        assert isinstance(error, BadRequestError)
        assert error.status_code == 400
        assert error.error_code == "BAD_REQUEST"
        assert (
            "messages.98.thinking_blocks: Extra inputs are not permitted"
            in error.message
        )
        assert "{" not in error.message.split("permitted")[0]
        assert (error.request_id, error.attempts) == ("req-1", 2)

    def test_r22_an_anthropic_error_nested_in_a_databricks_message(self):
        inner = {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "A maximum of 4 blocks with cache_control may be provided. Found 5.",
            },
        }
        body = json.dumps(
            {"error_code": "BAD_REQUEST", "message": json.dumps(inner)}
        ).encode()
        error = chat.decode_error(400, body)
        assert "Found 5." in error.message

    def test_the_openai_error_shape(self):
        body = json.dumps(
            {
                "error": {
                    "message": "bad key",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            }
        ).encode()
        error = chat.decode_error(401, body)
        assert isinstance(error, AuthenticationError)
        assert error.error_code == "invalid_api_key"
        assert "bad key" in error.message

    def test_plain_text_error_code_and_message(self):
        body = b"REQUEST_LIMIT_EXCEEDED: Exceeded workspace QPS rate limit for databricks-x."
        error = chat.decode_error(429, body, retry_after=2.5)
        assert isinstance(error, RateLimitError)
        assert error.retry_after == 2.5
        assert error.error_code == "REQUEST_LIMIT_EXCEEDED"

    @pytest.mark.parametrize(
        ("status", "cls"),
        [
            (400, BadRequestError),
            (422, BadRequestError),
            (401, AuthenticationError),
            (403, PermissionDeniedError),
            (404, EndpointNotFoundError),
            (429, RateLimitError),
            (500, ServerError),
            (503, ServerError),
            (529, ServerError),
            (409, APIStatusError),
        ],
    )
    def test_the_class_follows_the_status(self, status, cls):
        error = chat.decode_error(status, b"<html>oops</html>")
        assert type(error) is cls

    def test_the_body_excerpt_is_bounded_to_8_kb(self):
        error = chat.decode_error(500, b"x" * 100_000)
        assert len(error.body_excerpt) <= 8 * 1024

    def test_the_older_upstream_shape(self):
        body = json.dumps(
            {
                "error": "Received error from amazon-bedrock",
                "external_model_message": {"message": "Too many tokens"},
            }
        ).encode()
        assert "Too many tokens" in chat.decode_error(400, body).message

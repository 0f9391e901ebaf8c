"""Decoding Messages responses, error bodies and imported message lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from convo import (
    CacheControl,
    FinishReason,
    ImageBlock,
    Provenance,
    ReasoningBlock,
    RequestParams,
    SummaryEncryptedText,
    SummaryText,
    Target,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    Usage,
)
from convo.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    EndpointNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnknownBlockTypeError,
)
from convo.wire.anthropic import (
    anthropic_target,
    decode_error,
    decode_response,
    encode_request,
    import_messages,
)

FIXTURES = Path(__file__).parent / "fixtures"
SONNET = anthropic_target(Target(name="databricks-claude-sonnet-4-5", family="claude"))


def response(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }
    body.update(changes)
    return body


class TestDecodeResponse:
    def test_golden_tool_use_response_decodes_block_by_block(self) -> None:
        turn = decode_response(
            (FIXTURES / "response_thinking_tool_use.json").read_bytes()
        )
        reasoning, text, first, second = turn.blocks
        assert reasoning == ReasoningBlock(
            parts=(
                SummaryText(
                    text="Two cities, so two tool calls. Oslo first, then Lima.",
                    signature="EqQBCkgIARABGAIiQL2nKPMvT8qsYdZ0UEXAMPLEONLY==",
                ),
                SummaryEncryptedText(
                    data="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2XKOOZKxLf8REDACTED=="
                ),
                SummaryText(text="", signature="EqwBCkgIARABGAIiQSIGNATUREONLYPART=="),
            ),
            provenance=Provenance(
                provider="anthropic",
                family="claude",
                model="claude-sonnet-4-5-20250929",
            ),
        )
        assert text == TextBlock(text="I'll look up both cities. Ünïcödé ✓ 北京")
        assert first == ToolCallBlock(
            id="toolu_01A",
            name="get_weather",
            arguments='{"city":"Oslo","units":"metric"}',
        )
        assert turn.tool_calls[1] is second
        assert turn.tool_calls[1].id == "toolu_01B"
        assert (turn.finish_reason, turn.finish_reason_raw) == (
            FinishReason.TOOL_CALLS,
            "tool_use",
        )
        assert turn.model == "claude-sonnet-4-5-20250929"

    def test_usage_adds_cache_reads_and_writes_to_the_prompt(self) -> None:
        turn = decode_response(
            (FIXTURES / "response_thinking_tool_use.json").read_bytes()
        )
        assert turn.usage == Usage(
            prompt_tokens=412 + 1024 + 2048,
            completion_tokens=187,
            total_tokens=412 + 1024 + 2048 + 187,
            cache_read_tokens=2048,
            cache_write_tokens=1024,
        )

    def test_thinking_tokens_are_the_reasoning_tokens(self) -> None:
        turn = decode_response((FIXTURES / "response_final_answer.json").read_bytes())
        assert turn.usage is not None
        assert turn.usage.reasoning_tokens == 40

    def test_unknown_text_keys_are_kept_verbatim(self) -> None:
        turn = decode_response((FIXTURES / "response_final_answer.json").read_bytes())
        assert turn.blocks[1] == TextBlock(text=turn.text, extra={"citations": None})

    @pytest.mark.parametrize(
        ("raw", "normalised"),
        [
            ("end_turn", FinishReason.STOP),
            ("max_tokens", FinishReason.LENGTH),
            ("stop_sequence", FinishReason.STOP),
            ("tool_use", FinishReason.TOOL_CALLS),
            ("pause_turn", FinishReason.PAUSE),
            ("refusal", FinishReason.REFUSAL),
            ("model_context_window_exceeded", FinishReason.CONTEXT_WINDOW_EXCEEDED),
            ("brand_new_reason", FinishReason.UNKNOWN),
            (None, None),
        ],
    )
    def test_every_stop_reason_is_normalised_with_the_raw_value_kept(
        self, raw: str | None, normalised: FinishReason | None
    ) -> None:
        turn = decode_response(response(stop_reason=raw))
        assert (turn.finish_reason, turn.finish_reason_raw) == (normalised, raw)

    def test_consecutive_thinking_blocks_become_one_reasoning_block(self) -> None:
        content = [
            {"type": "thinking", "thinking": "a", "signature": "S1"},
            {"type": "thinking", "thinking": "b", "signature": "S2"},
            {"type": "text", "text": "x"},
            {"type": "redacted_thinking", "data": "E"},
        ]
        turn = decode_response(response(content=content))
        assert [type(b).__name__ for b in turn.blocks] == [
            "ReasoningBlock",
            "TextBlock",
            "ReasoningBlock",
        ]
        assert len(turn.reasoning[0].parts) == 2

    def test_a_missing_signature_stays_none_and_an_empty_one_stays_empty(self) -> None:
        content = [
            {"type": "thinking", "thinking": "a"},
            {"type": "thinking", "thinking": "b", "signature": ""},
        ]
        parts = decode_response(response(content=content)).reasoning[0].parts
        assert parts == (
            SummaryText(text="a", signature=None),
            SummaryText(text="b", signature=""),
        )

    def test_the_target_family_goes_into_the_provenance(self) -> None:
        content = [{"type": "thinking", "thinking": "a", "signature": "S"}]
        turn = decode_response(response(content=content), target=SONNET)
        assert turn.reasoning[0].provenance == Provenance(
            provider="anthropic", family="claude", model="claude-sonnet-4-5"
        )

    def test_an_unknown_block_type_names_the_tag_and_the_path(self) -> None:
        with pytest.raises(UnknownBlockTypeError) as info:
            decode_response(response(content=[{"type": "server_tool_use", "id": "x"}]))
        assert info.value.tag == "server_tool_use"
        assert info.value.path == "$.content[0]"

    def test_tool_input_must_be_an_object(self) -> None:
        content = [{"type": "tool_use", "id": "t", "name": "n", "input": [1]}]
        with pytest.raises(DecodeError) as info:
            decode_response(response(content=content))
        assert info.value.path == "$.content[0].input"

    def test_an_error_body_is_not_a_message(self) -> None:
        body = (FIXTURES / "error_overloaded.json").read_bytes()
        with pytest.raises(DecodeError, match="error"):
            decode_response(body)

    @pytest.mark.parametrize(
        "body", [b"", b"{", b"[1]", b"NaN", b'{"usage": {"input_tokens": -1}}']
    )
    def test_malformed_bodies_raise_decode_error(self, body: bytes) -> None:
        with pytest.raises(DecodeError):
            decode_response(body)


class TestDecodeError:
    def test_overloaded_529_is_a_server_error_with_type_and_request_id(self) -> None:
        body = (FIXTURES / "error_overloaded.json").read_bytes()
        error = decode_error(529, body)
        assert isinstance(error, ServerError)
        assert error.error_code == "overloaded_error"
        assert error.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"

    def test_databricks_envelope_with_nested_anthropic_json_is_unwrapped(self) -> None:
        body = (FIXTURES / "error_databricks_nested.json").read_bytes()
        error = decode_error(400, body, request_id="hdr-1")
        assert isinstance(error, BadRequestError)
        assert error.error_code == "invalid_request_error"
        assert "Expected `thinking`" in str(error)
        assert error.request_id == "hdr-1"

    def test_429_carries_retry_after(self) -> None:
        body = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}'
        error = decode_error(429, body, retry_after=2.0, attempts=3)
        assert isinstance(error, RateLimitError)
        assert (error.retry_after, error.attempts) == (2.0, 3)

    @pytest.mark.parametrize(
        ("status", "cls"),
        [
            (400, BadRequestError),
            (401, AuthenticationError),
            (403, PermissionDeniedError),
            (404, EndpointNotFoundError),
            (413, BadRequestError),
            (500, ServerError),
            (503, ServerError),
            (418, APIStatusError),
        ],
    )
    def test_status_codes_map_to_the_error_tree(
        self, status: int, cls: type[APIStatusError]
    ) -> None:
        assert type(decode_error(status, b"<html>oops</html>")) is cls

    def test_the_body_excerpt_is_bounded(self) -> None:
        error = decode_error(500, b"x" * 100_000)
        assert len(error.body_excerpt) <= 2000
        assert len(str(error)) < 1000


class TestImportMessages:
    def test_a_request_imports_and_encodes_back_to_the_same_messages(self) -> None:
        golden = json.loads((FIXTURES / "request_tool_loop.json").read_text("utf-8"))
        turns = import_messages(golden["messages"], system=golden["system"])
        assert [t.role for t in turns] == [
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
        ]
        payload = encode_request(
            turns,
            target=SONNET,
            params=RequestParams(max_tokens=8000),
        )
        assert payload["messages"] == golden["messages"]
        assert payload["system"] == golden["system"]

    def test_string_content_becomes_a_text_block(self) -> None:
        (turn,) = import_messages([{"role": "user", "content": "Hi"}])
        assert turn.blocks == (TextBlock(text="Hi"),)

    def test_tool_results_split_into_a_tool_turn_before_the_user_text(self) -> None:
        message = {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": "ok",
                    "is_error": True,
                },
                {
                    "type": "text",
                    "text": "thanks",
                    "cache_control": {"type": "ephemeral"},
                },
            ],
        }
        tool, text = import_messages([message])
        assert tool.blocks == (
            ToolResultBlock(call_id="t1", content="ok", is_error=True),
        )
        assert text.blocks == (TextBlock(text="thanks", cache_control=CacheControl()),)

    def test_images_import_from_base64_sources(self) -> None:
        image = ImageBlock(media_type="image/gif", data=b"GIF89a")
        block = {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": "image/gif",
                "data": image.base64,
            },
        }
        (turn,) = import_messages([{"role": "user", "content": [block]}])
        assert turn.blocks == (image,)

    def test_url_images_are_refused(self) -> None:
        block = {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
        with pytest.raises(DecodeError, match="R18"):
            import_messages([{"role": "user", "content": [block]}])

    def test_imported_reasoning_takes_the_given_provenance(self) -> None:
        who = Provenance(provider="anthropic", family="claude")
        content = [{"type": "thinking", "thinking": "a", "signature": "S"}]
        (turn,) = import_messages(
            [{"role": "assistant", "content": content}], provenance=who
        )
        assert turn.reasoning[0].provenance == who

    @pytest.mark.parametrize(
        "messages",
        [
            [{"role": "system", "content": "x"}],
            [{"role": "user"}],
            ["not an object"],
            [
                {
                    "role": "assistant",
                    "content": [{"type": "tool_result", "tool_use_id": "t"}],
                }
            ],
        ],
    )
    def test_malformed_messages_raise_decode_error(self, messages: Any) -> None:
        with pytest.raises(DecodeError):
            import_messages(messages)


class TestDeeplyNestedTags:
    """Issue 13: an unknown tag nested thousands deep is named in a bounded message."""

    def test_a_block_type_nested_3000_deep_is_an_unknown_block_type_error(self) -> None:
        from convo.errors import UnknownBlockTypeError

        deep: object = "x"
        for _ in range(3000):
            deep = [deep]
        body = {
            "role": "assistant",
            "model": "claude",
            "content": [{"type": deep}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
        with pytest.raises(UnknownBlockTypeError) as caught:
            decode_response(body)
        assert len(str(caught.value)) < 500
        # The `tag` detail is a bounded string too: repr(details) is what a
        # log line or a test report shows, and must not recurse 3000 deep.
        assert isinstance(caught.value.tag, str)
        assert len(repr(caught.value.details)) < 1000


class TestArgumentTypes:
    """Issue 13: a body that is neither JSON text nor a parsed object is a DecodeError."""

    @pytest.mark.parametrize(
        "body", [None, 42, True, 1.5, object(), [["x"]], ("{}",), {"{}"}]
    )
    def test_a_body_of_another_type_is_a_decode_error_naming_its_type(
        self, body: Any
    ) -> None:
        with pytest.raises(DecodeError) as caught:
            decode_response(body)
        assert f"<{type(body).__name__}>" in str(caught.value)
        assert caught.value.path == "$"

    def test_text_and_bytes_bodies_are_read_alike(self) -> None:
        body = (FIXTURES / "response_final_answer.json").read_bytes()
        assert decode_response(body.decode()) == decode_response(body)

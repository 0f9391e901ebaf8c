"""`convo.wire._shared`: what every format does the same way, written once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import convo.wire.anthropic
import convo.wire.chat
from convo.errors import (
    BadRequestError,
    DecodeError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
)
from convo.wire import WireFormat
from convo.wire._shared._errors import STATUS_CLASSES, class_for, parse_envelope
from convo.wire._shared._json import MAX_DEPTH, load_json
from convo.wire._shared._usage import parse_usage
from convo.wire.anthropic._decode import USAGE_FIELDS as ANTHROPIC_USAGE
from convo.wire.chat._decode import USAGE_FIELDS as CHAT_USAGE

FORMATS: dict[str, WireFormat] = {
    "chat": convo.wire.chat,
    "anthropic": convo.wire.anthropic,
}
ANTHROPIC_FIXTURES = Path(__file__).parent / "anthropic" / "fixtures"

ERROR_BODIES = [
    b'{"error_code":"BAD_REQUEST","message":"{\\"message\\":\\"bad\\"}"}',
    (ANTHROPIC_FIXTURES / "error_databricks_nested.json").read_bytes(),
    (ANTHROPIC_FIXTURES / "error_overloaded.json").read_bytes(),
    b'{"error":{"message":"bad key","type":"invalid_request_error","code":"k"}}',
    b"REQUEST_LIMIT_EXCEEDED: Exceeded workspace QPS rate limit.",
    b'{"error":"upstream","external_model_message":{"message":"Too many tokens"}}',
    b"<html>oops</html>",
    b"",
]


class TestErrorEnvelopes:
    @pytest.mark.parametrize("body", ERROR_BODIES)
    @pytest.mark.parametrize("status", [400, 413, 429, 503, 529, 418])
    def test_every_format_decodes_an_error_body_to_the_same_error(
        self, body: bytes, status: int
    ) -> None:
        chat = FORMATS["chat"].decode_error(status, body, request_id="r")
        anthropic = FORMATS["anthropic"].decode_error(status, body, request_id="r")
        assert type(chat) is type(anthropic)
        assert chat.message == anthropic.message
        assert chat.details == anthropic.details

    def test_the_innermost_layer_that_names_an_error_wins(self) -> None:
        body = (ANTHROPIC_FIXTURES / "error_databricks_nested.json").read_text()
        assert parse_envelope(json.loads(body)).code == "invalid_request_error"

    def test_an_outer_code_is_kept_when_the_inner_layer_names_none(self) -> None:
        found = parse_envelope(ERROR_BODIES[0].decode())
        assert (found.code, found.message) == ("BAD_REQUEST", "bad")

    def test_a_request_id_in_the_body_is_kept_when_no_header_gave_one(self) -> None:
        body = (ANTHROPIC_FIXTURES / "error_overloaded.json").read_bytes()
        error = convo.wire.chat.decode_error(529, body)
        assert error.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"

    def test_overloaded_is_a_server_error_whatever_the_status(self) -> None:
        assert class_for(400, "overloaded_error") is ServerError

    def test_one_status_table_serves_every_format(self) -> None:
        assert STATUS_CLASSES[413] is BadRequestError
        assert STATUS_CLASSES[429] is RateLimitError

    @given(st.integers(100, 599), st.binary(max_size=300))
    def test_decoding_an_error_never_raises(self, status: int, body: bytes) -> None:
        for wire in FORMATS.values():
            assert wire.decode_error(status, body).status_code == status


class TestLoadJson:
    @pytest.mark.parametrize("name", sorted(FORMATS))
    def test_every_format_refuses_a_body_nested_past_the_depth_bound(
        self, name: str
    ) -> None:
        deep = b"[" * (MAX_DEPTH + 2) + b"]" * (MAX_DEPTH + 2)
        with pytest.raises(DecodeError, match="deeper than"):
            FORMATS[name].decode_response(b'{"x": ' + deep + b"}")

    def test_nan_and_infinity_are_refused(self) -> None:
        for text in ("NaN", "[Infinity]", '{"a": -Infinity}'):
            with pytest.raises(DecodeError, match="not valid JSON"):
                load_json(text)

    def test_a_body_over_the_limit_is_too_large_before_parsing(self) -> None:
        with pytest.raises(ResponseTooLargeError):
            load_json(b"[" + b"1," * 100 + b"1]", limit=100)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
counts = st.none() | st.integers(0, 10**6)


class TestUsage:
    @given(json_values)
    def test_any_value_parses_or_is_a_decode_error(self, value: object) -> None:
        for fields in (CHAT_USAGE, ANTHROPIC_USAGE):
            path: str | None = "$.usage"
            try:
                parse_usage(value, fields, where="$.usage")
            except DecodeError as error:
                path = error.path
            assert path is not None
            assert path.startswith("$.usage")

    @given(counts, counts, counts, counts)
    def test_a_prompt_that_excludes_the_cache_is_summed_with_it(
        self,
        input_tokens: int | None,
        read: int | None,
        write: int | None,
        out: int | None,
    ) -> None:
        raw = {
            "input_tokens": input_tokens,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
            "output_tokens": out,
        }
        usage = parse_usage(raw, ANTHROPIC_USAGE, where="$")
        assert usage is not None
        if input_tokens is None:
            assert usage.prompt_tokens is None
        else:
            assert usage.prompt_tokens == input_tokens + (read or 0) + (write or 0)
        if usage.prompt_tokens is not None and out is not None:
            assert usage.total_tokens == usage.prompt_tokens + out
        else:
            assert usage.total_tokens is None

    @given(counts, counts)
    def test_the_first_path_present_wins(
        self, top: int | None, nested: int | None
    ) -> None:
        raw = {
            "cache_read_input_tokens": top,
            "prompt_tokens_details": {"cached_tokens": nested},
        }
        usage = parse_usage(raw, CHAT_USAGE, where="$")
        assert usage is not None
        assert usage.cache_read_tokens == (top if top is not None else nested)

    def test_a_negative_count_names_its_path(self) -> None:
        with pytest.raises(DecodeError) as caught:
            parse_usage(
                {"output_tokens_details": {"thinking_tokens": -1}},
                ANTHROPIC_USAGE,
                where="$.usage",
            )
        assert caught.value.path == "$.usage.output_tokens_details.thinking_tokens"

"""Fuzzing: arbitrary JSON and bytes fed to the decoders raise only convo's typed errors."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from convo.errors import ConvoError
from convo.wire import chat

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "text",
            "reasoning",
            "summary_text",
            "image_url",
            "tool_calls",
            "stop",
            "[DONE]",
        ]
    ),
)
keys = st.sampled_from(
    [
        "choices",
        "message",
        "delta",
        "content",
        "type",
        "text",
        "summary",
        "signature",
        "data",
        "tool_calls",
        "index",
        "id",
        "function",
        "name",
        "arguments",
        "finish_reason",
        "usage",
        "prompt_tokens",
        "model",
        "role",
        "error",
        "error_code",
        "image_url",
        "url",
        "reasoning_content",
    ]
) | st.text(max_size=5)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5)
    ),
    max_leaves=25,
)


def shaped(value: Any) -> dict[str, Any]:
    """Wrap a value into a plausible response / chunk skeleton, to reach deeper code."""
    return {
        "model": "m",
        "choices": [
            {"index": 0, "message": value, "delta": value, "finish_reason": None}
        ],
    }


class TestFuzz:
    @settings(max_examples=150)
    @given(json_values)
    def test_decode_response_raises_only_convo_errors(self, value):
        """decode_response(any JSON) returns a turn or raises a ConvoError."""
        for candidate in (value, shaped(value)):
            with contextlib.suppress(ConvoError):
                chat.decode_response(candidate)
            with contextlib.suppress(ConvoError):
                chat.decode_response(json.dumps(candidate).encode())

    @settings(max_examples=150)
    @given(st.lists(json_values, max_size=4))
    def test_the_assembler_raises_only_convo_errors(self, values):
        """Any sequence of JSON chunks folds, or raises a ConvoError; finish() never crashes."""
        assembler = chat.StreamAssembler()
        try:
            for value in values:
                assembler.feed_chunk(shaped(value))
                assembler.feed_chunk(value)
        except ConvoError:
            return
        with contextlib.suppress(ConvoError):
            assembler.finish()

    @settings(max_examples=100)
    @given(st.binary(max_size=300), st.lists(json_values, max_size=3))
    def test_raw_sse_bytes_raise_only_convo_errors(self, noise, values):
        """Arbitrary bytes, and data lines of arbitrary JSON, raise only ConvoError."""
        assembler = chat.StreamAssembler(max_line_bytes=10_000)
        data = noise + b"".join(
            b"data: " + json.dumps(shaped(v)).encode() + b"\n\n" for v in values
        )
        try:
            assembler.feed(data)
            assembler.finish()
        except ConvoError:
            pass

    @settings(max_examples=100)
    @given(st.lists(json_values, max_size=4))
    def test_import_messages_raises_only_convo_errors(self, values):
        """import_messages(any JSON list) gives turns or raises a ConvoError."""
        with contextlib.suppress(ConvoError):
            chat.import_messages(values)

    @settings(max_examples=100)
    @given(
        st.integers(100, 599),
        st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
    )
    def test_decode_error_never_raises(self, status, body):
        """decode_error returns an APIStatusError for any status and body."""
        error = chat.decode_error(status, body)
        assert error.status_code == status
        assert len(error.body_excerpt) <= 8192

    def test_huge_strings_numbers_and_depth_are_bounded(self):
        huge = b'{"choices":[{"message":{"content":"' + b"x" * 2_000_000 + b'"}}]}'
        try:
            chat.decode_response(huge, max_bytes=1_000_000)
        except ConvoError:
            pass
        else:  # pragma: no cover - the bound must trip
            raise AssertionError("no bound")
        for body in (
            b"[" * 100_000,
            b'{"choices": 1' + b"0" * 10_000 + b"}",
            b"1e999999",
        ):
            with contextlib.suppress(ConvoError):
                chat.decode_response(body)
        assembler = chat.StreamAssembler(max_line_bytes=1_000)
        try:
            assembler.feed(b"data: " + b"[" * 5_000)
        except ConvoError:
            pass
        else:  # pragma: no cover - the bound must trip
            raise AssertionError("no bound")

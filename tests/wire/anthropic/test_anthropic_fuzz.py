"""Fuzzing: arbitrary input into every Messages decoder raises only convo errors."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convo.errors import APIStatusError, ConvoError
from convo.wire.anthropic import (
    StreamAssembler,
    decode_error,
    decode_response,
    encode_sse,
    import_messages,
    message_events,
)

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "text",
            "thinking",
            "redacted_thinking",
            "tool_use",
            "tool_result",
            "image",
            "base64",
            "assistant",
            "user",
            "ephemeral",
            "\ud800",
            "a\x00b",
        ]
    ),
)
_KEYS = st.one_of(
    st.sampled_from(
        [
            "type",
            "text",
            "thinking",
            "signature",
            "data",
            "id",
            "name",
            "input",
            "content",
            "role",
            "model",
            "usage",
            "stop_reason",
            "index",
            "delta",
            "content_block",
            "message",
            "partial_json",
            "source",
            "media_type",
            "tool_use_id",
            "is_error",
            "cache_control",
            "input_tokens",
            "output_tokens",
            "error",
        ]
    ),
    st.text(max_size=6),
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5)
    ),
    max_leaves=25,
)
EVENT_TYPES = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
        "mystery",
    ]
)
DELTA_TYPES = st.sampled_from(
    [
        "text_delta",
        "thinking_delta",
        "signature_delta",
        "input_json_delta",
        "citations_delta",
        "x",
    ]
)
BLOCK_TYPES = st.sampled_from(
    ["text", "thinking", "redacted_thinking", "tool_use", "image"]
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """Stream events of real types with arbitrary, often wrong, fields."""
    event: dict[str, Any] = {"type": draw(EVENT_TYPES)}
    event["index"] = draw(st.one_of(st.integers(-1, 3), JSON_VALUES))
    event["delta"] = draw(
        st.one_of(
            st.fixed_dictionaries(
                {"type": DELTA_TYPES},
                optional={
                    "text": JSON_VALUES,
                    "thinking": JSON_VALUES,
                    "signature": JSON_VALUES,
                    "partial_json": st.sampled_from(['{"a"', ": 1}", "", "[", '"x"']),
                    "stop_reason": JSON_VALUES,
                    "citation": JSON_VALUES,
                },
            ),
            JSON_VALUES,
        )
    )
    event["content_block"] = draw(
        st.one_of(
            st.fixed_dictionaries(
                {"type": BLOCK_TYPES},
                optional={
                    "text": JSON_VALUES,
                    "thinking": JSON_VALUES,
                    "id": JSON_VALUES,
                    "name": JSON_VALUES,
                    "input": JSON_VALUES,
                    "data": JSON_VALUES,
                },
            ),
            JSON_VALUES,
        )
    )
    event["message"] = draw(JSON_VALUES)
    event["usage"] = draw(JSON_VALUES)
    event["error"] = draw(JSON_VALUES)
    return event


def only_convo_errors(action: Any) -> None:
    with contextlib.suppress(ConvoError):
        action()


class TestFuzzing:
    @settings(max_examples=150)
    @given(JSON_VALUES)
    def test_decode_response_raises_only_convo_errors(self, value: Any) -> None:
        """Any JSON value into decode_response: a Turn or a ConvoError."""
        only_convo_errors(lambda: decode_response(json.dumps(value).encode()))
        if isinstance(value, dict):
            only_convo_errors(lambda: decode_response(value))

    @settings(max_examples=100)
    @given(st.binary(max_size=64))
    def test_decode_response_of_arbitrary_bytes_raises_only_convo_errors(
        self, data: bytes
    ) -> None:
        only_convo_errors(lambda: decode_response(data))

    @settings(max_examples=150)
    @given(st.lists(JSON_VALUES, max_size=4), JSON_VALUES)
    def test_import_messages_raises_only_convo_errors(
        self, messages: Any, system: Any
    ) -> None:
        only_convo_errors(lambda: import_messages(messages, system=system))

    @settings(max_examples=150)
    @given(st.lists(st.one_of(events(), JSON_VALUES), max_size=12))
    def test_the_assembler_raises_only_convo_errors_on_any_event_sequence(
        self, chunks: list[Any]
    ) -> None:
        """Any event sequence into feed_chunk and finish: events or a ConvoError."""
        assembler = StreamAssembler()

        def run() -> None:
            for chunk in chunks:
                assembler.feed_chunk(chunk)
            assembler.finish()

        only_convo_errors(run)

    @settings(max_examples=100)
    @given(st.lists(st.binary(max_size=40), max_size=6))
    def test_the_assembler_raises_only_convo_errors_on_any_bytes(
        self, pieces: list[bytes]
    ) -> None:
        assembler = StreamAssembler()

        def run() -> None:
            for piece in pieces:
                assembler.feed(b"data: " + piece + b"\n\n")
                assembler.feed(piece)
            assembler.finish()

        only_convo_errors(run)

    @settings(max_examples=60)
    @given(st.data())
    def test_mutated_real_streams_raise_only_convo_errors(
        self, data: st.DataObject
    ) -> None:
        """A real stream with one event replaced by junk still fails only typed."""
        body = {
            "role": "assistant",
            "model": "m",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "S"},
                {"type": "text", "text": "hello"},
                {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}},
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 1, "output_tokens": 2},
        }
        stream = message_events(body, split=lambda s: list(s))
        index = data.draw(st.integers(0, len(stream) - 1))
        stream[index] = data.draw(events())
        assembler = StreamAssembler()

        def run() -> None:
            assembler.feed(encode_sse(stream))
            assembler.finish()

        only_convo_errors(run)

    @settings(max_examples=100)
    @given(
        st.integers(100, 599),
        st.one_of(
            st.binary(max_size=80), JSON_VALUES.map(lambda v: json.dumps(v).encode())
        ),
    )
    def test_decode_error_always_returns_a_status_error(
        self, status: int, body: bytes
    ) -> None:
        assert isinstance(decode_error(status, body), APIStatusError)

    @pytest.mark.parametrize(
        "body",
        [
            b"[" * 100_000,
            b'{"content": ' + b"1" * 5000 + b"}",
            b'{"content": NaN}',
            b"\xff\xfe\x00",
        ],
    )
    def test_pathological_bodies_are_rejected_as_decode_errors(
        self, body: bytes
    ) -> None:
        with pytest.raises(ConvoError):
            decode_response(body)

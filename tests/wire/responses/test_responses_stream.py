"""Stream assembly: event sequences (goldens) fold into the non-streamed turn."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convo._events import (
    Finished,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    UsageUpdate,
)
from convo._turns import FinishReason, PartialTurn, Turn
from convo.errors import StreamError
from convo.wire.responses import (
    StreamAssembler,
    decode_response,
    encode_sse,
    response_events,
)
from tests.wire._outcome import outcome
from tests.wire.responses._helpers import (
    CLAUDE_OR,
    GPT5,
    GPT_OSS_OR,
    assemble,
    load,
    raw,
    sse_chunks,
)

_CASES = [
    ("stream_reasoning_tool_call.sse", "response_reasoning_tool_call.json", CLAUDE_OR),
    ("stream_gpt5_phase.sse", "response_gpt5_phase.json", GPT5),
    ("stream_incomplete_empty_output.sse", "response_incomplete.json", GPT_OSS_OR),
]


class TestGoldenStreams:
    @pytest.mark.parametrize(("stream", "response", "target"), _CASES)
    def test_a_stream_assembles_to_the_turn_of_its_response(
        self, stream: str, response: str, target: object
    ) -> None:
        assert assemble(raw(stream), target=target) == decode_response(
            raw(response),
            target=target,  # type: ignore[arg-type]
        )

    def test_the_golden_stream_follows_the_spec_order(self) -> None:
        kinds = [c["type"] for c in sse_chunks(raw("stream_reasoning_tool_call.sse"))]
        assert kinds[:3] == [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
        ]
        assert kinds[-1] == "response.completed"
        assert kinds.index("response.reasoning_summary_text.delta") < kinds.index(
            "response.function_call_arguments.delta"
        )
        numbers = [
            c["sequence_number"]
            for c in sse_chunks(raw("stream_reasoning_tool_call.sse"))
        ]
        assert numbers == list(range(len(numbers)))

    def test_an_open_responses_stream_ends_with_done_and_an_openai_one_without(
        self,
    ) -> None:
        assert raw("stream_reasoning_tool_call.sse").endswith(b"data: [DONE]\n\n")
        assert not raw("stream_gpt5_phase.sse").endswith(b"[DONE]\n\n")

    def test_events_carry_text_reasoning_call_usage_and_finish(self) -> None:
        assembler = StreamAssembler(target=CLAUDE_OR)
        events = [
            e
            for chunk in sse_chunks(raw("stream_reasoning_tool_call.sse"))
            for e in assembler.feed_chunk(chunk)
        ]
        reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
        assert reasoning == "**Plan**\nLook up the weather.Then answer briefly."
        assert any(
            isinstance(e, ReasoningDelta) and e.encrypted == "gAAAAB-claude-blob-01"
            for e in events
        )
        calls = [e for e in events if isinstance(e, ToolCallDelta)]
        assert calls[0].id == "call_01"
        assert calls[0].name == "get_weather"
        assert "".join(c.arguments for c in calls) == '{"city":"Oslo"}'
        assert isinstance(events[-2], UsageUpdate)
        assert isinstance(events[-1], Finished)
        assert events[-1].finish_reason is FinishReason.TOOL_CALLS
        assert not any(isinstance(e, TextDelta) for e in events)

    def test_the_encrypted_content_comes_from_output_item_done_not_added_rr8(
        self,
    ) -> None:
        chunks = sse_chunks(raw("stream_reasoning_tool_call.sse"))
        added = next(c for c in chunks if c["type"] == "response.output_item.added")
        added["item"]["encrypted_content"] = "truncated"
        assembler = StreamAssembler(target=CLAUDE_OR)
        for chunk in chunks:
            assembler.feed_chunk(chunk)
        turn = outcome(assembler)
        assert isinstance(turn, Turn)
        assert "gAAAAB-claude-blob-01" in json.dumps(
            [p.data for p in turn.blocks[0].parts if hasattr(p, "data")]  # type: ignore[union-attr]
        )

    def test_an_error_midway_raises_stream_error_with_what_arrived(self) -> None:
        assembler = StreamAssembler(target=CLAUDE_OR)
        *head, error = sse_chunks(raw("stream_error_midway.sse"))[:-1]
        for chunk in head:
            assembler.feed_chunk(chunk)
        with pytest.raises(StreamError) as caught:
            assembler.feed_chunk(error)
        assert caught.value.error_type == "server_error"
        assert "stopped responding" in str(caught.value)
        partial = caught.value.partial
        assert isinstance(partial, PartialTurn)

    def test_a_stream_cut_before_its_terminal_event_is_partial(self) -> None:
        chunks = sse_chunks(raw("stream_gpt5_phase.sse"))[:-1]
        assembler = StreamAssembler(target=GPT5)
        for chunk in chunks:
            assembler.feed_chunk(chunk)
        result = outcome(assembler)
        assert isinstance(result, PartialTurn)
        assert result.missing == ("response.completed",)
        assert result.turn.text == "Hello there."

    def test_unknown_events_are_ignored_and_counted(self) -> None:
        assembler = StreamAssembler(target=GPT5)
        assert (
            assembler.feed_chunk({"type": "response.web_search_call.searching"}) == []
        )
        assert assembler.ignored == 1


class TestChunkingInvariance:
    @given(
        name=st.sampled_from([c[1] for c in _CASES]),
        delta=st.integers(min_value=1, max_value=40),
        split=st.integers(min_value=1, max_value=300),
        done=st.booleans(),
    )
    def test_any_delta_size_and_byte_split_gives_the_non_streamed_turn(
        self, name: str, delta: int, split: int, done: bool
    ) -> None:
        target = {c[1]: c[2] for c in _CASES}[name]
        body = load(name)
        data = encode_sse(response_events(body, chunk=delta), done=done)
        assert assemble(data, target=target, split=split) == decode_response(
            body, target=target
        )

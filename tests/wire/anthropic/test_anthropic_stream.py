"""Assembling streamed Messages answers: golden stream, chunking invariance, cut streams."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convo import (
    Finished,
    FinishReason,
    PartialTurn,
    ReasoningDelta,
    SummaryText,
    TextDelta,
    ToolCallDelta,
    Turn,
    UsageUpdate,
)
from convo.errors import (
    DecodeError,
    ResponseTooLargeError,
    StreamError,
    StreamInterruptedError,
)
from convo.testing.strategies import texts
from convo.wire.anthropic import (
    StreamAssembler,
    decode_response,
    encode_sse,
    message_events,
)
from tests.wire._outcome import outcome

FIXTURES = Path(__file__).parent / "fixtures"
TOOL_USE = json.loads((FIXTURES / "response_thinking_tool_use.json").read_text("utf-8"))
FINAL = json.loads((FIXTURES / "response_final_answer.json").read_text("utf-8"))
GOLDEN_SSE = (FIXTURES / "stream_thinking_tool_use.sse").read_bytes()


def assemble(data: bytes, sizes: list[int] | None = None) -> Turn | PartialTurn:
    assembler = StreamAssembler()
    if sizes is None:
        assembler.feed(data)
    else:
        start = 0
        for size in sizes:
            assembler.feed(data[start : start + size])
            start += size
        assembler.feed(data[start:])
    return outcome(assembler)


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """Messages API responses with every block kind, odd text and any stop reason."""
    block = st.one_of(
        st.builds(lambda t: {"type": "text", "text": t}, texts(min_size=1)),
        st.builds(
            lambda t, s: {"type": "thinking", "thinking": t, "signature": s},
            texts(),
            st.sampled_from(["", "SIG-1", "EqQBCkgIARAB=="]),
        ),
        st.builds(
            lambda d: {"type": "redacted_thinking", "data": d}, texts(min_size=1)
        ),
        st.builds(
            lambda i, args: {
                "type": "tool_use",
                "id": f"toolu_{i}",
                "name": "f",
                "input": args,
            },
            st.integers(0, 99),
            st.dictionaries(
                texts(max_size=5), st.integers() | texts(max_size=8), max_size=3
            ),
        ),
    )
    usage = st.fixed_dictionaries(
        {"input_tokens": st.integers(0, 10**6), "output_tokens": st.integers(0, 10**6)},
        optional={
            "cache_read_input_tokens": st.integers(0, 10**6),
            "cache_creation_input_tokens": st.integers(0, 10**6),
        },
    )
    return {
        "id": "msg_x",
        "type": "message",
        "role": "assistant",
        "model": draw(
            st.sampled_from(["claude-sonnet-4-5", "databricks-claude-opus-4-5"])
        ),
        "content": draw(st.lists(block, max_size=5)),
        "stop_reason": draw(
            st.sampled_from(
                ["end_turn", "tool_use", "max_tokens", "pause_turn", "refusal", "new"]
            )
        ),
        "stop_sequence": None,
        "usage": draw(usage),
    }


def cutter(sizes: list[int]) -> Callable[[str], list[str]]:
    def split(text: str) -> list[str]:
        pieces: list[str] = []
        start = 0
        for size in sizes:
            if start >= len(text):
                break
            pieces.append(text[start : start + size])
            start += size
        if start < len(text):
            pieces.append(text[start:])
        return pieces

    return split


class TestGoldenStream:
    def test_the_golden_stream_gives_the_non_streamed_turn(self) -> None:
        assert assemble(GOLDEN_SSE) == decode_response(TOOL_USE)

    def test_events_arrive_in_the_shared_vocabulary(self) -> None:
        events = StreamAssembler().feed(GOLDEN_SSE)
        kinds = {type(e) for e in events}
        assert kinds == {
            ReasoningDelta,
            TextDelta,
            ToolCallDelta,
            UsageUpdate,
            Finished,
        }
        signatures = [
            e.signature for e in events if isinstance(e, ReasoningDelta) and e.signature
        ]
        assert signatures == [
            "EqQBCkgIARABGAIiQL2nKPMvT8qsYdZ0UEXAMPLEONLY==",
            "EqwBCkgIARABGAIiQSIGNATUREONLYPART==",
        ]
        finished = events[-1]
        assert isinstance(finished, Finished)
        assert finished.finish_reason == FinishReason.TOOL_CALLS

    def test_unknown_event_types_and_pings_are_ignored_and_counted(self) -> None:
        assembler = StreamAssembler()
        assembler.feed(GOLDEN_SSE)
        assert assembler.ignored == 1

    def test_the_signature_only_part_keeps_its_signature(self) -> None:
        """Rule R21: the closing signature-only part is never dropped."""
        turn = assemble(GOLDEN_SSE)
        assert isinstance(turn, Turn)
        last = turn.reasoning[0].parts[-1]
        assert isinstance(last, SummaryText)
        assert (last.text, last.signature) == (
            "",
            "EqwBCkgIARABGAIiQSIGNATUREONLYPART==",
        )

    @pytest.mark.parametrize("newline", ["\r\n", "\r"])
    def test_crlf_and_cr_line_endings_are_separators(self, newline: str) -> None:
        data = encode_sse(message_events(FINAL), newline=newline)
        assert assemble(data, [7] * (len(data) // 7)) == decode_response(FINAL)

    def test_usage_is_the_last_snapshot_never_a_sum(self) -> None:
        """Rule R20: cumulative usage snapshots replace each other."""
        events = message_events(FINAL)
        events.insert(
            -1, {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 64}}
        )
        assembler = StreamAssembler()
        for event in events:
            assembler.feed_chunk(event)
        turn = outcome(assembler)
        assert isinstance(turn, Turn)
        assert turn.usage == decode_response(FINAL).usage


class TestChunkingInvariance:
    @settings(max_examples=40)
    @given(
        messages(),
        st.lists(st.integers(1, 40), max_size=30),
        st.lists(st.integers(1, 9)),
    )
    def test_any_split_of_bytes_and_deltas_gives_the_non_streamed_turn(
        self, body: dict[str, Any], byte_sizes: list[int], delta_sizes: list[int]
    ) -> None:
        """assemble(sse(events(m), split anywhere)) == decode_response(m)."""
        data = encode_sse(message_events(body, split=cutter(delta_sizes)))
        assert assemble(data, byte_sizes) == decode_response(body)

    def test_byte_by_byte_feeding_gives_the_same_turn(self) -> None:
        assert assemble(GOLDEN_SSE, [1] * len(GOLDEN_SSE)) == decode_response(TOOL_USE)


class TestCutStreams:
    def test_every_cut_gives_a_partial_turn_with_a_prefix_of_the_text_or_the_turn(
        self,
    ) -> None:
        """Cut at every byte: a Turn only once message_stop arrived, else a prefix."""
        data = encode_sse(message_events(FINAL, split=cutter([5] * 20)))
        full = decode_response(FINAL)
        previous = ""
        for offset in range(0, len(data) + 1, 3):
            result = StreamAssembler()
            result.feed(data[:offset])
            ended = outcome(result)
            if isinstance(ended, Turn):
                assert ended == full
                continue
            assert full.text.startswith(ended.turn.text)
            assert len(ended.turn.text) >= len(previous)
            previous = ended.turn.text
            assert "message_stop" in ended.missing

    def test_a_cut_tool_call_is_flagged_and_left_out_on_salvage(self) -> None:
        events = message_events(TOOL_USE, split=cutter([4] * 30))
        stop = max(
            i
            for i, e in enumerate(events)
            if e["type"] == "content_block_delta"
            and e["delta"]["type"] == "input_json_delta"
        )
        assembler = StreamAssembler()
        for event in events[:stop]:
            assembler.feed_chunk(event)
        ended = outcome(assembler)
        assert isinstance(ended, PartialTurn)
        assert "tool_call:toolu_01B arguments" in ended.missing
        salvaged = ended.salvage()
        assert [c.id for c in salvaged.tool_calls] == ["toolu_01A"]

    def test_a_cut_thinking_block_is_reported_missing_not_kept_unsigned(self) -> None:
        events = message_events(TOOL_USE, split=cutter([4] * 30))
        assembler = StreamAssembler()
        for event in events[:5]:
            assembler.feed_chunk(event)
        ended = outcome(assembler)
        assert isinstance(ended, PartialTurn)
        assert ended.turn.blocks == ()
        assert "thinking:0" in ended.missing

    def test_message_stop_without_a_stop_reason_raises_with_the_partial(self) -> None:
        events = [e for e in message_events(FINAL) if e["type"] != "message_delta"]
        assembler = StreamAssembler()
        for event in events[:-1]:
            assembler.feed_chunk(event)
        with pytest.raises(StreamInterruptedError) as info:
            assembler.feed_chunk(events[-1])
        assert isinstance(info.value.partial, PartialTurn)
        assert info.value.partial.missing == ("stop_reason",)
        assert outcome(assembler) == info.value.partial

    def test_an_error_event_raises_stream_error_with_the_partial_turn(self) -> None:
        data = (FIXTURES / "stream_error_midway.sse").read_bytes()
        with pytest.raises(StreamError) as info:
            StreamAssembler().feed(data)
        assert info.value.error_type == "overloaded_error"
        partial = info.value.partial
        assert isinstance(partial, PartialTurn)
        assert partial.turn.text == "Oslo: 3 °C, light snow. Lima: 19 °C, overcast."
        assert len(partial.turn.reasoning) == 1

    def test_an_error_event_wins_even_when_what_arrived_does_not_decode(
        self,
    ) -> None:
        assembler = StreamAssembler()
        assembler.feed_chunk(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "x"}}
        )
        assembler.feed_chunk({"type": "content_block_stop", "index": 0})
        with pytest.raises(StreamError) as info:
            assembler.feed_chunk({"type": "error", "error": {"type": "api_error"}})
        assert (info.value.error_type, info.value.partial) == ("api_error", None)

    def test_an_unterminated_last_event_is_not_dispatched(self) -> None:
        data = encode_sse(message_events(FINAL))
        ended = assemble(data[: data.rindex(b"\n\n") - 1])
        assert isinstance(ended, PartialTurn)


class TestBounds:
    def test_a_line_over_the_bound_raises(self) -> None:
        with pytest.raises(ResponseTooLargeError):
            StreamAssembler(max_line_bytes=64).feed(b"data: " + b"x" * 100)

    def test_too_many_events_raise(self) -> None:
        assembler = StreamAssembler(max_events=3)
        for _ in range(3):
            assembler.feed_chunk({"type": "ping"})
        with pytest.raises(ResponseTooLargeError):
            assembler.feed_chunk({"type": "ping"})

    def test_a_block_index_over_the_bound_raises(self) -> None:
        start = {
            "type": "content_block_start",
            "index": 5,
            "content_block": {"type": "text"},
        }
        with pytest.raises(ResponseTooLargeError):
            StreamAssembler(max_blocks=5).feed_chunk(start)

    def test_a_delta_for_a_block_never_started_is_a_decode_error(self) -> None:
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "x"},
        }
        with pytest.raises(DecodeError):
            StreamAssembler().feed_chunk(delta)


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(
        f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events
    )


_START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "model": "claude",
        "role": "assistant",
        "content": [],
        "usage": {"input_tokens": 1, "output_tokens": 0},
    },
}


class TestMalformedEvents:
    """Issue 13's escapes: a malformed event is a DecodeError, never a raw TypeError or KeyError."""

    @pytest.mark.parametrize("kind", [{"x": 1}, ["text_delta"], 7, None])
    def test_a_delta_type_that_is_not_a_string_is_a_decode_error(
        self, kind: object
    ) -> None:
        data = _sse(
            _START,
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {"type": "content_block_delta", "index": 0, "delta": {"type": kind}},
        )
        with pytest.raises(DecodeError, match=r"delta\.type"):
            StreamAssembler().feed(data)

    @pytest.mark.parametrize("block", [{}, {"id": 3}, {"id": ""}])
    def test_a_tool_use_block_without_an_id_is_a_decode_error_even_left_open(
        self, block: dict[str, Any]
    ) -> None:
        start = {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "name": "f", "input": {}, **block},
        }
        assembler = StreamAssembler()
        with pytest.raises(DecodeError, match=r"content_block\.id"):
            assembler.feed(_sse(_START, start))

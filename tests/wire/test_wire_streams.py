"""One streaming design: every format's `StreamAssembler` has the same shape and laws."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convo.wire.anthropic
import convo.wire.chat
from convo import PartialTurn, Turn
from convo.errors import DecodeError, ResponseTooLargeError
from convo.wire import WireFormat
from convo.wire._shared._stream import BaseStreamAssembler
from tests.wire._outcome import outcome

HERE = Path(__file__).parent
STREAMS: dict[str, tuple[type[BaseStreamAssembler], bytes]] = {
    "chat": (
        convo.wire.chat.StreamAssembler,
        (HERE / "chat/fixtures/wf_2_claude_stream.sse").read_bytes(),
    ),
    "anthropic": (
        convo.wire.anthropic.StreamAssembler,
        (HERE / "anthropic/fixtures/stream_thinking_tool_use.sse").read_bytes(),
    ),
}
FORMATS: dict[str, WireFormat] = {
    "chat": convo.wire.chat,
    "anthropic": convo.wire.anthropic,
}
NAMES = sorted(STREAMS)


def whole(name: str) -> Turn | PartialTurn:
    cls, data = STREAMS[name]
    assembler = cls()
    assembler.feed(data)
    return outcome(assembler)


class TestOneShape:
    @pytest.mark.parametrize("name", NAMES)
    def test_every_assembler_is_the_shared_base(self, name: str) -> None:
        assert FORMATS[name].StreamAssembler is STREAMS[name][0]
        assert issubclass(STREAMS[name][0], BaseStreamAssembler)

    @pytest.mark.parametrize("name", NAMES)
    def test_a_recorded_stream_assembles_to_a_turn(self, name: str) -> None:
        assert isinstance(whole(name), Turn)

    @pytest.mark.parametrize("name", NAMES)
    def test_a_finished_stream_is_partial_only_for_the_end_of_stream(
        self, name: str
    ) -> None:
        cls, data = STREAMS[name]
        assembler = cls()
        assembler.feed(data)
        partial = assembler.partial()
        assert partial is not None
        assert (partial.turn, partial.missing) == (whole(name), ("end of stream",))

    @pytest.mark.parametrize("name", NAMES)
    def test_a_cut_stream_is_partial_and_says_what_is_missing(self, name: str) -> None:
        cls, data = STREAMS[name]
        assembler = cls()
        assembler.feed(data[: len(data) // 2])
        partial = assembler.partial()
        assert isinstance(partial, PartialTurn)
        assert partial.missing
        assert isinstance(outcome(assembler), PartialTurn)

    @pytest.mark.parametrize("name", NAMES)
    def test_an_unterminated_last_event_is_never_dispatched(self, name: str) -> None:
        cls, _ = STREAMS[name]
        assembler = cls()
        assert assembler.feed(b'data: {"type": "ping"') == []
        assert assembler.events == 0

    @pytest.mark.parametrize("name", NAMES)
    def test_deep_nesting_in_an_event_is_refused(self, name: str) -> None:
        assembler = STREAMS[name][0](max_depth=10)
        with pytest.raises(DecodeError, match="deeper than"):
            assembler.feed(b"data: " + b"[" * 50 + b"]" * 50 + b"\n\n")

    @pytest.mark.parametrize("name", NAMES)
    def test_the_event_bound_counts_chunks_the_same_way(self, name: str) -> None:
        assembler = STREAMS[name][0](max_events=2)
        with pytest.raises(ResponseTooLargeError):
            assembler.feed(b'data: {"type": "ping"}\n\n' * 3)

    @pytest.mark.parametrize("name", NAMES)
    def test_nothing_after_done_is_read(self, name: str) -> None:
        cls, data = STREAMS[name]
        assembler = cls()
        assembler.feed(b"data: [DONE]\n\n" + data)
        assert assembler.done
        assert assembler.events == 0


class TestChunkingInvariance:
    @settings(max_examples=25)
    @given(st.sampled_from(NAMES), st.lists(st.integers(1, 97), max_size=30))
    def test_any_split_of_the_bytes_gives_the_same_turn(
        self, name: str, sizes: list[int]
    ) -> None:
        cls, data = STREAMS[name]
        assembler = cls()
        at = 0
        for size in sizes:
            assembler.feed(data[at : at + size])
            at += size
        assembler.feed(data[at:])
        assert outcome(assembler) == whole(name)

"""SSE framing and bounded body decoding."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convo.client._sse import BodyDecoder, SSEEvent, SSEParser
from convo.errors import DecodeError, ResponseTooLargeError
from tests.client._client_support import stream_bytes

BIG = 1 << 20


def parse(*pieces: bytes, **limits: int) -> list[SSEEvent]:
    limits.setdefault("max_line_bytes", BIG)
    limits.setdefault("max_events", BIG)
    parser = SSEParser(**limits)
    events: list[SSEEvent] = []
    for piece in pieces:
        events.extend(parser.feed(piece))
    return events


FRAME = (
    b'event: delta\ndata: {"a":1}\n: comment\nid: 7\ndata: \xd0\x9f\xd1\x80\xd0\xb8\n\n'
)
EXPECTED = [SSEEvent(event="delta", data='{"a":1}\n\u041f\u0440\u0438')]


class TestSSEParser:
    @pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
    def test_every_split_point_gives_the_same_events_for_every_line_ending(self, eol):
        frame = FRAME.replace(b"\n", eol)
        for cut in range(len(frame) + 1):
            assert parse(frame[:cut], frame[cut:]) == EXPECTED, cut

    def test_one_byte_fragments_mixing_endings_and_utf8(self):
        frame = b"data: \xd0\x9f\r\ndata: x\rdata: y\n\r\n"
        pieces = [frame[i : i + 1] for i in range(len(frame))]
        assert parse(*pieces) == [SSEEvent(event=None, data="П\nx\ny")]

    def test_an_unterminated_final_event_is_never_dispatched(self):
        assert parse(b"data: 1\n\ndata: 2\n") == [SSEEvent(event=None, data="1")]

    def test_a_line_over_the_limit_raises(self):
        with pytest.raises(ResponseTooLargeError) as info:
            parse(b"data: " + b"x" * 100, max_line_bytes=50)
        assert info.value.limit == 50

    def test_an_event_whose_data_lines_add_up_past_the_limit_raises(self):
        with pytest.raises(ResponseTooLargeError):
            parse(b"data: xxxxxxxx\n" * 20, max_line_bytes=100)

    def test_more_events_than_the_limit_raises(self):
        with pytest.raises(ResponseTooLargeError):
            parse(b"data: 1\n\n" * 11, max_events=10)

    def test_invalid_utf8_is_a_decode_error(self):
        with pytest.raises(DecodeError):
            parse(b"data: \xff\n\n")

    def test_ten_thousand_data_lines_stay_linear(self):
        events = parse(b"data: x\n" * 10_000 + b"\n")
        assert events[0].data.count("\n") == 9_999

    @given(st.lists(st.integers(min_value=0, max_value=2000), max_size=8))
    def test_chunking_never_changes_the_events(self, cuts):
        """Any split of a real stream gives the events of the unsplit stream."""
        data = stream_bytes()
        points = sorted({min(c, len(data)) for c in cuts})
        pieces = [
            data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)
        ]
        assert parse(*pieces) == parse(data)


class TestBodyDecoder:
    def test_gzip_is_decoded_in_pieces(self):
        decoder = BodyDecoder("gzip", max_bytes=BIG)
        data = gzip.compress(b"hello " * 1000)
        out = b"".join(
            p for i in range(0, len(data), 7) for p in decoder.decode(data[i : i + 7])
        )
        assert out + b"".join(decoder.flush()) == b"hello " * 1000

    @pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
    def test_deflate_accepts_zlib_and_raw_streams(self, wbits):
        compressor = zlib.compressobj(wbits=wbits)
        data = compressor.compress(b"abc" * 50) + compressor.flush()
        decoder = BodyDecoder("deflate", max_bytes=BIG)
        assert b"".join(decoder.decode(data) + decoder.flush()) == b"abc" * 50

    def test_a_gzip_bomb_stops_at_the_bound(self):
        bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))
        decoder = BodyDecoder("gzip", max_bytes=1024 * 1024)
        with pytest.raises(ResponseTooLargeError):
            decoder.decode(bomb)
        assert decoder.total <= 1024 * 1024 + 64 * 1024

    def test_identity_counts_bytes(self):
        decoder = BodyDecoder(None, max_bytes=10)
        decoder.decode(b"x" * 10)
        with pytest.raises(ResponseTooLargeError):
            decoder.decode(b"x")

    def test_an_unknown_encoding_is_refused(self):
        with pytest.raises(DecodeError):
            BodyDecoder("br", max_bytes=10)

    def test_corrupt_gzip_is_a_decode_error(self):
        with pytest.raises(DecodeError):
            BodyDecoder("gzip", max_bytes=BIG).decode(b"not gzip at all")

"""Every stream assembler (chat, Anthropic, Responses) is a bounded, typed reader.

Issue 13: `feed()` once was quadratic on a long line fed in pieces (4 MiB in
1 KiB pieces: 7.0 s chat, 4.4 s Anthropic) and accepted 300 x 1 MiB `data:`
lines into one event; a builtin exception raised while folding a hostile
chunk escaped `feed()`, and `partial()` let it through.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import convo.wire.anthropic
import convo.wire.chat
import convo.wire.responses
from convo.errors import DecodeError, ResponseTooLargeError
from convo.wire._shared._stream import BaseStreamAssembler

ASSEMBLERS: dict[str, type[BaseStreamAssembler]] = {
    "chat": convo.wire.chat.StreamAssembler,
    "anthropic": convo.wire.anthropic.StreamAssembler,
    "responses": convo.wire.responses.StreamAssembler,
}
NAMES = sorted(ASSEMBLERS)

KIB = 1024
MIB = 1024 * KIB


def _feed_one_line(cls: type[BaseStreamAssembler], size: int) -> float:
    """Seconds `feed()` takes for a `data:` line of `size` bytes in 1 KiB pieces."""
    assembler = cls()
    piece = b"x" * KIB
    pieces = [b"data: ", *([piece] * (size // KIB))]
    start = time.perf_counter()
    for part in pieces:
        assert assembler.feed(part) == []
    return time.perf_counter() - start


class TestALongLineFedInPieces:
    @pytest.mark.parametrize("name", NAMES)
    def test_a_4_mib_line_costs_about_64_times_a_64_kib_line(self, name: str) -> None:
        # Linear: 64 times the bytes, about 64 times the time. Quadratic (the
        # bug) was 4096 times. The ratio is measured in this test, on this
        # machine, best of a few runs, so a loaded CI box shifts both sides.
        cls = ASSEMBLERS[name]
        small = min(_feed_one_line(cls, 64 * KIB) for _ in range(7))
        large = min(_feed_one_line(cls, 4 * MIB) for _ in range(2))
        assert large / small < 640, f"{large:.4f} s vs {small:.6f} s"

    @pytest.mark.parametrize("name", NAMES)
    def test_the_line_then_completes_into_one_event(self, name: str) -> None:
        assembler = ASSEMBLERS[name]()
        assembler.feed(b"data: [DO")
        assembler.feed(b"NE]\n")
        assembler.feed(b"\n")
        assert assembler.done


class TestOneEventsDataIsBounded:
    @pytest.mark.parametrize("name", NAMES)
    def test_300_data_lines_of_1_mib_in_one_event_are_refused(self, name: str) -> None:
        assembler = ASSEMBLERS[name]()
        line = b"data: " + b"x" * (MIB - 7) + b"\n"

        accepted: list[int] = []

        def feed_300_lines() -> None:
            for n in range(300):
                assembler.feed(line)
                accepted.append(n)

        with pytest.raises(ResponseTooLargeError) as caught:
            feed_300_lines()
        # Refused at the event bound (the default: 8 MiB chat, 64 MiB the
        # others), not after 300 MiB.
        bound = assembler.max_line_bytes
        assert bound <= 64 * MIB
        assert len(accepted) == bound // MIB
        assert caught.value.limit == bound
        assert "event size" in str(caught.value)

    @pytest.mark.parametrize("name", NAMES)
    def test_the_event_bound_is_the_assemblers_max_line_bytes(self, name: str) -> None:
        assembler = ASSEMBLERS[name](max_line_bytes=100)
        with pytest.raises(ResponseTooLargeError):
            assembler.feed(b"data: xxxxxxxx\n" * 20)


def _raising(
    cls: type[BaseStreamAssembler], where: str, exc: Exception
) -> BaseStreamAssembler:
    """An assembler of `cls` with a bug planted: `where` raises `exc`."""

    def boom(*_args: Any) -> Any:
        raise exc

    planted: dict[str, Callable[..., Any]] = {where: boom}
    assembler: BaseStreamAssembler = type(f"Planted{cls.__name__}", (cls,), planted)()
    return assembler


class TestAHostileStreamGetsATypedError:
    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize(
        "exc", [KeyError("id"), TypeError("unhashable type: 'dict'"), IndexError()]
    )
    def test_a_builtin_exception_while_folding_is_a_decode_error(
        self, name: str, exc: Exception
    ) -> None:
        assembler = _raising(ASSEMBLERS[name], "_fold", exc)
        with pytest.raises(DecodeError) as caught:
            assembler.feed(b'data: {"type": "ping"}\n\n')
        assert caught.value.__cause__ is exc
        assert type(exc).__name__ in str(caught.value)

    @pytest.mark.parametrize("name", NAMES)
    def test_feed_chunk_converts_the_same_way(self, name: str) -> None:
        assembler = _raising(ASSEMBLERS[name], "_fold", KeyError("id"))
        chunk: Mapping[str, Any] = {"type": "ping"}
        with pytest.raises(DecodeError):
            assembler.feed_chunk(chunk)

    @pytest.mark.parametrize("name", NAMES)
    def test_finish_converts_a_builtin_exception_while_assembling(
        self, name: str
    ) -> None:
        exc = KeyError("id")
        assembler = _raising(ASSEMBLERS[name], "_assemble", exc)
        with pytest.raises(DecodeError) as caught:
            assembler.finish()
        assert caught.value.__cause__ is exc

    @pytest.mark.parametrize("name", NAMES)
    def test_partial_is_none_when_assembling_raises_a_builtin_exception(
        self, name: str
    ) -> None:
        assembler = _raising(ASSEMBLERS[name], "_assemble", KeyError("id"))
        assert assembler.partial() is None

    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize("data", ["data: {}\n\n", None, 42, ["data: {}"]])
    def test_feed_of_anything_but_bytes_is_a_decode_error(
        self, name: str, data: Any
    ) -> None:
        with pytest.raises(DecodeError, match="reads bytes"):
            ASSEMBLERS[name]().feed(data)

    @pytest.mark.parametrize("name", NAMES)
    def test_a_bytearray_is_read_like_bytes(self, name: str) -> None:
        assembler = ASSEMBLERS[name]()
        data: Any = bytearray(b"data: [DONE]\n\n")
        assembler.feed(data)
        assert assembler.done

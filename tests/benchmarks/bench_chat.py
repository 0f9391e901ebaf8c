"""Benchmarks of the chat wire (issue 3), as ratios against floors measured in this run.

1. Encoding a 1,000-turn conversation cold (no memo) into canonical bytes must
   take at most 1.5x `json.dumps` of the equivalent plain payload dicts.
2. The next request after one more exchange, per-turn encodings reused, must
   take at most 0.5x that same `json.dumps`.
3. Assembling a 3,000-chunk SSE stream must be at least as fast as the `openai`
   SDK's own accumulator (`ChatCompletionStreamState`, fed the same chunks parsed
   from the same bytes) and within 3x of a hand loop that splits the SSE lines,
   parses each JSON chunk and only concatenates the text.

Run: `.venv/bin/python tests/benchmarks/bench_chat.py`; exits 1 when a bound breaks.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convo import (
    Provenance,
    ReasoningBlock,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    get_target,
)
from convo.wire import chat

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks._report import Report

TARGET = get_target("databricks-claude-sonnet-4-5")
PROV = Provenance(provider="anthropic", family="claude", model=TARGET.name)
WORDS = "the quick brown fox jumps over the lazy dog while convo keeps state "


def conversation(n: int, seed: int = 0) -> list[Turn]:
    """A realistic history of about `n` turns: text, reasoning, tool sessions."""
    turns: list[Turn] = [Turn(role="system", blocks=(TextBlock(text=WORDS * 8),))]
    i = 0
    while len(turns) < n:
        turns.append(
            Turn(role="user", blocks=(TextBlock(text=f"{seed}:{i} " + WORDS * 3),))
        )
        reasoning = ReasoningBlock(
            parts=(SummaryText(text=WORDS * 4, signature="SIG" + "x" * 200),),
            provenance=PROV,
        )
        if i % 5 == 4:
            turns.append(
                Turn(
                    role="assistant",
                    blocks=(
                        reasoning,
                        ToolCallBlock(
                            id=f"call_{i}", name="lookup", arguments='{"q":"fox"}'
                        ),
                    ),
                )
            )
            turns.append(
                Turn(
                    role="tool",
                    blocks=(ToolResultBlock(call_id=f"call_{i}", content=WORDS * 5),),
                )
            )
        else:
            turns.append(
                Turn(role="assistant", blocks=(reasoning, TextBlock(text=WORDS * 6)))
            )
        i += 1
    return turns[:n]


def best(fn: Callable[[], Any], *, repeat: int = 7) -> float:
    """The fastest of `repeat` runs of `fn`, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def best_with(
    fn: Callable[[list[Turn]], Any], setup: Callable[[], list[Turn]], *, repeat: int = 7
) -> float:
    """The fastest of `repeat` runs of `fn(setup())`, setup left out of the time."""
    times = []
    for _ in range(repeat):
        arg = setup()
        start = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - start)
    return min(times)


def bench_encoding() -> list[tuple[str, float, float, str]]:
    base = conversation(1000)
    plain = chat.encode_request(base, target=TARGET)
    floor = best(lambda: json.dumps(plain))

    def fresh() -> list[Turn]:
        return [Turn(role=t.role, blocks=t.blocks) for t in base]

    cold = best_with(
        lambda turns: chat.encode_request_bytes(turns, target=TARGET), fresh
    )

    warm_turns = fresh()
    chat.encode_request_bytes(warm_turns, target=TARGET)
    extra = conversation(3, seed=1)[1:]

    def next_turns() -> list[Turn]:
        return warm_turns + [Turn(role=t.role, blocks=t.blocks) for t in extra]

    nxt = best_with(
        lambda turns: chat.encode_request_bytes(turns, target=TARGET), next_turns
    )
    return [
        ("encode 1,000 turns cold / json.dumps", cold / floor, 1.5, "<="),
        ("next request with memo / json.dumps", nxt / floor, 0.5, "<="),
    ]


def sse_stream(n: int) -> bytes:
    """A Databricks-style text stream (string deltas; usage on the last chunk).

    Text only, so the `openai` accumulator (which takes no list-form deltas)
    and the hand loop process exactly the same bytes as convo.
    """
    lines = []
    for i in range(n):
        delta: dict[str, Any] = {"role": "assistant", "content": f"word{i} "}
        chunk = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1767225600,
            "model": TARGET.name,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        lines.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    final = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1767225600,
        "model": TARGET.name,
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": n, "total_tokens": 10 + n},
    }
    lines.append(b"data: " + json.dumps(final).encode() + b"\n\n")
    lines.append(b"data: [DONE]\n\n")
    return b"".join(lines)


def bench_stream() -> list[tuple[str, float, float, str]]:
    data = sse_stream(3000)
    pieces = [data[i : i + 512] for i in range(0, len(data), 512)]

    def hand() -> str:
        text = ""
        buf = b""
        for piece in pieces:
            buf += piece
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if line.startswith(b"data: ") and line != b"data: [DONE]":
                    chunk = json.loads(line[6:])
                    for c in chunk["choices"]:
                        content = c["delta"].get("content")
                        if isinstance(content, str):
                            text += content
        return text

    def ours() -> Any:
        assembler = chat.StreamAssembler(target=TARGET)
        for piece in pieces:
            assembler.feed(piece)
        return assembler.finish()

    from openai.lib.streaming.chat._completions import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    def sdk() -> Any:
        state: Any = ChatCompletionStreamState()
        buf = b""
        for piece in pieces:
            buf += piece
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if line.startswith(b"data: ") and line != b"data: [DONE]":
                    state.handle_chunk(
                        ChatCompletionChunk.construct(**json.loads(line[6:]))
                    )
        return state

    turn = ours()
    if not isinstance(turn, Turn) or turn.text != hand():
        print("FAIL the assembled text differs from the hand loop's")
        raise SystemExit(1)
    t_hand = best(hand, repeat=5)
    t_ours = best(ours, repeat=5)
    try:
        t_sdk = best(sdk, repeat=3)
    except Exception as exc:  # noqa: BLE001 - report what the SDK did
        print(f"openai accumulator failed: {exc!r}")
        t_sdk = float("inf")
    return [
        ("stream 3,000 chunks / openai accumulator", t_ours / t_sdk, 1.0, "<="),
        ("stream 3,000 chunks / hand loop", t_ours / t_hand, 3.0, "<="),
    ]


def main() -> int:
    report = Report("chat")
    for name, ratio, bound, _ in bench_encoding() + bench_stream():
        report.ratio(name, ratio, at_most=bound)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

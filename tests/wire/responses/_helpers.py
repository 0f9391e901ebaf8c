"""Shared test data of the responses wire tests: fixtures, targets, SSE replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from convo._turns import PartialTurn, Turn
from convo.client._sse import SSEParser
from convo.targets import route_target
from convo.wire.responses import StreamAssembler
from tests.wire._outcome import outcome

FIXTURES = Path(__file__).parent / "fixtures"

CLAUDE_OR = route_target("open-responses", "databricks-claude-sonnet-4-5")
GEMINI_OR = route_target("open-responses", "databricks-gemini-3-pro")
GPT_OSS_OR = route_target("open-responses", "databricks-gpt-oss-120b")
GPT5 = route_target("responses", "databricks-gpt-5-1")
CLAUDE_GW = route_target("ai-gateway", "system.ai.claude-sonnet-4-5")
GEMINI_GW = route_target("ai-gateway", "system.ai.gemini-3-pro")


def load(name: str) -> Any:
    """A JSON fixture, parsed."""
    return json.loads((FIXTURES / name).read_text("utf-8"))


def raw(name: str) -> bytes:
    """A fixture's bytes."""
    return (FIXTURES / name).read_bytes()


def sse_chunks(data: bytes, *, split: int = 0) -> list[dict[str, Any]]:
    """The JSON payloads of an SSE stream, fed `split` bytes at a time (0: whole)."""
    parser = SSEParser(max_line_bytes=1 << 20, max_events=100_000)
    pieces = (
        [data]
        if not split
        else [data[i : i + split] for i in range(0, len(data), split)]
    )
    out: list[dict[str, Any]] = []
    for piece in pieces:
        for event in parser.feed(piece):
            if event.data.strip() != "[DONE]":
                out.append(json.loads(event.data))
    return out


def assemble(data: bytes, *, target: Any, split: int = 0) -> Turn | PartialTurn:
    """Feed a whole SSE stream to a `StreamAssembler` and finish it."""
    assembler = StreamAssembler(target=target)
    for chunk in sse_chunks(data, split=split):
        assembler.feed_chunk(chunk)
    return outcome(assembler)

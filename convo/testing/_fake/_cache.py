"""Simulated Claude prompt caching: prefixes hashed block by block, entries with a ttl.

A request is cut into blocks in prefix order (tools → system → messages; every
content part, tool call and tool result is one block). Each block's canonical
JSON, with its `cache_control` removed, feeds a running SHA-256, so block i's
digest names the whole prefix up to it; tokens are estimated as bytes / 4. The
`thinking` and `tool_choice` settings are mixed in before the first message, so
changing them invalidates messages but not tools or system, as Anthropic documents.

A read looks back at most 20 blocks from each breakpoint for a live entry; writes
happen only at breakpoints whose prefix reaches the model's minimum cacheable
length. Entries written by a request become visible to the next one. A hit
refreshes the entry's ttl. Invariant: read + creation + uncached == total input.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["Block", "CacheUsage", "PromptCache", "blocks_of", "estimate_tokens"]

_LOOKBACK = 20
_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def estimate_tokens(data: bytes | str) -> int:
    """The fake's token estimate: one token per 4 bytes, rounded up."""
    size = (
        len(data.encode("utf-8", "surrogatepass"))
        if isinstance(data, str)
        else len(data)
    )
    return math.ceil(size / 4)


def _canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8", "surrogatepass")


def _strip_marker(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _strip_marker(v) for k, v in value.items() if k != "cache_control"}
    return value


@attrs.frozen(kw_only=True)
class Block:
    """One cacheable block: the prefix digest up to it, tokens up to it, its marker ttl if marked."""

    digest: str
    tokens: int
    ttl: str | None


def blocks_of(body: Mapping[str, Any], *, model: str) -> tuple[Block, ...]:
    """The request's blocks in prefix order with cumulative digests and token counts."""
    running = hashlib.sha256(model.encode())
    total = 0
    out: list[Block] = []

    def add(value: Any, marker: Any) -> None:
        nonlocal total
        data = _canonical(_strip_marker(value))
        running.update(len(data).to_bytes(8, "big"))
        running.update(data)
        total += estimate_tokens(data)
        ttl = marker.get("ttl", "5m") if isinstance(marker, Mapping) else None
        out.append(Block(digest=running.hexdigest(), tokens=total, ttl=ttl))

    for tool in body.get("tools") or ():
        function = tool.get("function") if isinstance(tool, Mapping) else None
        marker = tool.get("cache_control") if isinstance(tool, Mapping) else None
        if marker is None and isinstance(function, Mapping):
            marker = function.get("cache_control")
        add(tool, marker)
    messages = [m for m in body.get("messages") or () if isinstance(m, Mapping)]
    system = [m for m in messages if m.get("role") == "system"]
    rest = [m for m in messages if m.get("role") != "system"]
    for group, is_system in ((system, True), (rest, False)):
        if not is_system:
            running.update(
                _canonical(
                    {
                        "thinking": body.get("thinking"),
                        "tool_choice": body.get("tool_choice"),
                    }
                )
            )
        for msg in group:
            role = msg.get("role")
            content = msg.get("content")
            if isinstance(content, str):
                # Claude sees a string content as one text block, so both forms
                # cache alike (a marker moving off a turn changes its form).
                content = [{"type": "text", "text": content}]
            if isinstance(content, list):
                for part in content:
                    marker = (
                        part.get("cache_control") if isinstance(part, Mapping) else None
                    )
                    add(
                        {"role": role, "part": part, "id": msg.get("tool_call_id")},
                        marker,
                    )
            for call in msg.get("tool_calls") or ():
                marker = (
                    call.get("cache_control") if isinstance(call, Mapping) else None
                )
                add({"role": role, "call": call}, marker)
    return tuple(out)


@attrs.frozen(kw_only=True)
class CacheUsage:
    """Input tokens of one request split into cache reads, cache writes and the rest."""

    total: int
    read: int = 0
    creation_5m: int = 0
    creation_1h: int = 0

    @property
    def creation(self) -> int:
        """All tokens written to the cache by this request."""
        return self.creation_5m + self.creation_1h

    @property
    def uncached(self) -> int:
        """Input tokens neither read from nor written to the cache."""
        return self.total - self.read - self.creation


@attrs.define
class _Entry:
    tokens: int
    ttl: str
    expires: float


class PromptCache:
    """The fake endpoint's cache of prefix digests; not thread-safe (the endpoint locks it)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def account(
        self, blocks: tuple[Block, ...], *, min_tokens: int | None
    ) -> CacheUsage:
        """Reads and writes of a request made of `blocks`; records its writes for later requests."""
        total = blocks[-1].tokens if blocks else 0
        if min_tokens is None:
            return CacheUsage(total=total)
        now = self._clock()
        self._entries = {k: e for k, e in self._entries.items() if e.expires > now}
        marks = [i for i, b in enumerate(blocks) if b.ttl is not None]
        read = 0
        for mark in marks:
            for index in range(mark, max(-1, mark - _LOOKBACK), -1):
                entry = self._entries.get(blocks[index].digest)
                if entry is not None:
                    entry.expires = now + _TTL_SECONDS[entry.ttl]
                    read = max(read, entry.tokens)
                    break
        written = {"5m": 0, "1h": 0}
        covered = read
        for mark in marks:
            block = blocks[mark]
            if block.tokens < min_tokens or block.tokens <= covered:
                continue
            ttl = block.ttl or "5m"
            written[ttl] += block.tokens - covered
            covered = block.tokens
            self._entries[block.digest] = _Entry(
                block.tokens, ttl, now + _TTL_SECONDS[ttl]
            )
        return CacheUsage(
            total=total, read=read, creation_5m=written["5m"], creation_1h=written["1h"]
        )

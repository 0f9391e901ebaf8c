"""Token usage from any format's `usage` object, driven by a per-format field map.

A format describes where each `Usage` field lives (`UsageFields`): a tuple of
alternative paths per field, the first present one winning (chat reads
`cache_read_input_tokens` or else `prompt_tokens_details.cached_tokens`).
Every count must be a non-negative integer and every nested details object an
object; anything else is a `DecodeError` naming the path.

`prompt_adds_cache` is for routes whose input count excludes cached tokens
(Anthropic's `input_tokens` counts only what follows the last cache
breakpoint): the prompt is then input + cache reads + cache writes.
`total_is_sum` derives the total when the route sends none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from convo._turns import Usage
from convo.wire._shared._json import fail

__all__ = ["Path", "UsageFields", "parse_usage"]

Path = tuple[str, ...]


@attrs.frozen
class UsageFields:
    """Where a format puts each usage count (alternatives, first present wins)."""

    prompt: tuple[Path, ...]
    completion: tuple[Path, ...]
    total: tuple[Path, ...] = ()
    cache_read: tuple[Path, ...] = ()
    cache_write: tuple[Path, ...] = ()
    reasoning: tuple[Path, ...] = ()
    prompt_adds_cache: bool = False
    total_is_sum: bool = False


def _count(value: Mapping[str, Any], path: Path, *, where: str) -> int | None:
    node = value
    here = where
    for key in path[:-1]:
        here = f"{here}.{key}"
        inner = node.get(key)
        if inner is None:
            return None
        if not isinstance(inner, Mapping):
            raise fail(f"{key} must be an object", where=here, received=inner)
        node = inner
    raw = node.get(path[-1])
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise fail(
            "A token count must be a non-negative integer",
            where=f"{here}.{path[-1]}",
            received=raw,
        )
    return raw


def _first(value: Mapping[str, Any], paths: tuple[Path, ...], where: str) -> int | None:
    found: int | None = None
    for path in paths:
        count = _count(value, path, where=where)
        if found is None:
            found = count
    return found


def parse_usage(value: object, fields: UsageFields, *, where: str) -> Usage | None:
    """`value` (a format's `usage` object, or None) as `Usage`.

    Raises:
        DecodeError: `usage`, a details object or a count has the wrong type.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise fail("usage must be an object", where=where, received=value)
    prompt = _first(value, fields.prompt, where)
    completion = _first(value, fields.completion, where)
    read = _first(value, fields.cache_read, where)
    write = _first(value, fields.cache_write, where)
    if fields.prompt_adds_cache and prompt is not None:
        prompt += (read or 0) + (write or 0)
    total = _first(value, fields.total, where)
    if total is None and fields.total_is_sum and None not in (prompt, completion):
        total = (prompt or 0) + (completion or 0)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=_first(value, fields.reasoning, where),
    )

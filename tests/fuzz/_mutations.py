"""Inputs for the fuzz harness: golden fixtures, mutated at the byte and the JSON level.

Every strategy starts from real documents (the repository's golden fixtures),
so most cases get past the first checks and reach the deep parts of a reader.
Byte mutations flip, insert, delete, duplicate and splice; JSON mutations
replace a value by one of another type, drop or add a key, or nest deeply.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "fixtures",
    "json_mutations",
    "mutated_bytes",
    "pieces",
]

TESTS = Path(__file__).resolve().parent.parent

HOSTILE_TEXT = [
    "\ud800",
    "\x00",
    "ä",
    "\ufeff",
    "[" * 50,
    "b2:" + "0" * 64,
    "",
    " ",
    "x" * 300,
]
HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5e308,
    "",
    "text",
    [],
    {},
    [None],
    {"type": None},
    {"type": []},
    {"type": {}},
    *HOSTILE_TEXT,
]


def fixtures(*globs: str) -> list[bytes]:
    """The bytes of every fixture matching `globs` under tests/ (sorted, for seeds)."""
    found = sorted({p for g in globs for p in TESTS.glob(g)})
    assert found, f"no fixtures match {globs}"
    return [p.read_bytes() for p in found]


@st.composite
def mutated_bytes(
    draw: st.DrawFn, seeds: Sequence[bytes], *, max_mutations: int = 4
) -> bytes:
    """One seed with a few byte-level mutations (possibly none)."""
    data = bytearray(draw(st.sampled_from(list(seeds))))
    for _ in range(draw(st.integers(0, max_mutations))):
        kind = draw(
            st.sampled_from(["flip", "insert", "delete", "dup", "splice", "nest"])
        )
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=8),
                    st.sampled_from(
                        [b"\xef\xbb\xbf", b"\x00", b"\\u", b'"', b"{", b"]", b"\r"]
                    ),
                )
            )
        elif kind == "delete":
            end = draw(st.integers(at, min(len(data), at + 64)))
            del data[at:end]
        elif kind == "dup":
            end = draw(st.integers(at, min(len(data), at + 256)))
            data[at:at] = data[at:end] * draw(st.integers(1, 8))
        elif kind == "splice":
            other = draw(st.sampled_from(list(seeds)))
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start : start + draw(st.integers(0, 512))]
        elif kind == "nest":
            depth = draw(st.sampled_from([10, 1000, 5000]))
            data[at:at] = b"[" * depth + b"]" * depth
    return bytes(data)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if len(path) > 40:  # inside a planted deep nest: its top is path enough
        return out
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*path, index)))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def json_mutations(
    draw: st.DrawFn, seeds: Sequence[Any], *, max_mutations: int = 3
) -> Any:
    """One seed (a parsed JSON value) with a few structural mutations."""
    value = json.loads(json.dumps(draw(st.sampled_from(list(seeds)))))
    for _ in range(draw(st.integers(0, max_mutations))):
        paths = _paths(value)
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["replace", "drop", "add", "nest", "dup"]))
        # A copy: a later mutation may add into this value, and HOSTILE_VALUES
        # changed in place makes generation depend on earlier cases (flaky).
        replacement = copy.deepcopy(
            draw(
                st.one_of(
                    st.sampled_from(HOSTILE_VALUES),
                    st.text(max_size=8),
                    st.integers(),
                )
            )
        )
        if kind == "nest":
            depth = draw(st.sampled_from([5, 990, 3000]))
            for _ in range(depth):
                replacement = [replacement]
        if not path:
            value = replacement if kind in ("replace", "nest") else value
            continue
        parent = _get(value, path[:-1])
        key = path[-1]
        if kind in ("replace", "nest"):
            parent[key] = replacement
        elif kind == "drop":
            del parent[key]
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["type", "id", "extra", "x", str(key)]))] = (
                replacement
            )
        elif kind == "add" and isinstance(parent, list):
            parent.insert(key, replacement)
        elif kind == "dup" and isinstance(parent, list):
            parent.insert(key, parent[key])  # shared, as json.loads never makes it
    return value


@st.composite
def pieces(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """`data` split at random points (1-byte pieces included)."""
    if not data:
        return [data]
    cuts = sorted(
        draw(st.lists(st.integers(0, len(data)), max_size=min(64, len(data))))
    )
    out, last = [], 0
    for cut in cuts:
        out.append(data[last:cut])
        last = cut
    out.append(data[last:])
    return out

"""Turn ids: content hashes of a turn in its place, covering every field."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import convo
from convo import (
    CacheControl,
    FinishReason,
    ImageBlock,
    Provenance,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    Usage,
)
from convo._ids import TurnId, compute_turn_id, is_turn_id
from convo.testing import strategies as cst
from convo.testing.strategies import png_bytes
from convo.wire import canonical

PNG = png_bytes(1, 1, (1, 2, 3))

# One base value per class, and for each of its fields a value that differs.
VARIANTS: dict[type, tuple[Any, dict[str, Any]]] = {
    Turn: (
        convo.assistant("a"),
        {
            "role": "user",
            "blocks": (TextBlock(text="b"),),
            "model": "m",
            "finish_reason": FinishReason.STOP,
            "finish_reason_raw": "end_turn",
            "usage": Usage(),
            "generated_from": "b2:" + "0" * 64,
            "metadata": {"k": 1},
        },
    ),
    TextBlock: (
        TextBlock(text="a"),
        {
            "text": "b",
            "cache_control": CacheControl(),
            "extra": {"citations": []},
        },
    ),
    ReasoningBlock: (
        ReasoningBlock(parts=(SummaryText(text="a"),)),
        {
            "parts": (SummaryText(text="a", signature="s"),),
            "provenance": Provenance(provider="anthropic", family="claude"),
            "cache_control": CacheControl(),
            "extra": {"k": None},
        },
    ),
    SummaryText: (
        SummaryText(text="a"),
        {"text": "b", "signature": ""},
    ),
    SummaryEncryptedText: (SummaryEncryptedText(data="a"), {"data": "b"}),
    Provenance: (
        Provenance(provider="anthropic", family="claude"),
        {"provider": "google", "family": "gemini", "model": "m", "route": "r"},
    ),
    ImageBlock: (
        ImageBlock(media_type="image/png", data=PNG),
        {
            "media_type": "image/gif",
            "data": PNG + b"\x00",
            "cache_control": CacheControl(ttl="1h"),
        },
    ),
    ToolCallBlock: (
        ToolCallBlock(id="a", name="f"),
        {
            "id": "b",
            "name": "g",
            "arguments": "{ }",
            "cache_control": CacheControl(),
            "extra": {"thought_signature": "x"},
        },
    ),
    ToolResultBlock: (
        ToolResultBlock(call_id="a", content="r"),
        {
            "call_id": "b",
            "content": (TextBlock(text="r"),),
            "is_error": True,
            "synthetic": True,
            "cache_control": CacheControl(),
            "extra": {"k": 1},
        },
    ),
    Usage: (
        Usage(),
        {
            "prompt_tokens": 1,
            "completion_tokens": 1,
            "total_tokens": 1,
            "cache_read_tokens": 1,
            "cache_write_tokens": 1,
            "reasoning_tokens": 1,
        },
    ),
    CacheControl: (CacheControl(), {"ttl": "5m"}),
}


def _wrap(cls: type, value: Any) -> Turn:
    """A turn holding `value` somewhere, so its id depends on it."""
    if cls is Turn:
        return value  # type: ignore[no-any-return]
    if cls in (SummaryText, SummaryEncryptedText):
        return convo.assistant(ReasoningBlock(parts=(value,)))
    if cls is Provenance:
        return convo.assistant(ReasoningBlock(parts=(), provenance=value))
    if cls is Usage:
        return convo.assistant("x", usage=value)
    if cls is CacheControl:
        return convo.user(TextBlock(text="x", cache_control=value))
    return convo.assistant(value)


def _changes() -> list[tuple[str, Callable[[], tuple[Turn, Turn]]]]:
    cases: list[tuple[str, Callable[[], tuple[Turn, Turn]]]] = []
    for cls, (base, changes) in VARIANTS.items():
        for name, value in changes.items():

            def pair(
                cls: type = cls, base: Any = base, name: str = name, value: Any = value
            ) -> tuple[Turn, Turn]:
                return _wrap(cls, base), _wrap(cls, attrs.evolve(base, **{name: value}))

            cases.append((f"{cls.__name__}.{name}", pair))
    return cases


class TestTurnId:
    def test_an_id_is_the_blake2b_of_parent_and_canonical_turn(self) -> None:
        document = (
            b'{"parent":null,"turn":{"blocks":[{"text":"hi","type":"text"}],'
            b'"role":"user"}}'
        )
        expected = "b2:" + hashlib.blake2b(document, digest_size=32).hexdigest()
        assert compute_turn_id(None, convo.user("hi")) == expected

    def test_the_parent_takes_part_in_the_id(self) -> None:
        turn = convo.user("hi")
        parent = compute_turn_id(None, convo.system("s"))
        assert compute_turn_id(parent, turn) != compute_turn_id(None, turn)

    @pytest.mark.parametrize(
        "value",
        ["b2:" + "a" * 64, "b2:" + "0123456789abcdef" * 4],
    )
    def test_is_turn_id_accepts_the_id_form(self, value: str) -> None:
        assert is_turn_id(value)

    @pytest.mark.parametrize(
        "value",
        ["b2:" + "A" * 64, "b2:" + "a" * 63, "sha:" + "a" * 64, None, 5, ""],
    )
    def test_is_turn_id_refuses_other_values(self, value: object) -> None:
        assert not is_turn_id(value)

    def test_every_field_of_every_value_class_is_covered_below(self) -> None:
        for cls, (_base, changes) in VARIANTS.items():
            names = {f.name for f in attrs.fields(cls)} - {"type", "_memo"}
            assert set(changes) == names, cls.__name__

    @pytest.mark.parametrize(("field", "pair"), _changes())
    def test_every_field_takes_part_in_the_turn_id(
        self, field: str, pair: Callable[[], tuple[Turn, Turn]]
    ) -> None:
        before, after = pair()
        assert compute_turn_id(None, before) != compute_turn_id(None, after), field

    @given(cst.turns(), st.data())
    def test_key_order_does_not_take_part_in_the_id(
        self, turn: Turn, data: st.DataObject
    ) -> None:
        """Metadata in another insertion order gives the same id."""
        metadata = data.draw(cst.json_objects(max_size=4))
        forward = attrs.evolve(turn, metadata=metadata)
        backward = attrs.evolve(turn, metadata=dict(reversed(metadata.items())))
        assert compute_turn_id(None, forward) == compute_turn_id(None, backward)

    @given(cst.turns())
    def test_equal_turns_built_apart_have_equal_ids(self, turn: Turn) -> None:
        """A decoded copy (with no memo) gets the same id as the original."""
        copy = canonical.decode_turn(canonical.encode_turn(turn))
        parent = TurnId("b2:" + "f" * 64)
        assert compute_turn_id(parent, copy) == compute_turn_id(parent, turn)
        assert is_turn_id(compute_turn_id(parent, turn))

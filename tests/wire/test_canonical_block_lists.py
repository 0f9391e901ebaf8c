"""Lists of blocks and reasoning parts: decoded fast, refused with cattrs' own paths."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from convo.errors import DecodeError, InvalidContentError, UnknownBlockTypeError
from convo.testing.strategies import turns
from convo.wire import canonical


def user_turn(*blocks: Any) -> dict[str, Any]:
    return {"role": "user", "blocks": list(blocks)}


TEXT = {"type": "text", "text": "a"}


class TestDecodingBlockLists:
    @settings(max_examples=150)
    @given(turn=turns())
    def test_every_turn_decodes_back_from_its_canonical_form(self, turn):
        assert canonical.decode_turn(canonical.encode_turn(turn)) == turn

    def test_a_tuple_of_blocks_is_taken_like_a_list(self):
        turn = canonical.decode_turn({"role": "user", "blocks": (TEXT,)})
        assert turn.text == "a"


class TestRefusingBlockLists:
    def test_bad_text_in_a_later_block_names_that_block(self):
        with pytest.raises(DecodeError) as info:
            canonical.decode_turn(user_turn(TEXT, {"type": "text", "text": "b\x00"}))
        assert info.value.path == "$.blocks[1].text"
        assert isinstance(info.value.__cause__, Exception)
        assert "U+0000" in info.value.message

    def test_an_unknown_tag_after_good_blocks_is_an_unknown_block_type(self):
        with pytest.raises(UnknownBlockTypeError) as info:
            canonical.decode_turn(user_turn(TEXT, TEXT, {"type": "video"}))
        assert info.value.path == "$.blocks[2]"
        assert info.value.tag == "video"

    def test_an_item_that_is_not_an_object_is_refused_at_its_index(self):
        with pytest.raises(DecodeError) as info:
            canonical.decode_turn(user_turn(TEXT, 7))
        assert info.value.path == "$.blocks[1]"
        assert "expected a block object, got int" in info.value.message

    @pytest.mark.parametrize("value", ["hello", {"type": "text", "text": "a"}, 3])
    def test_blocks_that_are_not_a_list_are_refused_as_such(self, value):
        with pytest.raises(DecodeError) as info:
            canonical.decode_turn({"role": "user", "blocks": value})
        assert info.value.path == "$.blocks"
        assert f"expected a list of blocks, got {type(value).__name__}" in (
            info.value.message
        )

    def test_an_unknown_key_in_a_later_reasoning_part_names_that_part(self):
        part = {"type": "summary_text", "text": "t"}
        reasoning = {"type": "reasoning", "parts": [part, {**part, "bogus": 1}]}
        with pytest.raises(DecodeError) as info:
            canonical.decode_turn({"role": "assistant", "blocks": [reasoning]})
        assert info.value.path == "$.blocks[0].parts[1]"
        assert "unknown keys ['bogus']" in info.value.message

    def test_reasoning_parts_that_are_not_a_list_are_refused_as_such(self):
        reasoning = {"type": "reasoning", "parts": "signed?"}
        with pytest.raises(DecodeError) as info:
            canonical.decode_turn({"role": "assistant", "blocks": [reasoning]})
        assert info.value.path == "$.blocks[0].parts"
        assert "expected a list of reasoning parts, got str" in info.value.message

    def test_every_broken_block_is_reported_not_only_the_first(self):
        with pytest.raises(DecodeError) as info:
            canonical.decode_turn(
                user_turn(
                    TEXT, {"type": "text"}, {"type": "text", "bogus": 1, "text": "x"}
                )
            )
        assert [e.rsplit(" @ ", 1)[1] for e in info.value.errors] == [
            "$.blocks[1].text",
            "$.blocks[2]",
        ]

    def test_invalid_content_is_reported_as_content_not_shape(self):
        with pytest.raises(DecodeError) as info:
            canonical.decode_turn(user_turn({"type": "text", "text": "\ud800"}))
        assert "invalid content" in info.value.message
        assert isinstance(info.value.__cause__, InvalidContentError | ExceptionGroup)

"""Importing Responses input items as turns, and the round trip through encoding."""

from __future__ import annotations

import pytest

from convo._blocks import ReasoningBlock, TextBlock, ToolCallBlock, ToolResultBlock
from convo.errors import DecodeError
from convo.wire.responses import encode_request, import_messages
from tests.wire.responses._helpers import CLAUDE_OR, load


class TestImportMessages:
    def test_groups_items_into_turns_by_role(self) -> None:
        turns = import_messages(load("import_items.json"), target=CLAUDE_OR)
        assert [t.role for t in turns] == [
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
        ]
        assert isinstance(turns[2].blocks[0], ReasoningBlock)
        assert isinstance(turns[2].blocks[1], ToolCallBlock)
        assert turns[3].blocks == (
            ToolResultBlock(call_id="call_01", content="4 C, snow"),
        )
        assert turns[4].blocks == (TextBlock(text="4 C and snowing."),)

    def test_reasoning_without_a_target_has_no_provenance_and_is_never_replayed(
        self,
    ) -> None:
        turns = import_messages(load("import_items.json"))
        block = turns[2].blocks[0]
        assert isinstance(block, ReasoningBlock)
        assert block.provenance is None

    def test_imported_items_encode_back_to_the_same_items_on_their_route(self) -> None:
        items = load("import_items.json")
        turns = import_messages(items, target=CLAUDE_OR)
        encoded = encode_request(turns[1:], target=CLAUDE_OR)["input"]
        assert encoded[1:5] == [
            items[2],
            items[3],
            items[4],
            items[5],
        ]

    def test_refuses_an_item_type_it_does_not_import(self) -> None:
        with pytest.raises(DecodeError) as caught:
            import_messages([{"type": "item_reference", "id": "msg_1"}])
        assert caught.value.path == "$[0]"


class TestImportArgumentTypes:
    """Issue 13 (found by the fuzz harness): `input` that is not a list is a DecodeError."""

    @pytest.mark.parametrize("items", [None, 42, True, "input", b"[]"])
    def test_input_that_is_not_a_list_is_a_decode_error(self, items: object) -> None:
        with pytest.raises(DecodeError, match="must be a list"):
            import_messages(items)  # type: ignore[arg-type]

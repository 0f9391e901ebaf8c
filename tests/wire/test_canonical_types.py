"""Canonical fields take exactly their JSON type: nothing is coerced into place."""

from __future__ import annotations

from typing import Any

import pytest

import convo
from convo import Conversation
from convo.errors import DecodeError
from convo.wire import canonical


def text_turn(text: Any, **extra: Any) -> dict[str, Any]:
    return {"role": "user", "blocks": [{"type": "text", "text": text}], **extra}


class TestExactTypes:
    @pytest.mark.parametrize(
        ("plain", "path", "expected"),
        [
            (text_turn(1), "$.blocks[0].text", "a string, got int"),
            (text_turn({"a": 1}), "$.blocks[0].text", "a string, got dict"),
            (text_turn(None), "$.blocks[0].text", "a string, got NoneType"),
            (text_turn("x", model=3), "$.model", "a string, got int"),
            (
                {
                    "role": "assistant",
                    "blocks": [{"type": "tool_call", "id": 5, "name": "f"}],
                },
                "$.blocks[0].id",
                "a string, got int",
            ),
            (
                {
                    "role": "assistant",
                    "blocks": [{"type": "text", "text": "x"}],
                    "usage": {"prompt_tokens": "5"},
                },
                "$.usage.prompt_tokens",
                "an integer, got str",
            ),
            (
                {
                    "role": "assistant",
                    "blocks": [{"type": "text", "text": "x"}],
                    "usage": {"prompt_tokens": True},
                },
                "$.usage.prompt_tokens",
                "an integer, got bool",
            ),
            (
                {
                    "role": "tool",
                    "blocks": [
                        {
                            "type": "tool_result",
                            "call_id": "c",
                            "content": "x",
                            "is_error": 1,
                        }
                    ],
                },
                "$.blocks[0].is_error",
                "true or false, got int",
            ),
        ],
    )
    def test_a_value_of_another_json_type_is_refused_at_its_path(
        self, plain, path, expected
    ):
        with pytest.raises(DecodeError) as info:
            canonical.decode_turn(plain)
        assert info.value.path == path
        assert f"expected {expected}" in info.value.message

    def test_values_of_the_right_types_still_decode(self):
        plain = {
            "role": "assistant",
            "blocks": [{"type": "text", "text": "x"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 0},
        }
        turn = canonical.decode_turn(plain)
        assert turn.usage is not None
        assert (turn.usage.prompt_tokens, turn.usage.completion_tokens) == (5, 0)

    def test_a_document_whose_number_would_coerce_to_the_signed_text_is_refused(self):
        """`42` under the id of `"42"`: a silent substitute if it were coerced."""
        original = Conversation.new().user("42")
        document = canonical.dumps(original).decode()
        tampered = document.replace('"text":"42"', '"text":42')
        assert tampered != document
        with pytest.raises(DecodeError):
            canonical.loads_conversation(tampered)
        assert canonical.loads_conversation(document) == original
        assert convo.user("42").text == "42"

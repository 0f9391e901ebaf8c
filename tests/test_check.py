"""Argument checks at public entry points (`convo._check`, `convo._request_args`).

Laws: a value of the expected type passes through unchanged (the same
object); any other value is a `UsageError` that names the argument (and the
index of a wrong item), shows the received value's type and never its content.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import convo
from convo import FinishReason, Turn
from convo._check import (
    as_tuple,
    expect_instance,
    expect_items,
    expect_mapping,
    expect_text,
)
from convo._request_args import expect_request
from convo.errors import UsageError
from convo.testing import strategies as cst
from convo.wire import canonical, chat

WRONG = (None, 42, 1.5, object(), b"bytes", {"a": 1})
TARGET = convo.get_target("databricks-claude-sonnet-4-5")


class TestExpectInstance:
    @given(st.text())
    def test_a_value_of_the_type_is_returned_as_is(self, value: str) -> None:
        assert expect_instance(value, str, "name") is value

    @pytest.mark.parametrize("wrong", WRONG)
    def test_another_value_is_a_usage_error_naming_the_argument(
        self, wrong: object
    ) -> None:
        with pytest.raises(UsageError) as caught:
            expect_instance(wrong, str, "name")
        assert caught.value.where == "name"
        assert caught.value.received == f"<{type(wrong).__name__}>"
        assert isinstance(caught.value, ValueError)

    def test_a_tuple_of_types_is_named_with_or(self) -> None:
        with pytest.raises(UsageError, match="must be a int or str"):
            expect_instance(None, (int, str), "limit")

    def test_the_message_never_shows_the_received_content(self) -> None:
        with pytest.raises(UsageError) as caught:
            expect_instance(b"sk-secret", str, "token")
        assert "sk-secret" not in str(caught.value)

    def test_the_fix_is_in_the_message(self) -> None:
        with pytest.raises(UsageError, match="Pass 2000"):
            expect_instance(None, int, "limit", fix="Pass 2000.")


class TestExpectText:
    @given(st.text())
    def test_any_str_passes(self, value: str) -> None:
        assert expect_text(value, "name") is value

    @pytest.mark.parametrize("wrong", WRONG)
    def test_anything_else_is_a_usage_error(self, wrong: object) -> None:
        with pytest.raises(UsageError, match="name must be a str"):
            expect_text(wrong, "name")


class TestExpectMapping:
    @given(st.dictionaries(st.text(), st.integers()))
    def test_a_mapping_passes(self, value: dict[str, int]) -> None:
        assert expect_mapping(value, "body") is value

    @pytest.mark.parametrize("wrong", [None, 42, "text", [("a", 1)]])
    def test_anything_else_is_a_usage_error(self, wrong: object) -> None:
        with pytest.raises(UsageError, match="body must be a Mapping"):
            expect_mapping(wrong, "body")


class TestExpectItems:
    @given(st.lists(st.integers()))
    def test_a_list_of_the_type_is_returned_as_is(self, values: list[int]) -> None:
        assert expect_items(values, int, "counts") is values

    @given(st.lists(st.text()), st.integers(min_value=0), st.sampled_from(WRONG))
    def test_a_wrong_item_is_named_by_its_index(
        self, values: list[object], at: int, wrong: object
    ) -> None:
        index = at % (len(values) + 1)
        values.insert(index, wrong)
        with pytest.raises(UsageError) as caught:
            expect_items(values, str, "names")
        assert caught.value.where == f"names[{index}]"

    @pytest.mark.parametrize("wrong", [None, 42, "text", b"bytes", object()])
    def test_a_value_that_is_no_sequence_is_a_usage_error(self, wrong: object) -> None:
        with pytest.raises(UsageError) as caught:
            expect_items(wrong, int, "counts")
        assert caught.value.where == "counts"


class TestAsTuple:
    @given(st.lists(st.integers()))
    def test_a_collection_becomes_the_tuple_of_its_items(
        self, values: list[int]
    ) -> None:
        assert as_tuple(values, "parts", expected="int", fix="-") == tuple(values)

    @given(st.tuples(st.integers(), st.integers()))
    def test_a_tuple_is_returned_as_is(self, values: tuple[int, int]) -> None:
        assert as_tuple(values, "parts", expected="int", fix="-") is values

    @pytest.mark.parametrize("wrong", [None, 42, "text", b"bytes", object()])
    def test_a_value_that_is_no_collection_is_a_usage_error(self, wrong: Any) -> None:
        with pytest.raises(UsageError, match="parts must be a sequence of int"):
            as_tuple(wrong, "parts", expected="int", fix="-")


class TestExpectRequest:
    @given(st.lists(cst.turns(), max_size=4))
    def test_turns_and_a_target_pass(self, turns: list[Turn]) -> None:
        expect_request(turns, TARGET, None, ())

    @pytest.mark.parametrize(
        ("arguments", "where"),
        [
            (([None], TARGET, None, ()), "turns[0]"),
            (((), None, None, ()), "target"),
            (((), TARGET, {"max_tokens": 1}, ()), "params"),
            (((), TARGET, None, [None]), "tools[0]"),
        ],
    )
    def test_each_wrong_argument_is_named(
        self, arguments: tuple[Any, Any, Any, Any], where: str
    ) -> None:
        with pytest.raises(UsageError) as caught:
            expect_request(*arguments)
        assert caught.value.where == where


class TestEntryPointsUseTheChecks:
    """A few entry points whose wrong argument used to escape as a bare exception."""

    def test_an_unknown_finish_reason_is_a_usage_error_and_a_value_error(self) -> None:
        with pytest.raises(UsageError, match="'stop'") as caught:
            FinishReason(None)
        assert isinstance(caught.value, ValueError)

    def test_dumps_of_a_str_is_a_usage_error_not_a_unicode_error(self) -> None:
        with pytest.raises(
            UsageError, match="value must be a block, Turn or Conversation"
        ):
            canonical.dumps("\ud800")  # type: ignore[arg-type]

    def test_a_chat_request_with_a_dict_among_its_turns_names_it(self) -> None:
        with pytest.raises(UsageError) as caught:
            chat.encode_request(
                [convo.user("hi"), {"role": "user"}],  # type: ignore[list-item]
                target=TARGET,
            )
        assert caught.value.where == "turns[1]"

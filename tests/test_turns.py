"""Turns: roles, blocks, replay metadata, finish reasons and partial answers."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import convo
from convo import (
    FinishReason,
    ImageBlock,
    PartialTurn,
    ReasoningBlock,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    Usage,
)
from convo._converter import turn_bytes, turn_plain
from convo._json import canonical_bytes
from convo._turns import MemoKey, normalise_finish_reason
from convo.errors import UsageError
from convo.testing import strategies as cst
from convo.testing.strategies import png_bytes

PNG = png_bytes(1, 1, (9, 9, 9))


class TestFinishReason:
    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            ("stop", FinishReason.STOP),
            ("end_turn", FinishReason.STOP),
            ("stop_sequence", FinishReason.STOP),
            ("max_tokens", FinishReason.LENGTH),
            ("length", FinishReason.LENGTH),
            ("tool_use", FinishReason.TOOL_CALLS),
            ("tool_calls", FinishReason.TOOL_CALLS),
            ("content_filter", FinishReason.CONTENT_FILTER),
            ("pause_turn", FinishReason.PAUSE),
            ("refusal", FinishReason.REFUSAL),
            ("model_context_window_exceeded", FinishReason.CONTEXT_WINDOW_EXCEEDED),
        ],
    )
    def test_provider_values_are_normalised(
        self, raw: str, reason: FinishReason
    ) -> None:
        assert normalise_finish_reason(raw) is reason

    def test_an_unknown_value_becomes_unknown_never_stop(self) -> None:
        assert normalise_finish_reason("brand_new_reason") is FinishReason.UNKNOWN

    def test_none_stays_none(self) -> None:
        assert normalise_finish_reason(None) is None


class TestUsage:
    @pytest.mark.parametrize("value", [-1, True])
    def test_counts_must_be_non_negative_ints(self, value: Any) -> None:
        with pytest.raises(ValueError, match=r"Usage.prompt_tokens must be"):
            Usage(prompt_tokens=value)

    def test_every_count_may_be_absent(self) -> None:
        assert Usage().total_tokens is None


class TestTurn:
    def test_an_unknown_role_is_refused(self) -> None:
        with pytest.raises(UsageError, match="Unknown turn role"):
            Turn(role="robot", blocks=())  # type: ignore[arg-type]

    def test_blocks_become_a_tuple(self) -> None:
        turn = Turn(role="user", blocks=[TextBlock(text="a")])
        assert turn.blocks == (TextBlock(text="a"),)

    def test_readers_pick_their_blocks_in_order(self) -> None:
        reasoning = ReasoningBlock(parts=(SummaryText(text="r", signature="s"),))
        call_a = ToolCallBlock(id="a", name="f")
        call_b = ToolCallBlock(id="b", name="g")
        turn = convo.assistant(
            [reasoning, TextBlock(text="x"), call_a, TextBlock(text="y"), call_b]
        )
        assert turn.text == "xy"
        assert turn.reasoning == (reasoning,)
        assert turn.tool_calls == (call_a, call_b)
        assert turn.tool_results == ()

    def test_tool_results_reader(self) -> None:
        result = ToolResultBlock(call_id="a", content="ok")
        assert convo.tool_results(result).tool_results == (result,)

    @pytest.mark.parametrize(
        ("turn", "genuine"),
        [
            (convo.user("hi"), True),
            (
                Turn(
                    role="user", blocks=(ImageBlock(media_type="image/png", data=PNG),)
                ),
                True,
            ),
            (
                Turn(role="user", blocks=(ToolResultBlock(call_id="a", content=""),)),
                False,
            ),
            (convo.assistant("hi"), False),
            (convo.system("hi"), False),
        ],
    )
    def test_is_genuine_user_means_a_user_turn_that_is_not_only_tool_results(
        self, turn: Turn, genuine: bool
    ) -> None:
        assert turn.is_genuine_user is genuine

    def test_with_blocks_keeps_the_replay_metadata(self) -> None:
        turn = convo.assistant("a", model="m", metadata={"k": 1})
        changed = turn.with_blocks([TextBlock(text="b")])
        assert changed.text == "b"
        assert (changed.model, changed.metadata) == ("m", {"k": 1})
        assert turn.text == "a"

    @given(cst.turns(), st.data())
    def test_with_blocks_of_its_own_equals_the_validated_copy(
        self, turn: Turn, data: st.DataObject
    ) -> None:
        # A sub-selection of the turn's own blocks takes a path without the
        # validators: it must build exactly what attrs.evolve builds.
        turn_bytes(turn)  # a memo the copy must not inherit
        keep = data.draw(
            st.lists(st.sampled_from(turn.blocks)) if turn.blocks else st.just([])
        )
        derived = turn.with_blocks(keep)
        expected = attrs.evolve(turn, blocks=tuple(keep))
        assert derived == expected
        assert hash(derived) == hash(expected)
        assert turn_bytes(derived) == canonical_bytes(turn_plain(expected))
        assert derived.metadata == turn.metadata

    def test_with_blocks_from_elsewhere_is_validated(self) -> None:
        turn = convo.user("a")
        with pytest.raises(UsageError):
            turn.with_blocks(42)  # type: ignore[arg-type]
        assert turn.with_blocks([TextBlock(text="b")]).text == "b"

    def test_memoized_peeks_without_building(self) -> None:
        turn = convo.user("x")
        key: MemoKey[int] = MemoKey("test.peek")
        assert turn.memoized(key) is None
        assert turn.memo(key, lambda: 7) == 7
        assert turn.memoized(key) == 7
        assert turn.memoized(key.variant("other")) is None

    def test_memo_computes_once_per_key(self) -> None:
        turn = convo.user("x")
        calls: list[int] = []

        def build() -> int:
            calls.append(1)
            return 42

        key: MemoKey[int] = MemoKey("k")
        assert turn.memo(key, build) == 42
        assert turn.memo(key, build) == 42
        assert calls == [1]

    def test_evolved_copies_do_not_share_the_memo(self) -> None:
        turn = convo.user("x")
        key: MemoKey[str] = MemoKey("k")
        turn.memo(key, lambda: "old")
        assert attrs.evolve(turn).memo(key, lambda: "new") == "new"

    def test_a_variant_key_holds_its_own_value(self) -> None:
        turn = convo.user("x")
        key: MemoKey[str] = MemoKey("k")
        turn.memo(key, lambda: "plain")
        assert turn.memo(key.variant("bare"), lambda: "bare") == "bare"
        assert turn.memo(key, lambda: "other") == "plain"

    def test_metadata_is_copied_and_takes_part_in_equality(self) -> None:
        source: dict[str, Any] = {"tags": ["a"]}
        turn = convo.user("x")
        turn = attrs.evolve(turn, metadata=source)
        source["tags"].append("b")
        assert turn.metadata == {"tags": ["a"]}
        assert turn != convo.user("x")

    @given(cst.turns())
    def test_turns_are_hashable_values(self, turn: Turn) -> None:
        """A turn equals its evolve-copy, hashes alike, and cannot be assigned."""
        assert attrs.evolve(turn) == turn
        assert hash(attrs.evolve(turn)) == hash(turn)
        with pytest.raises(AttributeError):
            turn.role = "user"  # type: ignore[misc]


class TestBuilders:
    def test_system_user_assistant_take_text(self) -> None:
        assert convo.system("s").blocks == (TextBlock(text="s"),)
        assert convo.user("u").role == "user"
        assert convo.assistant("a").role == "assistant"

    def test_builders_take_one_block_or_many(self) -> None:
        image = ImageBlock(media_type="image/png", data=PNG)
        assert convo.user(image).blocks == (image,)
        assert convo.user([TextBlock(text="a"), image]).blocks == (
            TextBlock(text="a"),
            image,
        )

    def test_assistant_takes_replay_fields(self) -> None:
        turn = convo.assistant(
            "a",
            model="m",
            finish_reason=FinishReason.STOP,
            finish_reason_raw="end_turn",
            usage=Usage(total_tokens=3),
        )
        assert (turn.model, turn.finish_reason, turn.finish_reason_raw) == (
            "m",
            FinishReason.STOP,
            "end_turn",
        )

    def test_tool_results_keeps_their_order(self) -> None:
        first = ToolResultBlock(call_id="b", content="2")
        second = ToolResultBlock(call_id="a", content="1")
        assert convo.tool_results(first, second).blocks == (first, second)


class TestPartialTurn:
    def test_salvage_flags_the_turn_and_lists_what_is_missing(self) -> None:
        partial = PartialTurn(
            turn=convo.assistant("half an ans"), missing=("finish_reason",)
        )
        salvaged = partial.salvage()
        assert salvaged.metadata == {
            "convo.partial": True,
            "convo.missing": ["finish_reason"],
        }
        assert salvaged.text == "half an ans"

    def test_salvage_drops_tool_calls_whose_arguments_were_cut(self) -> None:
        whole = ToolCallBlock(id="toolu_1", name="f", arguments="{}")
        cut = ToolCallBlock(id="toolu_2", name="g", arguments='{"a":')
        partial = PartialTurn(
            turn=convo.assistant([whole, cut]),
            missing=("tool_call:toolu_2 arguments", "finish_reason"),
        )
        assert partial.salvage().tool_calls == (whole,)

    def test_salvage_keeps_existing_metadata(self) -> None:
        partial = PartialTurn(
            turn=convo.assistant("x", metadata={"app": 1}), missing=("usage",)
        )
        assert partial.salvage().metadata["app"] == 1

    def test_a_partial_turn_is_not_a_turn(self) -> None:
        partial = PartialTurn(turn=convo.assistant("x"), missing=())
        assert not isinstance(partial, Turn)
        with pytest.raises(UsageError, match=r"salvaged explicitly with \.salvage\(\)"):
            convo.Conversation.new().user("q").append(partial)  # type: ignore[arg-type]

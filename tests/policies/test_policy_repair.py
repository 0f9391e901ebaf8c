"""Tool pairing repair, written from provider rule R10."""

from __future__ import annotations

from hypothesis import given, settings

from convo import (
    Target,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    assistant,
    tool_results,
    user,
)
from convo.policies import RequestView, repair_tool_pairs
from convo.policies._repair import pairing_problems
from convo.testing.strategies import conversations

TARGET = Target(name="t-repair", family="claude")


def call(call_id: str) -> ToolCallBlock:
    return ToolCallBlock(id=call_id, name="search", arguments="{}")


def res(call_id: str, content: str = "ok") -> ToolResultBlock:
    return ToolResultBlock(call_id=call_id, content=content)


def view(*turns: Turn) -> RequestView:
    return RequestView(turns=turns, target=TARGET)


def shape(v: RequestView) -> list[tuple[str, ...]]:
    out = []
    for t in v.turns:
        if t.role == "tool":
            out.append(
                (
                    "tool",
                    *(("~" if b.synthetic else "") + b.call_id for b in t.tool_results),
                )
            )
        else:
            out.append((t.role, *(c.id for c in t.tool_calls)))
    return out


class TestDanglingCalls:
    def test_a_call_without_result_before_the_next_user_turn_gets_a_synthetic_error_r10(
        self,
    ):
        """R10: every tool call has exactly one result before the next user message."""
        out = repair_tool_pairs()(
            view(user("q"), assistant([call("c1")]), user("next"))
        )
        assert shape(out) == [
            ("user",),
            ("assistant", "c1"),
            ("tool", "~c1"),
            ("user",),
        ]
        (synthetic,) = out.turns[2].tool_results
        assert synthetic.is_error
        assert synthetic.synthetic
        assert "c1" in synthetic.text

    def test_a_missing_parallel_result_is_merged_into_the_existing_tool_turn(self):
        turns = (
            user("q"),
            assistant([call("a"), call("b")]),
            tool_results(res("a")),
            user("n"),
        )
        out = repair_tool_pairs()(view(*turns))
        assert shape(out) == [
            ("user",),
            ("assistant", "a", "b"),
            ("tool", "a", "~b"),
            ("user",),
        ]

    def test_a_final_call_without_any_result_is_pending_and_left_alone(self):
        v = view(user("q"), assistant([call("c1")]))
        assert repair_tool_pairs()(v) is v

    def test_a_final_partial_answer_is_completed(self):
        turns = (user("q"), assistant([call("a"), call("b")]), tool_results(res("a")))
        out = repair_tool_pairs()(view(*turns))
        assert shape(out)[-1] == ("tool", "a", "~b")

    def test_notes_every_insertion(self):
        out = repair_tool_pairs()(
            view(user("q"), assistant([call("c1"), call("c2")]), user("n"))
        )
        assert [(n.action, n.path) for n in out.notes] == [
            ("insert_result", "$.turns[1]"),
            ("insert_result", "$.turns[1]"),
        ]


class TestOrphansAndDuplicates:
    def test_removes_a_tool_turn_that_follows_no_call(self):
        turns = (user("q"), assistant("a"), tool_results(res("x")), user("n"))
        out = repair_tool_pairs()(view(*turns))
        assert shape(out) == [("user",), ("assistant",), ("user",)]

    def test_removes_a_result_for_a_call_the_turn_did_not_make(self):
        turns = (user("q"), assistant([call("a")]), tool_results(res("a"), res("zzz")))
        out = repair_tool_pairs()(view(*turns))
        assert shape(out)[-1] == ("tool", "a")
        assert out.notes[0].action == "remove_result"

    def test_removes_a_second_result_for_the_same_call(self):
        turns = (
            user("q"),
            assistant([call("a")]),
            tool_results(res("a", "1")),
            tool_results(res("a", "2")),
        )
        out = repair_tool_pairs()(view(*turns))
        assert shape(out)[2:] == [("tool", "a")]
        assert out.turns[2].tool_results[0].text == "1"

    def test_keeps_parallel_results_consecutive_right_after_their_call(self):
        """R10: Claude wants all results of one turn consecutively right after the call."""
        turns = (
            user("q"),
            assistant([call("a"), call("b")]),
            tool_results(res("b")),
            tool_results(res("a")),
            user("n"),
        )
        v = view(*turns)
        assert repair_tool_pairs()(v) is v
        assert pairing_problems(v.turns, pending_ok=False) == []


class TestLaws:
    @settings(max_examples=40)
    @given(conversations())
    def test_output_always_has_valid_pairing(self, conversation):
        """repair_tool_pairs(v) has no pairing problem except a pending final group."""
        out = repair_tool_pairs()(view(*conversation.path()))
        assert pairing_problems(out.turns) == []

    @settings(max_examples=40)
    @given(conversations())
    def test_is_idempotent(self, conversation):
        """repair(repair(v)) == repair(v) for every conversation."""
        once = repair_tool_pairs()(view(*conversation.path()))
        assert repair_tool_pairs()(once).turns == once.turns

    @settings(max_examples=40)
    @given(conversations())
    def test_only_synthetic_results_are_added(self, conversation):
        """Every result in the output was in the input, or is flagged synthetic."""
        turns = conversation.path()
        before = {id(b) for t in turns for b in t.blocks}
        out = repair_tool_pairs()(view(*turns))
        for turn in out.turns:
            for block in turn.tool_results:
                assert id(block) in before or (block.synthetic and block.is_error)

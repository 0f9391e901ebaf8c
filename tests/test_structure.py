"""Where exchanges and tool-use sessions begin on a path of turns."""

from __future__ import annotations

from hypothesis import given, settings

import convo
from convo import Conversation, ToolCallBlock, ToolResultBlock, Turn
from convo._structure import (
    current_exchange_start,
    last_assistant_index,
    last_user_index,
    open_tool_calls,
    tool_session_start,
)
from convo.testing import strategies as cst

CALL_A = ToolCallBlock(id="a", name="f")
CALL_B = ToolCallBlock(id="b", name="g")


def results(*ids: str) -> Turn:
    return convo.tool_results(*(ToolResultBlock(call_id=i, content="r") for i in ids))


def only_results_user(call_id: str) -> Turn:
    return Turn(role="user", blocks=(ToolResultBlock(call_id=call_id, content="r"),))


SESSION = (
    convo.system("s"),
    convo.user("q"),
    convo.assistant([CALL_A, CALL_B]),
    results("a"),
    results("b"),
    convo.assistant([ToolCallBlock(id="c", name="h")]),
)


class TestLastIndexes:
    def test_last_user_index_skips_turns_of_tool_results_only(self) -> None:
        turns = (convo.user("q"), convo.assistant("a"), only_results_user("x"))
        assert last_user_index(turns) == 0

    def test_last_user_index_before_a_position(self) -> None:
        turns = (convo.user("q1"), convo.assistant("a"), convo.user("q2"))
        assert last_user_index(turns) == 2
        assert last_user_index(turns, before=2) == 0
        assert last_user_index(turns, before=0) is None

    def test_last_assistant_index(self) -> None:
        assert last_assistant_index(SESSION) == 5
        assert last_assistant_index((convo.user("q"),)) is None

    def test_current_exchange_start(self) -> None:
        assert current_exchange_start(SESSION) == 1
        assert current_exchange_start((convo.system("s"),)) == 0
        assert current_exchange_start(()) == 0


class TestToolSessions:
    def test_a_multi_step_session_in_progress_starts_at_its_first_call(self) -> None:
        assert tool_session_start(SESSION) == 2

    def test_a_session_ending_in_a_tool_turn_is_in_progress(self) -> None:
        assert tool_session_start(SESSION[:4]) == 2

    def test_a_finished_answer_ends_the_session(self) -> None:
        assert tool_session_start((*SESSION[:5], convo.assistant("done"))) is None

    def test_no_turns_no_session(self) -> None:
        assert tool_session_start(()) is None
        assert tool_session_start((convo.user("q"),)) is None

    def test_open_tool_calls_counts_results_of_the_last_calling_turn(self) -> None:
        assert open_tool_calls(SESSION[:4]) == (2, {"a": 1, "b": 0})
        assert open_tool_calls(SESSION[:5]) == (2, {"a": 1, "b": 1})
        assert open_tool_calls(SESSION) == (5, {"c": 0})

    def test_open_tool_calls_keeps_results_for_calls_it_did_not_make(self) -> None:
        turns = (convo.assistant([CALL_A]), results("zzz"))
        assert open_tool_calls(turns) == (0, {"a": 0, "zzz": 1})

    def test_open_tool_calls_is_none_off_a_session(self) -> None:
        assert open_tool_calls((convo.user("q"),)) is None
        assert open_tool_calls((convo.user("q"), convo.assistant("a"))) is None
        assert open_tool_calls(()) is None

    @settings(max_examples=30)
    @given(cst.conversations())
    def test_the_session_start_is_an_assistant_turn_with_calls(
        self, conversation: Conversation
    ) -> None:
        """A session in progress starts at a calling assistant turn after every user turn."""
        path = conversation.path()
        start = tool_session_start(path)
        if start is None:
            return
        assert path[start].role == "assistant"
        assert path[start].tool_calls
        user = last_user_index(path)
        assert user is None or user < start
        assert all(t.role in ("assistant", "tool") for t in path[start:])

"""The conversation graph: immutable, branching, and structurally valid."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convo
from convo import (
    Conversation,
    ImageBlock,
    ReasoningBlock,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
)
from convo._graph import DEFAULT_BRANCH, branch_heads
from convo._ids import compute_turn_id
from convo.errors import (
    RoleOrderError,
    ToolPairingError,
    UnknownBranchError,
    UnknownTurnError,
    UsageError,
)
from convo.testing import strategies as cst
from convo.testing.strategies import png_bytes

PNG = png_bytes(1, 1, (5, 5, 5))
CALL_A = ToolCallBlock(id="a", name="f")
CALL_B = ToolCallBlock(id="b", name="g")


def result(call_id: str, content: str = "ok") -> ToolResultBlock:
    return ToolResultBlock(call_id=call_id, content=content)


def calling(*calls: ToolCallBlock) -> Conversation:
    return Conversation.new().user("q").assistant(list(calls))


def check_invariants(conversation: Conversation) -> None:
    """Every structural invariant of the graph, checked from scratch."""
    for node in conversation.nodes.values():
        assert compute_turn_id(node.parent, node.turn) == node.id
        if node.parent is None:
            assert node.depth == 0
        else:
            parent = conversation.nodes[node.parent]
            assert node.depth == parent.depth + 1
            assert parent.turn.role != "tool" or node.turn.role != "system"
        assert node.id in conversation.child_ids[node.parent]
        if node.turn.role == "system":
            assert node.parent is None
        if node.turn.role == "tool":
            answered: set[str] = set()
            current: Any = node
            while current.turn.role == "tool":
                for r in current.turn.tool_results:
                    assert r.call_id not in answered, "a call answered twice"
                    answered.add(r.call_id)
                current = conversation.nodes[current.parent]
            assert current.turn.role == "assistant"
            assert answered <= {c.id for c in current.turn.tool_calls}
    listed = [i for ids in conversation.child_ids.values() for i in ids]
    assert sorted(listed) == sorted(conversation.nodes)
    for head in conversation.heads.values():
        assert head is None or head in conversation.nodes
    assert conversation.active in conversation.heads


class TestProperties:
    @settings(max_examples=30)
    @given(cst.conversations(branching=True, images=True))
    def test_every_generated_conversation_satisfies_the_invariants(
        self, conversation: Conversation
    ) -> None:
        """Ids, depths, children, heads and tool pairing all hold."""
        check_invariants(conversation)

    @settings(max_examples=30)
    @given(cst.conversations(), st.data())
    def test_append_never_mutates_and_shares_the_prefix(
        self, conversation: Conversation, data: st.DataObject
    ) -> None:
        """Appending leaves the original unchanged and keeps its path's ids."""
        before_ids = conversation.path_ids()
        before_nodes = dict(conversation.nodes.items())
        turn = data.draw(st.sampled_from([convo.user("next"), convo.system("s")]))
        if turn.role == "system" and before_ids:
            with pytest.raises(RoleOrderError):
                conversation.append(turn)
            return
        try:
            grown = conversation.append(turn)
        except (RoleOrderError, ToolPairingError):
            return
        assert conversation.path_ids() == before_ids
        assert dict(conversation.nodes.items()) == before_nodes
        assert grown.path_ids()[:-1] == before_ids
        assert grown.path()[-1] == turn
        assert len(grown) == len(conversation) + 1
        for turn_id in before_ids:
            assert grown.node(turn_id) is conversation.node(turn_id)

    @settings(max_examples=30)
    @given(cst.conversations(min_turns=1), st.data())
    def test_fork_never_mutates_and_shares_the_prefix(
        self, conversation: Conversation, data: st.DataObject
    ) -> None:
        """A fork's path is a prefix of the original's, with the same ids."""
        ids = conversation.path_ids()
        index = data.draw(st.integers(0, len(ids) - 1))
        heads_before = dict(conversation.heads.items())
        forked = conversation.fork("other", at=ids[index]).user("a different question")
        assert dict(conversation.heads.items()) == heads_before
        assert conversation.path_ids() == ids
        assert forked.path_ids()[: index + 1] == ids[: index + 1]
        assert forked.path_ids(DEFAULT_BRANCH) == ids
        assert forked.active == "other"
        check_invariants(forked)

    @settings(max_examples=30)
    @given(cst.conversations(branching=True))
    def test_equality_follows_structure(self, conversation: Conversation) -> None:
        """A conversation equals its rebuild from its own walk, and hashes alike."""
        rebuilt = Conversation(heads=conversation.heads, active=conversation.active)
        for node in conversation.walk():
            rebuilt, _ = rebuilt.attach(node.turn, parent=node.parent)
        assert rebuilt == conversation
        assert hash(rebuilt) == hash(conversation)


class TestAppendRefusals:
    def test_a_system_turn_must_be_the_root(self) -> None:
        conversation = Conversation.new().user("hi")
        with pytest.raises(RoleOrderError) as info:
            conversation.append(convo.system("late"))
        error = info.value
        assert error.path == "$.turns[1]"
        assert "A system turn can only be the first turn" in error.message
        assert "after a user turn" in error.message
        assert "fork(name, at=None)" in error.message

    @pytest.mark.parametrize(
        ("role", "block"),
        [
            ("system", ImageBlock(media_type="image/png", data=PNG)),
            ("system", ToolCallBlock(id="a", name="f")),
            ("user", ReasoningBlock(parts=(SummaryText(text="r"),))),
            ("user", ToolCallBlock(id="a", name="f")),
            ("user", result("a")),
            ("assistant", result("a")),
            ("tool", TextBlock(text="t")),
        ],
    )
    def test_a_block_in_a_role_that_cannot_carry_it_is_refused(
        self, role: Any, block: Any
    ) -> None:
        with pytest.raises(RoleOrderError) as info:
            Conversation.new().append(Turn(role=role, blocks=(block,)))
        error = info.value
        assert error.path == "$.turns[0].blocks[0]"
        article = "An" if role == "assistant" else "A"
        assert f"{article} {role} turn cannot carry a {type(block).__name__}" in (
            error.message
        )
        assert f"{article} {role} turn takes" in error.message

    @pytest.mark.parametrize("role", ["system", "user", "tool"])
    def test_only_an_assistant_turn_may_be_empty(self, role: Any) -> None:
        with pytest.raises(RoleOrderError, match="needs at least one block"):
            Conversation.new().append(Turn(role=role, blocks=()))

    def test_an_empty_assistant_turn_is_accepted(self) -> None:
        conversation = Conversation.new().user("q").append(convo.assistant([]))
        assert conversation.path()[-1].blocks == ()

    def test_a_tool_result_after_a_user_turn_is_refused(self) -> None:
        conversation = Conversation.new().user("q")
        with pytest.raises(ToolPairingError) as info:
            conversation.tool_results(result("a"))
        assert info.value.path == "$.turns[1]"
        assert "A tool turn must follow the assistant turn" in info.value.message
        assert "after a user turn" in info.value.message

    def test_a_tool_turn_at_the_root_is_refused(self) -> None:
        with pytest.raises(ToolPairingError, match="after nothing"):
            Conversation.new().tool_results(result("a"))

    def test_a_tool_turn_after_an_assistant_without_calls_is_refused(self) -> None:
        conversation = Conversation.new().user("q").assistant("plain answer")
        with pytest.raises(ToolPairingError, match="after an assistant turn"):
            conversation.tool_results(result("a"))

    def test_a_result_answering_no_open_call_is_refused(self) -> None:
        with pytest.raises(ToolPairingError) as info:
            calling(CALL_A).tool_results(result("zzz"))
        error = info.value
        assert error.path == "$.turns[2].blocks[0]"
        assert (
            "answers call 'zzz', which the assistant turn before it did not make"
            in (error.message)
        )
        assert "['a']" in error.message

    def test_a_call_answered_twice_in_one_turn_is_refused(self) -> None:
        with pytest.raises(ToolPairingError) as info:
            calling(CALL_A, CALL_B).tool_results(result("a"), result("a"))
        assert info.value.path == "$.turns[2].blocks[1]"
        assert "Tool call 'a' has a result already" in info.value.message
        assert "rule R10" in info.value.message

    def test_a_call_answered_twice_across_tool_turns_is_refused(self) -> None:
        conversation = calling(CALL_A, CALL_B).tool_results(result("a"))
        with pytest.raises(ToolPairingError, match="'a' has a result already"):
            conversation.tool_results(result("a"))

    def test_results_may_come_in_several_tool_turns(self) -> None:
        conversation = (
            calling(CALL_A, CALL_B).tool_results(result("b")).tool_results(result("a"))
        )
        assert [t.role for t in conversation.path()] == [
            "user",
            "assistant",
            "tool",
            "tool",
        ]

    def test_a_tool_turn_does_not_answer_calls_of_an_earlier_step(self) -> None:
        conversation = calling(CALL_A).tool_results(result("a")).assistant([CALL_B])
        with pytest.raises(ToolPairingError, match="answers call 'a'"):
            conversation.tool_results(result("a"))

    def test_two_calls_of_one_turn_may_not_share_an_id(self) -> None:
        with pytest.raises(ToolPairingError, match="share an id"):
            Conversation.new().user("q").assistant([CALL_A, CALL_A])

    def test_only_a_turn_can_be_appended(self) -> None:
        with pytest.raises(UsageError, match="Only a Turn can be appended"):
            Conversation.new().append("hello")  # type: ignore[arg-type]

    def test_a_refused_append_leaves_the_conversation_unchanged(self) -> None:
        conversation = Conversation.new().user("q")
        with pytest.raises(RoleOrderError):
            conversation.append(convo.system("s"))
        assert [t.text for t in conversation.path()] == ["q"]

    def test_fragments_import_without_a_user_turn(self) -> None:
        lone = Conversation.from_turns([convo.assistant("a"), convo.assistant("b")])
        assert len(lone.path()) == 2


class TestBranches:
    def conversation(self) -> Conversation:
        return (
            Conversation.new()
            .append(convo.system("s"))
            .user("q1")
            .assistant("a1")
            .user("q2")
            .assistant("a2")
        )

    def test_new_starts_with_one_empty_branch(self) -> None:
        conversation = Conversation.new()
        assert dict(conversation.heads.items()) == {"main": None}
        assert conversation.path() == ()
        assert len(conversation) == 0

    def test_new_takes_a_branch_name(self) -> None:
        assert Conversation.new(branch="trunk").active == "trunk"

    @pytest.mark.parametrize("name", ["", "   ", "x" * 201])
    def test_branch_names_must_be_sensible(self, name: str) -> None:
        with pytest.raises(ValueError, match="branch name must be"):
            Conversation.new().fork(name)

    def test_fork_refuses_an_existing_name(self) -> None:
        with pytest.raises(ValueError, match="exists already"):
            self.conversation().fork("main")

    def test_fork_refuses_an_unknown_turn(self) -> None:
        with pytest.raises(UnknownTurnError) as info:
            self.conversation().fork("x", at=convo.TurnId("b2:" + "0" * 64))
        assert info.value.key == "b2:" + "0" * 64

    def test_fork_without_switch_keeps_the_active_branch(self) -> None:
        conversation = self.conversation()
        forked = conversation.fork("side", at=conversation.path_ids()[2], switch=False)
        assert forked.active == "main"
        assert forked.head("side") == conversation.path_ids()[2]

    def test_fork_at_none_makes_an_empty_branch(self) -> None:
        forked = self.conversation().fork("fresh")
        assert forked.path() == ()
        assert forked.append(convo.system("new prompt")).path()[0].text == "new prompt"

    def test_edit_puts_a_sibling_beside_the_edited_turn(self) -> None:
        conversation = self.conversation()
        q2 = conversation.path_ids()[3]
        edited = conversation.edit(q2, convo.user("q2 reworded"), branch="edit")
        assert edited.active == "edit"
        assert [t.text for t in edited.path()] == ["s", "q1", "a1", "q2 reworded"]
        assert edited.siblings(q2) == (edited.head(),)
        assert edited.path(DEFAULT_BRANCH) == conversation.path()

    def test_regenerate_answers_again_beside_the_last_assistant_turn(self) -> None:
        conversation = self.conversation()
        again = conversation.regenerate(convo.assistant("a2 again"), branch="retry")
        assert [t.text for t in again.path()][-2:] == ["q2", "a2 again"]
        a2 = conversation.path_ids()[-1]
        assert again.siblings(a2) == (again.head(),)

    def test_regenerate_a_named_answer(self) -> None:
        conversation = self.conversation()
        a1 = conversation.path_ids()[2]
        again = conversation.regenerate(convo.assistant("a1'"), branch="r", of=a1)
        assert [t.text for t in again.path()] == ["s", "q1", "a1'"]

    def test_regenerate_without_an_assistant_turn_is_refused(self) -> None:
        with pytest.raises(UnknownTurnError, match="no assistant turn to regenerate"):
            Conversation.new().user("q").regenerate(convo.assistant("a"), branch="r")

    def test_an_identical_turn_reuses_its_node(self) -> None:
        conversation = self.conversation()
        q2 = conversation.path_ids()[3]
        same = conversation.edit(q2, convo.user("q2"), branch="same")
        assert same.head() == q2
        assert len(same) == len(conversation)

    def test_switch_and_unknown_branches(self) -> None:
        conversation = self.conversation().fork("b")
        assert conversation.switch("main").active == "main"
        with pytest.raises(UnknownBranchError) as info:
            conversation.switch("nope")
        assert info.value.key == "nope"
        assert "Known branches: b, main" in info.value.message

    def test_delete_branch_keeps_its_turns(self) -> None:
        conversation = self.conversation()
        side = conversation.fork("side", at=conversation.path_ids()[1]).user("x")
        deleted = side.switch("main").delete_branch("side")
        assert "side" not in deleted.heads
        assert len(deleted) == len(side)

    def test_the_active_branch_cannot_be_deleted(self) -> None:
        with pytest.raises(ValueError, match="Cannot delete the active branch"):
            self.conversation().delete_branch("main")

    def test_append_to_a_named_branch_moves_only_its_head(self) -> None:
        conversation = self.conversation()
        side = conversation.fork("side", at=conversation.path_ids()[2], switch=False)
        grown = side.user("on side", branch="side")
        assert grown.head("main") == conversation.head()
        assert grown.path("side")[-1].text == "on side"


class TestReading:
    def tree(self) -> tuple[Conversation, list[Any]]:
        conversation = Conversation.new().user("q").assistant("a1")
        ids: list[Any] = list(conversation.path_ids())
        conversation = conversation.regenerate(convo.assistant("a2"), branch="r")
        ids.append(conversation.head())
        conversation = conversation.user("follow-up")
        ids.append(conversation.head())
        return conversation, ids

    def test_children_siblings_and_leaves(self) -> None:
        conversation, (q, a1, a2, follow) = self.tree()
        assert conversation.children(None) == (q,)
        assert conversation.children(q) == (a1, a2)
        assert conversation.siblings(a1) == (a2,)
        assert conversation.leaves() == (a1, follow)

    def test_children_of_an_unknown_turn_is_an_error(self) -> None:
        conversation, _ = self.tree()
        with pytest.raises(UnknownTurnError):
            conversation.children(convo.TurnId("b2:" + "1" * 64))

    def test_walk_is_depth_first_in_insertion_order(self) -> None:
        conversation, ids = self.tree()
        assert [n.id for n in conversation.walk()] == ids

    def test_node_depth_and_parent(self) -> None:
        conversation, (q, a1, _, follow) = self.tree()
        assert conversation.node(follow).depth == 2
        assert conversation.node(a1).parent == q
        assert conversation.turn(q).text == "q"

    def test_branches_at_names_every_branch_through_a_turn(self) -> None:
        conversation, (q, a1, a2, _) = self.tree()
        assert conversation.branches_at(q) == ("main", "r")
        assert conversation.branches_at(a1) == ("main",)
        assert conversation.branches_at(a2) == ("r",)

    def test_ancestry_runs_from_the_root(self) -> None:
        conversation, (q, _, a2, follow) = self.tree()
        assert [n.id for n in conversation.ancestry(follow)] == [q, a2, follow]
        assert conversation.ancestry(None) == ()

    def test_last_assistant_and_user_ids(self) -> None:
        conversation, (_, _, a2, follow) = self.tree()
        assert conversation.last_assistant_id() == a2
        assert conversation.last_user_id() == follow
        assert Conversation.new().last_user_id() is None

    def test_current_exchange_starts_at_the_last_genuine_user_turn(self) -> None:
        conversation = calling(CALL_A).tool_results(result("a")).assistant("done")
        assert [t.role for t in conversation.current_exchange()] == [
            "user",
            "assistant",
            "tool",
            "assistant",
        ]
        no_user = Conversation.new().append(convo.system("s"))
        assert no_user.current_exchange() == no_user.path()

    def test_current_tool_session_while_in_progress(self) -> None:
        in_progress = calling(CALL_A).tool_results(result("a"))
        assert [t.role for t in in_progress.current_tool_session()] == [
            "assistant",
            "tool",
        ]
        assert in_progress.assistant("done").current_tool_session() == ()

    def test_attach_adds_without_moving_heads(self) -> None:
        conversation = Conversation.new().user("q")
        attached, turn_id = conversation.attach(
            convo.assistant("a"), parent=conversation.head()
        )
        assert attached.head() == conversation.head()
        assert attached.children(conversation.head()) == (turn_id,)
        again, same_id = attached.attach(
            convo.assistant("a"), parent=conversation.head()
        )
        assert same_id == turn_id
        assert again == attached

    def test_with_heads_checks_its_heads(self) -> None:
        conversation = Conversation.new().user("q")
        moved = conversation.with_heads(
            {"x": conversation.head(), "y": None}, active="y"
        )
        assert moved.active == "y"
        with pytest.raises(UnknownBranchError):
            conversation.with_heads({"x": None}, active="z")
        with pytest.raises(UnknownTurnError):
            conversation.with_heads({"x": convo.TurnId("b2:" + "2" * 64)}, active="x")

    def test_branch_heads_are_sorted_by_name(self) -> None:
        conversation = Conversation.new().fork("b").fork("a")
        assert list(branch_heads(conversation)) == ["a", "b", "main"]

    def test_a_conversation_is_not_equal_to_other_values(self) -> None:
        assert Conversation.new() != "conversation"

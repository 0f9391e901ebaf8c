"""GraphBuilder: many turns attached with one mutation, under the graph's own checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

import convo
from convo import Conversation, ToolCallBlock, ToolResultBlock
from convo._graph import Node
from convo._ids import compute_turn_id
from convo.errors import RoleOrderError, ToolPairingError, UnknownTurnError, UsageError
from convo.testing.strategies import conversations


def head_node(conversation: Conversation) -> Node:
    head = conversation.head()
    assert head is not None
    return conversation.node(head)


def attached_one_by_one(source: Conversation) -> Conversation:
    graph = Conversation.new()
    for node in source.walk():
        graph, _ = graph.attach(node.turn, parent=node.parent)
    return graph


class TestBuilderAgreesWithAttach:
    @settings(max_examples=60)
    @given(source=conversations(max_turns=10, branching=True, images=True))
    def test_building_a_graph_equals_attaching_its_turns_one_by_one(self, source):
        builder = Conversation.new().builder()
        ids = [builder.attach(n.turn, parent=n.parent).id for n in source.walk()]
        built = builder.finish()
        expected = attached_one_by_one(source)
        assert ids == [n.id for n in source.walk()]
        assert built.child_ids == expected.child_ids
        assert dict(built.nodes.items()) == dict(expected.nodes.items())
        assert built.heads == Conversation.new().heads  # heads are the caller's

    @settings(max_examples=40)
    @given(source=conversations(max_turns=10, branching=True))
    def test_adopting_every_node_rebuilds_the_same_graph(self, source):
        builder = Conversation.new().builder()
        for node in source.walk():
            builder.adopt(node)
        built = builder.finish()
        assert built.child_ids == source.child_ids
        assert dict(built.nodes.items()) == dict(source.nodes.items())

    def test_the_base_graph_is_left_untouched(self):
        base = Conversation.new().user("hi")
        builder = base.builder()
        builder.attach(convo.assistant("hello"), parent=base.head())
        grown = builder.finish()
        assert len(base) == 1
        assert len(grown) == 2

    def test_attaching_the_same_turn_twice_keeps_one_node(self):
        builder = Conversation.new().builder()
        first = builder.attach(convo.user("hi"), parent=None)
        again = builder.attach(convo.user("hi"), parent=None)
        assert first == again
        assert len(builder) == 1
        assert builder.finish().children(None) == (first.id,)


class TestBuilderChecks:
    def test_an_unknown_parent_is_refused(self):
        builder = Conversation.new().builder()
        with pytest.raises(UnknownTurnError):
            builder.attach(
                convo.user("hi"), parent=compute_turn_id(None, convo.user("x"))
            )

    def test_a_system_turn_below_another_turn_is_refused(self):
        builder = Conversation.new().builder()
        root = builder.attach(convo.user("hi"), parent=None)
        with pytest.raises(RoleOrderError):
            builder.attach(convo.system("late"), parent=root.id)

    def test_tool_results_are_paired_against_the_turns_attached_so_far(self):
        builder = Conversation.new().builder()
        root = builder.attach(convo.user("hi"), parent=None)
        calls = builder.attach(
            convo.assistant([ToolCallBlock(id="c1", name="f")]), parent=root.id
        )
        answer = convo.tool_results(ToolResultBlock(call_id="c1", content="1"))
        first = builder.attach(answer, parent=calls.id)
        again = convo.tool_results(ToolResultBlock(call_id="c1", content="2"))
        with pytest.raises(ToolPairingError):
            builder.attach(again, parent=first.id)

    def test_adopting_a_node_whose_parent_is_absent_is_refused(self):
        source = Conversation.new().user("hi").assistant("hello")
        child = head_node(source)
        with pytest.raises(UnknownTurnError):
            Conversation.new().builder().adopt(child)

    def test_adopting_a_node_with_a_depth_that_does_not_follow_is_refused(self):
        root = Conversation.new().user("hi")
        node = head_node(root)
        lying = Node(id=node.id, turn=node.turn, parent=None, depth=3)
        with pytest.raises(ValueError, match="depth"):
            Conversation.new().builder().adopt(lying)

    def test_a_finished_builder_refuses_more_work(self):
        builder = Conversation.new().builder()
        builder.finish()
        with pytest.raises(UsageError, match="finished"):
            builder.attach(convo.user("hi"), parent=None)

"""The C node builder builds exactly the Python node, id included, or nothing (issue 18).

`convo/_graph_c.c` places a turn whose canonical bytes are memoised (every
turn a load decodes): its id (blake2b over the parent's id and the turn's
bytes) and its `Node`, in one call. Its promise: the very node
`_node(compute_turn_id(parent, turn), turn, parent, depth)` builds, or None,
and then the Python path builds it. Checked on generated conversations, on
odd parents and memos, and for what keeps it honest: it takes every memoised
turn, leaks nothing, refuses a bad configuration, and is built where CI runs.
The store's hostile-row tests run through it too: a tampered row's id no
longer matches, and the load refuses it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convo
from convo import Conversation, Turn
from convo import _graph as graph
from convo._converter import CANONICAL, turn_bytes
from convo._ids import compute_turn_id
from convo.testing.strategies import conversations

C_NODE = graph._C_NODE

pytestmark = pytest.mark.skipif(
    C_NODE is None and not os.environ.get("CI"),
    reason="the C node builder is not built here (no C compiler at install time)"
    " or is turned off (CONVO_PURE_PYTHON)",
)

_SLOTS = ("id", "turn", "parent", "depth")


def c_node(parent: Any, turn: Turn, depth: int) -> graph.Node | None:
    assert C_NODE is not None
    return C_NODE(parent, turn, depth)


def python_node(parent: Any, turn: Turn, depth: int) -> graph.Node:
    return graph._node(compute_turn_id(parent, turn), turn, parent, depth)


def same_node(a: graph.Node | None, b: graph.Node) -> bool:
    return (
        a is not None
        and type(a) is type(b)
        and a.id == b.id
        and type(a.id) is str
        and a.turn is b.turn
        and a.parent == b.parent
        and a.depth == b.depth
    )


def memoised(text: str = "hello") -> Turn:
    turn = convo.user(text)
    turn_bytes(turn)  # memoises the canonical bytes, as a load does
    return turn


class TestCNode:
    def test_it_is_built_where_ci_runs(self) -> None:
        assert C_NODE is not None

    @settings(max_examples=200, deadline=None)
    @given(conversations(min_turns=1, max_turns=12, cache_control=True))
    def test_it_builds_the_python_node_of_every_memoised_turn(
        self, conversation: Conversation
    ) -> None:
        for node in conversation.walk():
            turn_bytes(node.turn)
            built = c_node(node.parent, node.turn, node.depth)
            assert same_node(built, python_node(node.parent, node.turn, node.depth))
            assert built is not None
            assert built.id == node.id  # the id the graph holds

    @pytest.mark.parametrize(
        "parent",
        [None, "b2:" + "0" * 64, "", "x", "a\x00b", '"quoted"', "%s%n", "~" * 300],
        ids=repr,
    )
    def test_any_ascii_parent_hashes_as_python_does(self, parent: str | None) -> None:
        turn = memoised()
        assert same_node(c_node(parent, turn, 3), python_node(parent, turn, 3))

    def test_the_id_is_blake2b_over_the_documented_bytes(self) -> None:
        turn = memoised()
        data = b'{"parent":"p","turn":' + turn_bytes(turn) + b"}"
        expected = "b2:" + hashlib.blake2b(data, digest_size=32).hexdigest()
        built = c_node("p", turn, 1)
        assert built is not None
        assert built.id == expected

    @pytest.mark.parametrize(
        ("case", "parent"),
        [
            ("no memoised bytes", None),
            ("a parent that is not ASCII", "b2:é"),
            ("a parent that is not a str", 7),
            ("memoised text instead of bytes", None),
        ],
    )
    def test_what_it_cannot_hash_as_python_does_is_left_to_python(
        self, case: str, parent: Any
    ) -> None:
        turn = convo.user("fresh") if case == "no memoised bytes" else memoised()
        if case.startswith("memoised text"):
            turn._memo[CANONICAL.name] = "text"
        assert c_node(parent, turn, 1) is None

    def test_a_turn_of_another_class_is_left_to_python(self) -> None:
        assert c_node(None, object(), 0) is None  # type: ignore[arg-type]

    def test_it_takes_three_arguments(self) -> None:
        with pytest.raises(TypeError, match="3 arguments"):
            C_NODE(None, memoised())  # type: ignore[call-arg, misc]

    @pytest.mark.parametrize(
        "bad", ["three slots", "a slot without a setter", "a memo that is not a slot"]
    )
    def test_a_bad_configuration_is_refused_and_changes_nothing(self, bad: str) -> None:
        from convo import _graph_c

        slots: tuple[Any, ...] = tuple(graph.Node.__dict__[n] for n in _SLOTS)
        memo: Any = Turn.__dict__["_memo"]
        if bad == "three slots":
            slots = slots[:3]
        elif bad.startswith("a slot"):
            slots = (len, *slots[1:])
        else:
            memo = len
        with pytest.raises(TypeError, match="configure"):
            _graph_c.configure(graph.Node, slots, memo, "canonical", hashlib.blake2b)
        turn = memoised()
        assert same_node(c_node(None, turn, 0), python_node(None, turn, 0))

    def test_a_build_for_other_fields_is_not_used(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from convo import _graph_c

        assert _graph_c.FIELDS == graph._NODE_FIELDS
        monkeypatch.setattr(_graph_c, "FIELDS", ("turn", "id", "parent", "depth"))
        assert graph._c_node() is None

    def test_a_node_class_with_other_fields_turns_it_off(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(graph, "_NODE_FIELDS", ("id", "turn", "depth", "parent"))
        assert graph._c_node() is None

    def test_it_leaks_nothing_and_holds_no_reference_it_did_not_give_back(
        self,
    ) -> None:
        turn = memoised("a turn of its own")
        parent = "b2:" + "1" * 64
        counts = (sys.getrefcount(turn), sys.getrefcount(parent))
        for _ in range(1_000):  # warms every cache
            c_node(parent, turn, 1)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(5_000):
                c_node(parent, turn, 1)
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert grown < 20_000
        assert (sys.getrefcount(turn), sys.getrefcount(parent)) == counts


class TestPlacing:
    @settings(max_examples=100, deadline=None)
    @given(st.data())
    def test_a_conversation_rebuilt_from_memoised_turns_has_the_same_ids(
        self, data: st.DataObject
    ) -> None:
        # What a load does: turns with their canonical bytes attached in order,
        # every id computed by the C builder, the same graph as the original.
        original = data.draw(conversations(min_turns=1, max_turns=10))
        builder = Conversation(heads=original.heads.__class__()).builder()
        for node in original.walk():
            turn_bytes(node.turn)
            placed = builder.attach(node.turn, parent=node.parent)
            assert placed.id == node.id
        assert set(builder.finish().nodes) == set(original.nodes)

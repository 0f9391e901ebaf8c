"""The public Hypothesis strategies draw valid, varied convo values."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import convo
from convo import (
    Conversation,
    ImageBlock,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
)
from convo._blocks import sniff_media_type
from convo._graph import _ALLOWED_BLOCKS
from convo.testing import strategies as cst

_FIND = settings(
    max_examples=400,
    phases=[Phase.generate],
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _exists(strategy: st.SearchStrategy[Any], condition: Callable[[Any], bool]) -> None:
    """Hypothesis finds a drawn value meeting `condition` (no shrinking)."""
    find(strategy, condition, settings=_FIND)


def _draw_once(strategy: st.SearchStrategy[Any]) -> None:
    @settings(max_examples=1, database=None)
    @given(strategy)
    def draw(_value: object) -> None:
        pass

    draw()


def _reasoning_parts(turns: tuple[Turn, ...]) -> list[Any]:
    return [p for t in turns for r in t.reasoning for p in r.parts]


def _has_dangling_call(c: Conversation) -> bool:
    path = c.path()
    return any(
        a.role == "assistant" and a.tool_calls and b.role == "user"
        for a, b in itertools.pairwise(path)
    )


def _has_multi_step_session(c: Conversation) -> bool:
    roles = [
        "C" if t.role == "assistant" and t.tool_calls else t.role[0] for t in c.path()
    ]
    return "CtC" in "".join(roles)


class TestTexts:
    @given(cst.texts())
    def test_texts_hold_no_nul_and_no_lone_surrogate(self, text: str) -> None:
        """Every drawn text is storable: no NUL, encodable as UTF-8."""
        assert "\x00" not in text
        text.encode("utf-8")

    def test_texts_include_the_troublesome_samples(self) -> None:
        for sample in ("\u2028", "\u0301", "مرحبا"):

            def contains(text: str, sample: str = sample) -> bool:
                return sample in text

            _exists(cst.texts(), contains)


class TestBlocks:
    @given(cst.blocks())
    def test_blocks_are_block_values(self, block: convo.Block) -> None:
        """Every drawn block is one of the five block classes."""
        assert isinstance(
            block,
            TextBlock | ReasoningBlock | ImageBlock | ToolCallBlock | ToolResultBlock,
        )

    @given(cst.blocks(kinds=["tool_call"]))
    def test_tool_call_arguments_are_json_objects(self, block: convo.Block) -> None:
        """Generated tool calls carry valid JSON object arguments."""
        assert isinstance(block, ToolCallBlock)
        assert isinstance(block.parsed_arguments(), dict)

    @given(cst.blocks(kinds=["image"]))
    def test_images_are_valid_small_images(self, block: convo.Block) -> None:
        """Image bytes announce the media type they are labelled with."""
        assert isinstance(block, ImageBlock)
        assert sniff_media_type(block.data) == block.media_type
        assert len(block.data) < 2048

    @given(cst.blocks(reasoning=False, images=False))
    def test_reasoning_and_images_can_be_left_out(self, block: convo.Block) -> None:
        """reasoning=False and images=False exclude those kinds (also in results)."""
        assert not isinstance(block, ReasoningBlock | ImageBlock)
        if isinstance(block, ToolResultBlock) and not isinstance(block.content, str):
            assert all(isinstance(b, TextBlock) for b in block.content)

    @given(cst.blocks())
    def test_no_cache_markers_unless_asked(self, block: convo.Block) -> None:
        """cache_control=False (the default) never attaches a marker."""
        assert block.cache_control is None

    def test_cache_markers_appear_when_asked(self) -> None:
        _exists(cst.blocks(cache_control=True), lambda b: b.cache_control is not None)

    @pytest.mark.parametrize(
        "part",
        ["signed", "unsigned", "signature-only", "encrypted"],
    )
    def test_every_kind_of_reasoning_part_is_drawn(self, part: str) -> None:
        def matches(p: Any) -> bool:
            if part == "encrypted":
                return isinstance(p, SummaryEncryptedText)
            if not isinstance(p, SummaryText):
                return False
            return {
                "signed": bool(p.text) and bool(p.signature),
                "unsigned": p.signature is None,
                "signature-only": p.text == "" and bool(p.signature),
            }[part]

        _exists(cst.reasoning_parts(), matches)

    def test_reasoning_of_other_families_and_of_unknown_origin_is_drawn(self) -> None:
        blocks = cst.blocks(kinds=["reasoning"])
        _exists(blocks, lambda b: b.provenance is None)
        _exists(
            blocks,
            lambda b: b.provenance is not None and b.provenance.family != "claude",
        )

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"kinds": ["video"]},
            {"kinds": "text"},
            {"kinds": []},
            {"kinds": ["reasoning"], "reasoning": False},
            {"kinds": ["image"], "images": False},
            {"reasoning": "yes"},
        ],
    )
    def test_impossible_options_raise_invalid_argument_when_drawn(
        self, kwargs: dict[str, Any]
    ) -> None:
        strategy = cst.blocks(**kwargs)  # no error yet: errors come at draw time
        with pytest.raises(InvalidArgument):
            _draw_once(strategy)


class TestTurns:
    @given(cst.turns())
    def test_turns_carry_only_blocks_their_role_allows(self, turn: Turn) -> None:
        """A drawn turn can stand in a conversation as far as its blocks go."""
        allowed = _ALLOWED_BLOCKS[turn.role]
        assert all(isinstance(b, allowed) for b in turn.blocks)
        ids = [c.id for c in turn.tool_calls]
        assert len(ids) == len(set(ids))

    @given(cst.turns(roles=["assistant"], reasoning=False, tool_calls=False))
    def test_assistant_options_are_honoured(self, turn: Turn) -> None:
        """reasoning=False and tool_calls=False leave those blocks out."""
        assert turn.role == "assistant"
        assert not turn.reasoning
        assert not turn.tool_calls

    @pytest.mark.parametrize(
        "kwargs",
        [{"roles": ["robot"]}, {"roles": []}, {"roles": "user"}, {"metadata": 1}],
    )
    def test_impossible_options_raise_invalid_argument_when_drawn(
        self, kwargs: dict[str, Any]
    ) -> None:
        strategy = cst.turns(**kwargs)
        with pytest.raises(InvalidArgument):
            _draw_once(strategy)


class TestConversations:
    @settings(max_examples=30)
    @given(cst.conversations(branching=True, images=True))
    def test_conversations_satisfy_the_graph_invariants(
        self, conversation: Conversation
    ) -> None:
        """Replaying every branch's path through append rebuilds the same turns."""
        for branch in conversation.heads:
            path = conversation.path(branch)
            rebuilt = Conversation.from_turns(path)
            assert rebuilt.path() == path
            assert rebuilt.path_ids() == conversation.path_ids(branch)

    @settings(max_examples=30)
    @given(cst.conversations(min_turns=3, max_turns=5, system=False))
    def test_sizes_and_system_option_are_honoured(
        self, conversation: Conversation
    ) -> None:
        """min_turns/max_turns bound the main path; system=False means no system turn."""
        path = conversation.path()
        assert 3 <= len(path) <= 5
        assert all(t.role != "system" for t in path)

    @settings(max_examples=30)
    @given(cst.conversations(reasoning=False, tool_sessions=False))
    def test_reasoning_and_tool_sessions_can_be_left_out(
        self, conversation: Conversation
    ) -> None:
        """Without tool sessions there are no tool calls and no tool turns."""
        for turn in conversation.path():
            assert not turn.reasoning
            assert not turn.tool_calls
            assert turn.role != "tool"

    @pytest.mark.parametrize(
        ("name", "condition"),
        [
            ("a dangling call", _has_dangling_call),
            ("a multi-step session", _has_multi_step_session),
            ("a session in progress", lambda c: bool(c.current_tool_session())),
            (
                "a system prompt",
                lambda c: bool(c.path()) and c.path()[0].role == "system",
            ),
            (
                "signature-only reasoning",
                lambda c: any(
                    isinstance(p, SummaryText) and not p.text and p.signature
                    for p in _reasoning_parts(c.path())
                ),
            ),
            (
                "encrypted reasoning",
                lambda c: any(
                    isinstance(p, SummaryEncryptedText)
                    for p in _reasoning_parts(c.path())
                ),
            ),
        ],
    )
    def test_rich_structure_is_drawn(
        self, name: str, condition: Callable[[Conversation], bool]
    ) -> None:
        _exists(cst.conversations(), condition)

    def test_branching_draws_several_branches_and_images_when_asked(self) -> None:
        _exists(cst.conversations(branching=True), lambda c: len(c.heads) >= 3)
        _exists(
            cst.conversations(branching=True),
            lambda c: c.active != "main" and len(c.leaves()) >= 2,
        )
        _exists(
            cst.conversations(images=True),
            lambda c: any(
                isinstance(b, ImageBlock) for t in c.path() for b in t.blocks
            ),
        )

    @settings(max_examples=30)
    @given(cst.conversations(images=False))
    def test_no_images_unless_asked(self, conversation: Conversation) -> None:
        """images=False (the default) draws no image anywhere."""
        for node in conversation.walk():
            for block in node.turn.blocks:
                assert not isinstance(block, ImageBlock)
                if isinstance(block, ToolResultBlock) and not isinstance(
                    block.content, str
                ):
                    assert all(isinstance(b, TextBlock) for b in block.content)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"min_turns": 5, "max_turns": 2},
            {"min_turns": -1},
            {"max_turns": 1.5},
            {"branching": None},
        ],
    )
    def test_impossible_options_raise_invalid_argument_when_drawn(
        self, kwargs: dict[str, Any]
    ) -> None:
        strategy = cst.conversations(**kwargs)
        with pytest.raises(InvalidArgument):
            _draw_once(strategy)


class TestTools:
    @given(cst.tools())
    def test_tools_have_object_schemas(self, tool: convo.Tool) -> None:
        """Every drawn tool has a JSON Schema of type object."""
        assert tool.parameters["type"] == "object"
        assert 1 <= len(tool.name) <= 128


class TestFromType:
    @pytest.mark.parametrize(
        "cls",
        [
            Turn,
            Conversation,
            convo.Tool,
            convo.Usage,
            convo.Provenance,
            SummaryText,
            SummaryEncryptedText,
            TextBlock,
            ReasoningBlock,
            ImageBlock,
            ToolCallBlock,
            ToolResultBlock,
        ],
    )
    def test_from_type_draws_each_registered_class(self, cls: type) -> None:
        @settings(max_examples=5, database=None)
        @given(st.from_type(cls))
        def check(value: object) -> None:
            assert isinstance(value, cls)

        check()

    def test_from_type_works_without_importing_convo_testing(self) -> None:
        code = (
            "from hypothesis import given, settings, strategies as st\n"
            "import convo\n"
            "@settings(max_examples=3, database=None)\n"
            "@given(st.from_type(convo.Turn))\n"
            "def check(turn):\n"
            "    assert isinstance(turn, convo.Turn)\n"
            "check()\n"
        )
        completed = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr

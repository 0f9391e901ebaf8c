"""`trim`: fitting a token budget by dropping whole oldest exchanges (R10, R13)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convo import (
    ImageBlock,
    Provenance,
    ReasoningBlock,
    SummaryText,
    Target,
    TextBlock,
    Tool,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    assistant,
    system,
    tool_results,
    user,
)
from convo.errors import PolicyError
from convo.policies import RequestView, estimate_tokens, trim
from convo.policies._repair import pairing_problems
from convo.testing.strategies import conversations, png_bytes

TARGET = Target(name="t-trim", family="claude")


def one(_turn: Turn) -> int:
    return 1


def view(*turns: Turn, tools: tuple[Tool, ...] = ()) -> RequestView:
    return RequestView(turns=turns, tools=tools, target=TARGET)


EXCHANGES = (
    system("sys"),
    user("q1"),
    assistant("a1"),
    user("q2"),
    assistant([ToolCallBlock(id="c1", name="f")]),
    tool_results(ToolResultBlock(call_id="c1", content="r")),
    assistant("a2"),
    user("q3"),
    assistant("a3"),
)


class TestTrim:
    def test_drops_whole_oldest_exchanges_and_keeps_the_system_turn(self):
        out = trim(max_tokens=7, estimate=one)(view(*EXCHANGES))
        assert out.turns == (EXCHANGES[0], *EXCHANGES[3:])
        assert out.notes[0].path == "$.turns[1:3]"

    def test_never_splits_a_tool_session_r10(self):
        """R10: trimming goes by whole exchanges, so a call never loses its result."""
        out = trim(max_tokens=4, estimate=one)(view(*EXCHANGES))
        assert out.turns == (EXCHANGES[0], *EXCHANGES[7:])
        assert pairing_problems(out.turns, pending_ok=False) == []

    def test_returns_the_view_unchanged_when_it_fits(self):
        v = view(*EXCHANGES)
        assert trim(max_tokens=100, estimate=one)(v) is v

    def test_keeps_the_last_exchange_and_notes_when_even_it_does_not_fit(self):
        out = trim(max_tokens=1, estimate=one)(view(*EXCHANGES))
        assert out.turns == (EXCHANGES[0], *EXCHANGES[7:])
        assert out.notes[-1].action == "over_budget"

    def test_raises_policy_error_when_asked_and_even_the_last_exchange_does_not_fit(
        self,
    ):
        with pytest.raises(PolicyError, match="max_tokens=1") as info:
            trim(max_tokens=1, estimate=one, on_overflow="raise")(view(*EXCHANGES))
        assert info.value.policy == "trim"

    def test_turns_before_the_first_user_turn_go_first(self):
        turns = (assistant("greeting"), user("q"), assistant("a"))
        out = trim(max_tokens=2, estimate=one)(view(*turns))
        assert out.turns == turns[1:]

    def test_tool_definitions_count_against_the_budget(self):
        tools = (Tool(name="search", description="x" * 400),)
        out = trim(max_tokens=110, estimate=one)(view(*EXCHANGES, tools=tools))
        assert len(out.turns) < len(EXCHANGES)

    def test_never_leaves_a_reasoning_only_assistant_turn_r13(self):
        """R13: trim keeps turns whole, so it cannot leave reasoning alone in a turn."""
        reasoning = ReasoningBlock(
            parts=(SummaryText(text="t", signature="s"),),
            provenance=Provenance(provider="a", family="claude"),
        )
        turns = (
            user("q1"),
            assistant([reasoning, TextBlock(text="a")]),
            user("q2"),
            assistant([reasoning, TextBlock(text="b")]),
        )
        out = trim(max_tokens=2, estimate=one)(view(*turns))
        assert out.turns == turns[2:]

    @settings(max_examples=40)
    @given(conversations(), st.integers(0, 400))
    def test_fits_the_budget_or_keeps_only_the_last_exchange(
        self, conversation, budget
    ):
        """trim leaves a view within budget, or the system turn plus the last exchange only."""
        turns = conversation.path()
        out = trim(max_tokens=budget)(view(*turns))
        total = sum(estimate_tokens(t) for t in out.turns)
        assert total <= budget or out.notes[-1].action == "over_budget"
        head = turns[:1] if turns and turns[0].role == "system" else ()
        tail = out.turns[len(head) :]
        assert out.turns[: len(head)] == head
        assert turns[len(turns) - len(tail) :] == tail
        if not pairing_problems(turns):
            assert pairing_problems(out.turns) == []


class TestEstimate:
    def test_is_about_four_characters_per_token_plus_framing(self):
        assert estimate_tokens(user("x" * 400)) == 100 + 4 * 2

    def test_counts_an_image_as_a_fixed_size(self):
        image = ImageBlock.from_bytes(png_bytes(2, 2, (0, 0, 0)))
        assert estimate_tokens(user([image])) == 1600 + 8

    def test_counts_reasoning_signatures_tool_arguments_and_results(self):
        reasoning = ReasoningBlock(parts=(SummaryText(text="abcd", signature="efgh"),))
        turn = assistant(
            [reasoning, ToolCallBlock(id="c", name="ab", arguments="{}" + "x" * 2)]
        )
        assert estimate_tokens(turn) == 2 + 2 + 4 * 3
        assert (
            estimate_tokens(tool_results(ToolResultBlock(call_id="c", content="abcd")))
            == 1 + 8
        )

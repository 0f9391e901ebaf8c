"""`fit`: the request stays within window - max_output - tools - margin."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convo import (
    Target,
    Tool,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    assistant,
    system,
    tool_results,
    user,
)
from convo.errors import ContextWindowError, PolicyError
from convo.policies import RequestView, fit, preview
from convo.policies._repair import pairing_problems

TARGET = Target(name="t-fit", family="claude", context_window=100, max_output_tokens=10)


@attrs.frozen
class Words:
    """Counts one token per turn plus one per 10 characters of text or result."""

    def count_turn(self, turn: Turn) -> int:
        results = sum(len(r.text) for r in turn.tool_results)
        return 1 + (len(turn.text) + results) // 10

    def count_tools(self, tools: Sequence[Tool]) -> int:
        return len(tools)


WORDS = Words()


def view(*turns: Turn, tools: tuple[Tool, ...] = ()) -> RequestView:
    return RequestView(turns=turns, tools=tools, target=TARGET)


def exchange(n: int, size: int = 100) -> tuple[Turn, Turn]:
    return user(f"q{n}" + "x" * size), assistant(f"a{n}" + "y" * size)


def history(count: int, size: int = 100) -> tuple[Turn, ...]:
    turns: list[Turn] = [system("sys")]
    for n in range(count):
        turns.extend(exchange(n, size))
    return tuple(turns)


def tool_exchange(n: int, result: str) -> tuple[Turn, ...]:
    call = ToolCallBlock(id=f"c{n}", name="lookup", arguments="{}")
    return (
        user(f"q{n}"),
        assistant([call]),
        tool_results(ToolResultBlock(call_id=f"c{n}", content=result)),
        assistant(f"a{n}"),
    )


class TestFit:
    def test_leaves_a_view_within_budget_untouched(self) -> None:
        v = view(*history(2))
        assert fit(counter=WORDS, step=1)(v) is v

    def test_drops_the_oldest_exchanges_and_keeps_the_system_turn(self) -> None:
        turns = history(10)  # 1 + 10 * 2 * 11 = 221 tokens
        out = fit(window=100, max_output=0, margin=0, step=1, reserve=1, counter=WORDS)(
            view(*turns)
        )
        assert out.turns[0] == turns[0]
        assert out.turns[-2:] == turns[-2:]
        assert sum(WORDS.count_turn(t) for t in out.turns) <= 100
        assert [n.action for n in out.notes] == ["remove_turns"] * 6

    def test_the_budget_subtracts_output_tools_and_margin(self) -> None:
        policy = fit(window=1000, max_output=100, margin=50, counter=WORDS)
        tools = (Tool(name="a", description="", parameters={}),) * 3
        assert policy.budget(view(user("q"), tools=tools)) == 1000 - 100 - 3 - 50

    def test_defaults_come_from_the_target(self) -> None:
        assert fit(margin=0, counter=WORDS).budget(view(user("q"))) == 100 - 10

    def test_refuses_a_target_without_a_window(self) -> None:
        bare = RequestView(turns=(user("q"),), target=Target(name="bare"))
        with pytest.raises(PolicyError, match="fit needs a context window"):
            fit()(bare)

    def test_never_splits_a_tool_call_from_its_results(self) -> None:
        turns = (
            system("s"),
            *tool_exchange(1, "r" * 300),
            *tool_exchange(2, "r" * 300),
        )
        out = fit(window=40, max_output=0, margin=0, step=1, reserve=1, counter=WORDS)(
            view(*turns)
        )
        assert out.turns == (turns[0], *turns[5:])
        assert not pairing_problems(out.turns)

    def test_never_touches_a_tool_session_in_progress(self) -> None:
        turns = (*history(3), *tool_exchange(9, "r" * 200)[:3])
        out = fit(window=30, max_output=0, margin=0, step=1, reserve=1, counter=WORDS)(
            view(*turns)
        )
        assert out.turns[-3:] == turns[-3:]

    def test_shrinks_old_tool_results_before_dropping_exchanges(self) -> None:
        turns = (system("s"), *tool_exchange(1, "r" * 1000), *exchange(2, 10))
        out = fit(
            window=60,
            max_output=0,
            margin=0,
            step=1,
            reserve=1,
            counter=WORDS,
            shrink_tool_results=True,
            preview_chars=40,
        )(view(*turns))
        assert len(out.turns) == len(turns)
        shrunk = out.turns[3].tool_results[0]
        assert shrunk.call_id == "c1"
        assert "characters omitted" in shrunk.text
        assert [n.action for n in out.notes] == ["shrink"]

    def test_keeps_the_first_exchange_when_asked(self) -> None:
        turns = history(6)
        out = fit(
            window=60,
            max_output=0,
            margin=0,
            step=1,
            reserve=1,
            counter=WORDS,
            keep_first=True,
        )(view(*turns))
        assert out.turns[:3] == turns[:3]
        assert out.turns[-2:] == turns[-2:]

    def test_keeps_the_last_n_exchanges(self) -> None:
        turns = history(6)
        out = fit(
            window=80,
            max_output=0,
            margin=0,
            step=1,
            reserve=1,
            counter=WORDS,
            keep_last=3,
        )(view(*turns))
        assert out.turns[-6:] == turns[-6:]

    def test_refuses_with_the_numbers_when_the_minimum_does_not_fit(self) -> None:
        turns = history(4)
        policy = fit(
            window=30,
            max_output=5,
            margin=2,
            step=1,
            reserve=1,
            counter=WORDS,
            keep_last=2,
        )
        with pytest.raises(ContextWindowError) as caught:
            policy(view(*turns))
        error = caught.value
        assert (error.window, error.max_output, error.margin, error.budget) == (
            30,
            5,
            2,
            23,
        )
        assert error.minimum == 1 + 2 * 22
        assert "window 30 - max_output 5 - tools 0 - margin 2" in str(error)

    def test_the_cut_moves_in_steps_so_the_prefix_holds_while_the_chat_grows(
        self,
    ) -> None:
        def first_kept(step: int) -> list[Turn]:
            policy = fit(window=200, max_output=0, margin=0, step=step, counter=WORDS)
            turns = history(8)
            cuts = []
            for extra in range(8):
                grown = (*turns, *(t for n in range(extra) for t in exchange(100 + n)))
                cuts.append(policy(view(*grown)).turns[1])
            return cuts

        assert len(set(first_kept(1))) == 8  # every 22-token exchange moves it
        assert len(set(first_kept(60))) <= 4  # 8 x 22 tokens is 3 steps of 60


class TestPreview:
    def test_keeps_head_and_tail_and_says_how_much_went(self) -> None:
        cut = preview("a" * 50 + "b" * 50, 20)
        assert cut.startswith("a" * 10)
        assert cut.endswith("b" * 10)
        assert "80 characters omitted" in cut

    def test_leaves_short_text_alone(self) -> None:
        assert preview("short", 20) == "short"


class TestFitLaws:
    @given(
        count=st.integers(1, 12),
        size=st.integers(0, 200),
        margin=st.integers(0, 150),
        more=st.integers(0, 150),
        step=st.integers(1, 50),
    )
    def test_is_idempotent_and_monotone_in_the_budget(
        self, count: int, size: int, margin: int, more: int, step: int
    ) -> None:
        turns = history(count, size)
        tight = fit(
            window=400, max_output=0, margin=margin + more, step=step, counter=WORDS
        )
        loose = fit(window=400, max_output=0, margin=margin, step=step, counter=WORDS)
        try:
            once = tight(view(*turns))
        except ContextWindowError:
            return
        assert tight(once).turns == once.turns
        assert set(loose(view(*turns)).turns) >= set(once.turns)
        assert sum(WORDS.count_turn(t) for t in once.turns) <= tight.budget(once)

"""Cache breakpoint placement, written from provider rules R6, R7, R8 and R9."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings

from convo import (
    CacheControl,
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
from convo._targets import CacheRules
from convo.errors import PolicyError
from convo.policies import RequestView, cache_breakpoints
from convo.policies._cache import markers, position_path
from convo.testing.strategies import conversations

CACHING = Target(
    name="t-cache",
    family="claude",
    cache=CacheRules(supported=True, max_breakpoints=4, min_cacheable_tokens=0),
)
NO_CACHE = Target(name="t-nocache", family="gpt-oss")
place = cache_breakpoints()


def thinking() -> ReasoningBlock:
    return ReasoningBlock(
        parts=(SummaryText(text="hmm", signature="s"),),
        provenance=Provenance(provider="anthropic", family="claude"),
    )


def marked(text: str, ttl: str | None = None) -> TextBlock:
    return TextBlock(text=text, cache_control=CacheControl(ttl=ttl))  # type: ignore[arg-type]


def view(
    *turns: Turn, target: Target = CACHING, tools: tuple[Tool, ...] = ()
) -> RequestView:
    return RequestView(turns=turns, tools=tools, target=target)


def paths(v: RequestView) -> list[str]:
    return [position_path(m.position) for m in markers(v.turns, v.tools)]


def ttls(v: RequestView) -> list[str | None]:
    return [m.control.ttl for m in markers(v.turns, v.tools)]


CONVERSATION = (
    system("You are terse."),
    user("q1"),
    assistant([thinking(), TextBlock(text="a1")]),
    user("q2"),
)
TOOLS = (Tool(name="search"), Tool(name="lookup"))


class TestPlacement:
    def test_places_tools_system_previous_and_rolling_markers_in_prefix_order(self):
        out = place(view(*CONVERSATION, tools=TOOLS))
        assert paths(out) == [
            "$.tools[1]",
            "$.turns[0].blocks[0]",
            "$.turns[1].blocks[0]",
            "$.turns[3].blocks[0]",
        ]

    def test_the_previous_rolling_marker_is_where_the_last_request_put_its_rolling_marker(
        self,
    ):
        """The prefix written by the previous request is read by this one."""
        before = place(view(*CONVERSATION[:2]))
        after = place(view(*CONVERSATION))
        assert "$.turns[1].blocks[0]" in paths(before)
        assert "$.turns[1].blocks[0]" in paths(after)

    def test_in_a_tool_loop_the_rolling_marker_sits_on_the_last_tool_result(self):
        turns = (
            user("q"),
            assistant([ToolCallBlock(id="c1", name="search")]),
            tool_results(ToolResultBlock(call_id="c1", content="r1")),
            assistant([ToolCallBlock(id="c2", name="search")]),
            tool_results(ToolResultBlock(call_id="c2", content="r2")),
        )
        assert paths(place(view(*turns))) == [
            "$.turns[2].blocks[0]",
            "$.turns[4].blocks[0]",
        ]

    def test_reports_the_plan_as_notes(self):
        out = place(view(*CONVERSATION, tools=TOOLS))
        marks = [n for n in out.notes if n.action == "mark"]
        assert [n.path for n in marks] == [
            "$.turns[3].blocks[0]",
            "$.turns[1].blocks[0]",
            "$.turns[0].blocks[0]",
            "$.tools[1]",
        ]
        assert marks[0].reason.startswith("rolling")
        assert place.plan(view(*CONVERSATION, tools=TOOLS)).marks == tuple(
            (m.position, m.control.ttl) for m in markers(out.turns, out.tools)
        )

    def test_never_marks_reasoning_or_empty_text_r7(self):
        """R7: cache_control never on reasoning or an empty / whitespace text block."""
        turns = (
            user("q"),
            assistant([TextBlock(text="answer"), thinking(), TextBlock(text="  ")]),
        )
        out = place(view(*turns))
        assert paths(out) == ["$.turns[0].blocks[0]", "$.turns[1].blocks[0]"]

    def test_removes_markers_already_on_reasoning_or_empty_text_r7(self):
        """R7: markers misplaced in the input are removed, with a note."""
        bad = attrs.evolve(thinking(), cache_control=CacheControl())
        out = place(view(user("q"), assistant([bad, marked(" "), TextBlock(text="a")])))
        assert paths(out) == ["$.turns[0].blocks[0]", "$.turns[1].blocks[2]"]
        assert [n.path for n in out.notes if n.action == "unmark"] == [
            "$.turns[1].blocks[0]",
            "$.turns[1].blocks[1]",
        ]

    def test_is_a_no_op_without_markers_for_a_target_without_cache_support(self):
        v = view(*CONVERSATION, target=NO_CACHE)
        assert place(v) is v

    def test_removes_markers_a_target_without_cache_support_cannot_take(self):
        out = place(view(user("q"), assistant([marked("a")]), target=NO_CACHE))
        assert paths(out) == []
        assert [n.action for n in out.notes] == ["unmark"]

    def test_refuses_a_ttl_the_target_does_not_take(self):
        target = attrs.evolve(CACHING, cache=CacheRules(supported=True, ttls=("5m",)))
        with pytest.raises(PolicyError, match="ttl"):
            cache_breakpoints(ttl="1h")(view(user("q"), target=target))

    def test_is_deterministic_and_idempotent(self):
        v = view(*CONVERSATION, tools=TOOLS)
        assert place(v) == place(v)
        once = place(v)
        assert place(once).turns == once.turns
        assert place(once).tools == once.tools

    def test_configuration_switches_off_candidates(self):
        policy = cache_breakpoints(tools=False, system=False)
        assert paths(policy(view(*CONVERSATION, tools=TOOLS))) == [
            "$.turns[1].blocks[0]",
            "$.turns[3].blocks[0]",
        ]


class TestBudget:
    def test_counts_markers_already_present_and_evicts_the_oldest_message_markers_first_r6(
        self,
    ):
        """R6: at most 4 markers per request, tools + system + messages together."""
        turns = (
            system("sys"),
            user([marked("old 1")]),
            assistant([marked("old 2")]),
            user([marked("old 3")]),
            assistant("a"),
            user("new"),
        )
        out = place(view(*turns, tools=TOOLS))
        assert len(markers(out.turns, out.tools)) == 4
        assert paths(out) == [
            "$.tools[1]",
            "$.turns[0].blocks[0]",
            "$.turns[3].blocks[0]",
            "$.turns[5].blocks[0]",
        ]
        evicted = [n.path for n in out.notes if n.action == "evict"]
        assert evicted == ["$.turns[1].blocks[0]", "$.turns[2].blocks[0]"]
        assert all("R6" in n.reason for n in out.notes if n.action == "evict")

    def test_evicts_system_then_tool_markers_when_no_message_marker_is_left(self):
        tools = tuple(
            Tool(name=f"t{i}", cache_control=CacheControl()) for i in range(5)
        )
        out = cache_breakpoints(rolling=False)(
            view(system("s"), user("q"), tools=tools)
        )
        assert paths(out) == ["$.tools[1]", "$.tools[2]", "$.tools[3]", "$.tools[4]"]

    def test_respects_a_smaller_budget_of_the_target(self):
        target = attrs.evolve(
            CACHING,
            cache=CacheRules(supported=True, max_breakpoints=2, min_cacheable_tokens=0),
        )
        out = place(view(*CONVERSATION, tools=TOOLS, target=target))
        assert paths(out) == ["$.tools[1]", "$.turns[0].blocks[0]"]

    @settings(max_examples=40)
    @given(conversations(cache_control=True))
    def test_never_more_than_the_budget_whatever_was_present(self, conversation):
        """Whatever markers the input carries, the output has at most max_breakpoints."""
        out = place(view(*conversation.path()))
        found = markers(out.turns, out.tools)
        assert len(found) <= 4
        assert all(m.markable for m in found)


class TestTtlOrder:
    def test_raises_an_earlier_shorter_ttl_to_the_later_longer_one_r8(self):
        """R8: an earlier breakpoint may not have a shorter ttl than a later one."""
        policy = cache_breakpoints(ttl="1h", system=False)
        out = policy(view(system([marked("sys", "5m")]), user("q")))
        assert ttls(out) == ["1h", "1h"]
        assert [n.action for n in out.notes].count("raise_ttl") == 1

    def test_keeps_a_longer_earlier_ttl(self):
        out = place(view(system([marked("sys", "1h")]), user("q")))
        assert ttls(out) == ["1h", None]

    def test_keeps_the_longer_ttl_of_a_marker_already_present(self):
        out = place(view(user([marked("q", "1h")])))
        assert ttls(out) == ["1h"]


class TestMinimumLength:
    def test_skips_a_prefix_below_the_minimum_cacheable_length_r9(self):
        """R9: prompts below the model's minimum are silently not cached, so no marker."""
        target = attrs.evolve(
            CACHING, cache=CacheRules(supported=True, min_cacheable_tokens=1024)
        )
        out = place(view(system("short"), user("q"), target=target))
        assert paths(out) == []
        skipped = [n for n in out.notes if n.action == "skip"]
        assert len(skipped) == 2
        assert all("R9" in n.reason for n in skipped)

    def test_marks_once_the_estimated_prefix_reaches_the_minimum(self):
        target = attrs.evolve(
            CACHING, cache=CacheRules(supported=True, min_cacheable_tokens=1024)
        )
        long_system = system("word " * 1000)  # about 1,250 tokens at 4 characters each
        out = place(view(long_system, user("q"), target=target))
        assert paths(out) == ["$.turns[0].blocks[0]", "$.turns[1].blocks[0]"]

    def test_tools_count_towards_the_prefix(self):
        target = attrs.evolve(
            CACHING, cache=CacheRules(supported=True, min_cacheable_tokens=100)
        )
        tools = (Tool(name="search", description="x" * 500),)
        out = place(view(user("q"), target=target, tools=tools))
        assert paths(out) == ["$.tools[0]", "$.turns[0].blocks[0]"]


class TestNestedMarkers:
    def test_counts_and_evicts_markers_inside_tool_result_content(self):
        inner = ToolResultBlock(call_id="c1", content=(marked("r"),))
        turns = (
            user([marked("a")]),
            assistant([ToolCallBlock(id="c1", name="f")]),
            tool_results(inner),
            assistant([marked("b")]),
            user([marked("c")]),
            assistant("d"),
            user("e"),
        )
        out = place(view(*turns))
        assert len(markers(out.turns, out.tools)) == 4
        assert paths(out)[0] == "$.turns[2].blocks[0].content[0]"
        assert [n.path for n in out.notes if n.action == "evict"] == [
            "$.turns[0].blocks[0]"
        ]

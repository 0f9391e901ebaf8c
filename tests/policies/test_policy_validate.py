"""`validate`: one test per provider rule it checks (R2, R6, R7, R8, R10, R13, R16)."""

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
from convo.errors import PolicyError, RequestRejectedError
from convo.policies import (
    RequestView,
    compose,
    default_policies,
    drop_reasoning,
    validate,
)
from convo.testing.strategies import conversations

CLAUDE = Target(
    name="t-claude",
    provider="anthropic",
    family="claude",
    cache=CacheRules(supported=True, min_cacheable_tokens=0),
    requires_signatures=True,
    reasoning_required_in_tool_loop=True,
)
PLAIN = Target(name="t-plain", family="gpt-oss")


def thinking() -> ReasoningBlock:
    return ReasoningBlock(
        parts=(SummaryText(text="t", signature="s"),),
        provenance=Provenance(provider="anthropic", family="claude"),
    )


def call(call_id: str = "c1") -> ToolCallBlock:
    return ToolCallBlock(id=call_id, name="f")


def result(call_id: str = "c1") -> Turn:
    return tool_results(ToolResultBlock(call_id=call_id, content="r"))


def marked(text: str = "x", ttl: str | None = None) -> TextBlock:
    return TextBlock(text=text, cache_control=CacheControl(ttl=ttl))  # type: ignore[arg-type]


def check(*turns: Turn, target: Target = CLAUDE, tools=(), source=None) -> None:
    validate(RequestView(turns=turns, tools=tools, target=target), source=source)


def rule_of(*turns: Turn, **kwargs) -> str:
    with pytest.raises(RequestRejectedError) as info:
        check(*turns, **kwargs)
    assert info.value.target == kwargs.get("target", CLAUDE).name
    return info.value.rule


class TestValidate:
    def test_accepts_a_well_formed_view(self):
        check(system("s"), user("q"), assistant([thinking(), call()]), result())

    def test_r2_the_turn_continuing_a_tool_loop_must_start_with_its_reasoning(self):
        """R2: with thinking on, the assistant message continuing a tool loop starts with reasoning."""
        assert rule_of(user("q"), assistant([call(), thinking()]), result()) == "R2"

    def test_r2_interleaved_reasoning_after_the_first_is_fine(self):
        check(
            user("q"),
            assistant([thinking(), call("a"), thinking(), call("b")]),
            result("a"),
            result("b"),
        )

    def test_r2_refuses_a_tool_loop_whose_reasoning_a_policy_dropped(self):
        """R2: the source shows the turn had reasoning; the view lost it."""
        source = (user("q"), assistant([thinking(), call()]), result())
        view = drop_reasoning()(RequestView(turns=source, target=CLAUDE))
        with pytest.raises(RequestRejectedError) as info:
            validate(view, source=source)
        assert info.value.rule == "R2"
        assert info.value.path == "$.turns[1]"

    def test_r2_does_not_apply_to_targets_that_do_not_require_it(self):
        source = (user("q"), assistant([thinking(), call()]), result())
        target = attrs.evolve(CLAUDE, reasoning_required_in_tool_loop=False)
        view = drop_reasoning()(RequestView(turns=source, target=target))
        validate(view, source=source)

    def test_r6_at_most_four_markers(self):
        """R6: at most 4 cache_control markers per request."""
        turns = (
            system([marked()]),
            user([marked(), marked()]),
            assistant([marked()]),
            user([marked()]),
        )
        assert rule_of(*turns) == "R6"

    def test_r6_counts_markers_on_tool_definitions(self):
        tools = tuple(
            Tool(name=f"t{i}", cache_control=CacheControl()) for i in range(4)
        )
        assert rule_of(user([marked()]), tools=tools) == "R6"

    def test_r7_no_marker_on_reasoning(self):
        """R7: cache_control never on a reasoning block or empty text."""
        marked_reasoning = attrs.evolve(thinking(), cache_control=CacheControl())
        assert (
            rule_of(user("q"), assistant([marked_reasoning, TextBlock(text="a")]))
            == "R7"
        )

    def test_r7_no_marker_on_empty_text(self):
        assert rule_of(user([TextBlock(text="q"), marked(" ")])) == "R7"

    def test_r8_no_earlier_marker_with_a_shorter_ttl(self):
        """R8: an earlier breakpoint may not have a shorter ttl than a later one."""
        assert rule_of(system([marked("s", "5m")]), user([marked("q", "1h")])) == "R8"

    def test_r10_a_dangling_call(self):
        """R10: every tool call has exactly one result before the next user message."""
        assert rule_of(user("q"), assistant([call()]), user("n")) == "R10"

    def test_r10_a_request_ending_with_unanswered_calls(self):
        assert rule_of(user("q"), assistant([call()])) == "R10"

    def test_r10_an_orphan_result(self):
        assert rule_of(user("q"), assistant("a"), result()) == "R10"

    def test_r13_no_reasoning_only_assistant_turn(self):
        """R13: no assistant message may consist of reasoning only."""
        assert rule_of(user("q"), assistant([thinking()]), user("n")) == "R13"

    def test_r16_a_target_without_caching_takes_no_markers(self):
        """R16: Databricks answers unknown fields (cache_control on non-Claude) with 400."""
        assert rule_of(user([marked()]), target=PLAIN) == "R16"

    def test_a_system_turn_after_the_first_is_a_policy_error(self):
        with pytest.raises(PolicyError):
            check(user("q"), system("late"))

    def test_the_error_names_rule_path_and_fix(self):
        with pytest.raises(RequestRejectedError) as info:
            check(user("q"), assistant([call()]), user("n"))
        assert info.value.path == "$.turns[1]"
        assert "(R10)" in str(info.value)
        assert "repair_tool_pairs" in str(info.value)

    @settings(max_examples=40)
    @given(conversations(cache_control=True))
    def test_the_default_chain_leaves_only_what_the_application_must_fix(
        self, conversation
    ):
        """After the default chain a view passes, unless calls are pending or the loop lost its reasoning."""
        turns = conversation.path()
        view = compose(*default_policies(CLAUDE))(
            RequestView(turns=turns, target=CLAUDE)
        )
        rule = None
        try:
            validate(view)
        except RequestRejectedError as error:
            rule = error.rule
        if rule == "R10":
            assert view.turns[-1].role == "assistant"
            assert view.turns[-1].tool_calls
        elif rule is not None:
            assert rule == "R2"
            assert view.turns[-1].role == "tool"

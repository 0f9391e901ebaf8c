"""`realistic_histories` draws conversations the real stack made against the fake endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis.errors import InvalidArgument

from convo import ReasoningBlock, SummaryText, get_target
from convo.policies import Policy, compose, default_policies, drop_reasoning
from convo.testing._laws_flow import FlowCase, flow_cases, validates_problem
from convo.testing.fake import FakeEndpoint
from convo.testing.strategies import (
    REALISTIC_TARGETS,
    RealisticHistory,
    realistic_histories,
)

FAST = settings(
    max_examples=8,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SEARCH = settings(
    max_examples=200,
    phases=[Phase.generate],
    database=None,
    suppress_health_check=list(HealthCheck),
)


def reasoning_of(history: RealisticHistory) -> list[ReasoningBlock]:
    return [
        b
        for t in history.conversation.path()
        for b in t.blocks
        if isinstance(b, ReasoningBlock)
    ]


def multi_step_session(history: RealisticHistory) -> bool:
    """Two assistant turns with tool calls in one tool session."""
    path = history.conversation.path()
    return any(
        a.tool_calls and b.role == "tool" and c.tool_calls
        for a, b, c in zip(path, path[1:], path[2:], strict=False)
    )


class TestRealisticHistories:
    @pytest.mark.parametrize("name", REALISTIC_TARGETS)
    def test_the_next_request_of_a_history_is_accepted_after_the_default_chain(
        self, name: str
    ) -> None:
        @FAST
        @given(flow_cases(realistic_histories(target=name, max_actions=4)))
        def run(case: FlowCase) -> None:
            sent = compose(*default_policies(case.view.target))(case.view)
            assert validates_problem(case, sent) is None

        run()

    @pytest.mark.parametrize(
        "name",
        ["databricks-claude-sonnet-4-5", "databricks-claude-opus-4-5"],
    )
    def test_claude_reasoning_is_signed_and_its_own_family(self, name: str) -> None:
        @FAST
        @given(realistic_histories(target=name, max_actions=3))
        def run(history: RealisticHistory) -> None:
            for block in reasoning_of(history):
                assert block.is_signed
                assert block.provenance is not None
                assert block.provenance.family == "claude"

        run()

    @pytest.mark.parametrize(
        "name", ["databricks-claude-sonnet-4-5", "databricks-claude-opus-4-5"]
    )
    def test_signature_only_reasoning_is_drawn_and_its_next_request_accepted(
        self, name: str
    ) -> None:
        def signature_only(case: FlowCase) -> bool:
            return any(b.is_signed and b.text == "" for b in reasoning_of(case.history))

        case = find(
            flow_cases(realistic_histories(target=name, max_actions=3)),
            signature_only,
            settings=SEARCH,
        )
        sent = compose(*default_policies(case.view.target))(case.view)
        assert validates_problem(case, sent) is None

    def test_gpt_oss_reasoning_is_unsigned(self) -> None:
        history = find(
            realistic_histories(target="databricks-gpt-oss-20b", max_actions=2),
            lambda h: bool(reasoning_of(h)),
            settings=SEARCH,
        )
        assert not any(b.is_signed for b in reasoning_of(history))

    def test_gemini_answers_carry_a_thought_signature_on_their_first_call(
        self,
    ) -> None:
        """Google signs the first function call of each step (R17); parallel
        calls after it carry none."""
        history = find(
            realistic_histories(target="databricks-gemini-3-pro", max_actions=2),
            lambda h: any(t.tool_calls for t in h.conversation.path()),
            settings=SEARCH,
        )
        firsts = [t.tool_calls[0] for t in history.conversation.path() if t.tool_calls]
        assert all("thought_signature" in repr(c.extra) for c in firsts), firsts

    def test_llama_histories_have_no_reasoning(self) -> None:
        @FAST
        @given(
            realistic_histories(
                target="databricks-meta-llama-3-1-405b-instruct", max_actions=3
            )
        )
        def run(history: RealisticHistory) -> None:
            assert reasoning_of(history) == []

        run()

    def test_parallel_calls_in_a_later_exchange_branches_and_streams_are_drawn(
        self,
    ) -> None:
        strategy = realistic_histories(
            target="databricks-claude-sonnet-4-5", max_actions=6
        )

        def later_parallel(h: RealisticHistory) -> bool:
            path = h.conversation.path()
            firsts = [i for i, t in enumerate(path) if t.is_genuine_user]
            return any(
                len(t.tool_calls) >= 2 and i > firsts[0] + 1 for i, t in enumerate(path)
            )

        find(strategy, later_parallel, settings=SEARCH)
        find(strategy, lambda h: len(h.conversation.leaves()) >= 2, settings=SEARCH)
        find(
            strategy, lambda h: any("streamed" in a for a in h.actions), settings=SEARCH
        )
        find(strategy, lambda h: h.pending_calls, settings=SEARCH)
        find(strategy, multi_step_session, settings=SEARCH)

    @pytest.mark.parametrize(
        "name", ["databricks-gemini-3-pro", "databricks-claude-opus-4-5"]
    )
    def test_a_multi_step_tool_session_is_accepted_after_the_default_chain(
        self, name: str
    ) -> None:
        case = find(
            flow_cases(realistic_histories(target=name, max_actions=4)),
            lambda c: multi_step_session(c.history),
            settings=SEARCH,
        )
        sent = compose(*default_policies(case.view.target))(case.view)
        assert validates_problem(case, sent) is None

    def test_every_answer_carries_usage_and_a_stamp(self) -> None:
        @FAST
        @given(realistic_histories(max_actions=3))
        def run(history: RealisticHistory) -> None:
            assert history.refused is None
            for turn in history.conversation.path():
                if turn.role == "assistant":
                    assert turn.usage is not None
                    assert turn.generated_from is not None

        run()

    def test_the_same_draws_give_the_same_history(self) -> None:
        def collect() -> list[Any]:
            seen: list[Any] = []

            @settings(FAST, derandomize=True)
            @given(realistic_histories(max_actions=4))
            def run(history: RealisticHistory) -> None:
                c = history.conversation
                seen.append((history.target.name, c.path_ids(), c.leaves()))

            run()
            return seen

        assert collect() == collect()

    def test_a_chain_whose_request_is_refused_ends_the_history_before_that_turn(
        self,
    ) -> None:
        target = "databricks-claude-sonnet-4-5"
        chain: tuple[Policy, ...] = (
            drop_reasoning(),
            *default_policies(get_target(target)),
        )
        history = find(
            realistic_histories(target=target, max_actions=3, policies=chain),
            lambda h: h.refused is not None,
            settings=SEARCH,
        )
        assert history.refused is not None
        assert "R2" in history.refused
        assert history.pending_calls, "the refused tool results were not stored"
        assert history.actions[-1] == "refused"

    @pytest.mark.parametrize(
        "kwargs",
        [{"target": "openai-compatible"}, {"max_actions": 0}],
    )
    def test_impossible_options_raise_invalid_argument(
        self, kwargs: dict[str, Any]
    ) -> None:
        with pytest.raises(InvalidArgument):
            realistic_histories(**kwargs)

    def test_a_history_rebuilds_the_endpoint_that_signed_its_reasoning(self) -> None:
        history = find(
            realistic_histories(target="databricks-claude-sonnet-4-5", max_actions=1),
            lambda h: bool(reasoning_of(h)),
            settings=SEARCH,
        )
        block = reasoning_of(history)[0]
        part = block.parts[0]
        assert isinstance(part, SummaryText)
        assert part.signature == history.endpoint().signature("claude", part.text)
        assert part.signature != FakeEndpoint().signature("claude", part.text)

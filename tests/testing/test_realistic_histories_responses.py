"""`realistic_histories` on the Responses routes: histories the real stack made there."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from convo import ReasoningBlock
from convo.policies import compose, default_policies
from convo.targets import route_target
from convo.testing._laws_flow import FlowCase, flow_cases, validates_problem
from convo.testing.strategies import RealisticHistory, realistic_histories

FAST = settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TARGETS = (
    route_target("open-responses", "databricks-claude-sonnet-4-5"),
    route_target("open-responses", "databricks-gemini-3-pro"),
    route_target("open-responses", "databricks-gpt-oss-20b"),
    route_target("responses", "databricks-gpt-5-1"),
    route_target("ai-gateway", "system.ai.claude-opus-4-5"),
)


class TestRealisticHistoriesOnResponsesRoutes:
    @pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.route}:{t.name}")
    def test_the_next_request_of_a_history_is_accepted_after_the_default_chain(
        self, target: object
    ) -> None:
        @FAST
        @given(flow_cases(realistic_histories(target=target, max_actions=4)))  # type: ignore[arg-type]
        def run(case: FlowCase) -> None:
            sent = compose(*default_policies(case.view.target))(case.view)
            assert validates_problem(case, sent) is None

        run()

    def test_reasoning_carries_its_route_in_its_provenance(self) -> None:
        target = TARGETS[0]

        @FAST
        @given(realistic_histories(target=target, max_actions=2))
        def run(history: RealisticHistory) -> None:
            for turn in history.conversation.path():
                for block in turn.blocks:
                    if isinstance(block, ReasoningBlock):
                        assert block.provenance is not None
                        assert block.provenance.route == "open-responses"

        run()

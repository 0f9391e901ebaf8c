"""The responses format behind the seam: `wire_for`, routes, and the built-in targets."""

from __future__ import annotations

import attrs
import pytest

import convo.wire.responses
from convo import get_target
from convo.errors import LookupFailedError, UnknownTargetError
from convo.targets import (
    AI_GATEWAY_TARGETS,
    OPEN_RESPONSES_TARGETS,
    OPENAI_RESPONSES_TARGETS,
    responses_target,
    route_target,
)
from convo.wire import WireFormat, registered_wires, wire_for

_OPERATIONS = (
    "NAME",
    "endpoint_suffix",
    "encode_request",
    "encode_request_bytes",
    "validate_request",
    "decode_response",
    "StreamAssembler",
    "import_messages",
    "decode_error",
)


class TestSeam:
    def test_wire_for_a_responses_target_is_the_responses_module(self) -> None:
        target = route_target("open-responses", "databricks-claude-sonnet-4-5")
        module: WireFormat = convo.wire.responses
        assert wire_for(target) is module
        assert "responses" in registered_wires()

    def test_the_module_has_every_wire_format_operation(self) -> None:
        missing = [n for n in _OPERATIONS if not hasattr(convo.wire.responses, n)]
        assert missing == []

    def test_a_responses_target_without_a_route_is_refused_with_the_choices(
        self,
    ) -> None:
        target = attrs.evolve(
            route_target("responses", "databricks-gpt-5-1"), route=None
        )
        with pytest.raises(LookupFailedError) as caught:
            convo.wire.responses.endpoint_suffix(target, databricks=True)
        assert "ai-gateway, open-responses, responses" in str(caught.value)


class TestTargets:
    def test_open_responses_serves_claude_gemini_and_gpt_oss(self) -> None:
        families = {t.family for t in OPEN_RESPONSES_TARGETS.values()}
        assert families == {"claude", "gemini", "gpt-oss"}

    def test_openai_responses_serves_the_gpt_5_series_only(self) -> None:
        assert {t.family for t in OPENAI_RESPONSES_TARGETS.values()} == {"gpt-5"}

    def test_the_gateway_names_services_in_system_ai(self) -> None:
        assert all(n.startswith("system.ai.") for n in AI_GATEWAY_TARGETS)
        assert "system.ai.claude-sonnet-4-5" in AI_GATEWAY_TARGETS

    def test_a_route_target_keeps_its_chat_twins_family_and_limits(self) -> None:
        twin = get_target("databricks-gemini-3-pro")
        target = route_target("open-responses", twin.name)
        assert (target.family, target.provider, target.images) == (
            twin.family,
            twin.provider,
            twin.images,
        )
        assert target.reasoning.efforts == twin.reasoning.efforts
        assert (target.wire, target.route) == ("responses", "open-responses")

    def test_claude_keeps_its_budget_rules_and_takes_no_cache_markers(self) -> None:
        twin = get_target("databricks-claude-opus-4-5")
        target = route_target("open-responses", twin.name)
        assert target.reasoning == twin.reasoning
        assert target.rejects_empty_text
        assert not target.cache.supported

    def test_an_unknown_route_target_names_the_built_in_ones(self) -> None:
        with pytest.raises(UnknownTargetError) as caught:
            route_target("responses", "databricks-claude-sonnet-4-5")
        assert "open-responses:databricks-claude-sonnet-4-5" in str(caught.value)

    def test_responses_target_derives_any_model_on_any_route(self) -> None:
        target = responses_target(
            get_target("databricks-gpt-oss-20b"), route="ai-gateway", name="main.ai.oss"
        )
        assert (target.name, target.route) == ("main.ai.oss", "ai-gateway")
        with pytest.raises(ValueError, match="Unknown responses route"):
            responses_target(get_target("databricks-gpt-oss-20b"), route="chat")

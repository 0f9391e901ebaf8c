"""One id per rule on every route: the same request is refused with the same rule.

Each scenario breaks one provider rule that is about the target, the
parameters or the blocks (checked once, format-neutrally, before encoding);
every registered wire format's route to the same Claude model must refuse it
naming that rule. A new format adds its route to `ROUTES`, and the test fails
until it does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import attrs
import pytest

from convo import (
    CacheControl,
    Effort,
    ImageBlock,
    RequestParams,
    Target,
    TextBlock,
    ThinkingBudget,
    Tool,
    Turn,
    get_target,
)
from convo.errors import RequestRejectedError
from convo.targets import route_target
from convo.wire import registered_wires, wire_for
from convo.wire.anthropic import anthropic_target

CLAUDE = get_target("databricks-claude-sonnet-4-5")
ROUTES: dict[str, Callable[[Target], Target]] = {
    "chat": lambda target: target,
    "anthropic": anthropic_target,
    # The same model on Open Responses, with its twin's prompt-cache rules so
    # the marker scenarios compare like with like (that route takes no markers
    # by default: `TestUnsupportedCacheMarkers`).
    "responses": lambda target: attrs.evolve(
        route_target("open-responses", target.name), cache=target.cache
    ),
}
"""Each registered format: the Claude target on that format's route."""

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def png(width: int, height: int) -> bytes:
    return (
        PNG_HEADER
        + width.to_bytes(4, "big")
        + height.to_bytes(4, "big")
        + b"\x08\x02\x00\x00\x00"
    )


def user(*blocks: TextBlock | ImageBlock) -> Turn:
    return Turn(role="user", blocks=blocks)


def text(
    value: str, ttl: Literal["5m", "1h"] | None = None, *, marked: bool = False
) -> TextBlock:
    marker = CacheControl(ttl=ttl) if marked or ttl else None
    return TextBlock(text=value, cache_control=marker)


@attrs.frozen(kw_only=True)
class Scenario:
    rule: str
    turns: Sequence[Turn]
    params: RequestParams = attrs.field(factory=lambda: RequestParams(max_tokens=1024))
    tools: Sequence[Tool] = ()


SCENARIOS: dict[str, Scenario] = {
    "five cache markers": Scenario(
        rule="R6", turns=[user(text(f"q{i}", marked=True)) for i in range(5)]
    ),
    "a cache marker on empty text": Scenario(
        rule="R7", turns=[user(text("q"), text("  ", marked=True))]
    ),
    "a 5m breakpoint before a 1h one": Scenario(
        rule="R8", turns=[user(text("a", marked=True)), user(text("b", "1h"))]
    ),
    "a whitespace-only message": Scenario(
        rule="R12", turns=[user(text("q")), Turn(role="assistant", blocks=(text(" "),))]
    ),
    "a thinking budget below the minimum": Scenario(
        rule="R14",
        turns=[user(text("q"))],
        params=RequestParams(
            max_tokens=4000, reasoning=ThinkingBudget(budget_tokens=500)
        ),
    ),
    "temperature with thinking on": Scenario(
        rule="R14",
        turns=[user(text("q"))],
        params=RequestParams(
            max_tokens=4000,
            temperature=0.5,
            reasoning=ThinkingBudget(budget_tokens=1024),
        ),
    ),
    "reasoning_effort to Claude": Scenario(
        rule="R15",
        turns=[user(text("q"))],
        params=RequestParams(max_tokens=1024, reasoning=Effort(level="high")),
    ),
    "a strict tool to Claude": Scenario(
        rule="R16", turns=[user(text("q"))], tools=[Tool(name="t", strict=True)]
    ),
    "a field Claude rejects, through extra": Scenario(
        rule="R16",
        turns=[user(text("q"))],
        params=RequestParams(max_tokens=1024, extra={"parallel_tool_calls": True}),
    ),
    "an image wider than 8000 px": Scenario(
        rule="R18", turns=[user(text("q"), ImageBlock.from_bytes(png(8001, 10)))]
    ),
    "an image in an assistant message": Scenario(
        rule="R18",
        turns=[
            user(text("q")),
            Turn(role="assistant", blocks=(ImageBlock.from_bytes(png(2, 2)),)),
            user(text("again")),
        ],
    ),
}


def refusal(scenario: Scenario, wire: str) -> RequestRejectedError:
    target = ROUTES[wire](CLAUDE)
    with pytest.raises(RequestRejectedError) as caught:
        wire_for(target).encode_request_bytes(
            scenario.turns, target=target, params=scenario.params, tools=scenario.tools
        )
    return caught.value


class TestEveryRouteUsesTheSameId:
    def test_every_registered_format_has_a_route_here(self) -> None:
        assert set(ROUTES) == set(registered_wires())

    @pytest.mark.parametrize("wire", sorted(ROUTES))
    @pytest.mark.parametrize("name", sorted(SCENARIOS))
    def test_the_route_refuses_with_the_rule_and_cites_it(
        self, name: str, wire: str
    ) -> None:
        scenario = SCENARIOS[name]
        error = refusal(scenario, wire)
        assert error.rule == scenario.rule
        assert f"See docs/provider-rules.md#{scenario.rule.lower()}." in error.message

    @pytest.mark.parametrize("name", sorted(SCENARIOS))
    def test_every_route_points_at_the_same_place(self, name: str) -> None:
        paths = {refusal(SCENARIOS[name], wire).path for wire in ROUTES}
        assert len(paths) == 1

    def test_every_checked_rule_has_a_scenario(self) -> None:
        checked = {"R6", "R7", "R8", "R12", "R14", "R15", "R16", "R18"}
        assert {s.rule for s in SCENARIOS.values()} == checked


class TestUnsupportedCacheMarkers:
    @pytest.mark.parametrize("wire", sorted(ROUTES))
    def test_a_marker_to_a_target_without_caching_is_r16_on_every_route(
        self, wire: str
    ) -> None:
        target = Target(name="no-cache", family="claude", wire=wire)
        assert not target.cache.supported
        with pytest.raises(RequestRejectedError) as caught:
            wire_for(target).encode_request_bytes(
                [user(text("q", marked=True))],
                target=target,
                params=RequestParams(max_tokens=1024),
            )
        assert (caught.value.rule, caught.value.path) == ("R16", "$.turns[0].blocks[0]")

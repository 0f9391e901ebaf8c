"""The fake endpoint judges reasoning in multi-turn use as the real servers do.

Each case takes a realistic history (made by `Chat` against the fake), builds
the next request by hand (the history's path, changed as the case says, plus
the tool results it waits for or a new user text), encodes it as convo does
and sends it to an equivalent endpoint; the answer's status and `x-fake-rule`
are the specification.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import attrs
from hypothesis import HealthCheck, Phase, find, settings

from convo import (
    Block,
    ReasoningBlock,
    SummaryText,
    ToolCallBlock,
    Turn,
    tool_results,
    user,
)
from convo.testing._strategies_realistic import results_for
from convo.testing.fake import RawResponse
from convo.testing.strategies import RealisticHistory, realistic_histories
from convo.wire import chat

SEARCH = settings(
    max_examples=300,
    phases=[Phase.generate],
    database=None,
    suppress_health_check=list(HealthCheck),
)


def has_reasoning(turn: Turn) -> bool:
    return any(isinstance(b, ReasoningBlock) for b in turn.blocks)


def two_exchanges_then_a_tool_call(history: RealisticHistory) -> bool:
    """Thinking on, an earlier answer with reasoning, and calls waiting now."""
    path = history.conversation.path()
    users = [i for i, t in enumerate(path) if t.is_genuine_user]
    return (
        history.pending_calls
        and len(users) >= 2
        and any(has_reasoning(t) for t in path[: users[-1]])
        and has_reasoning(path[-1])
    )


def history_for(
    target: str, condition: Callable[[RealisticHistory], bool]
) -> RealisticHistory:
    return find(
        realistic_histories(target=target, max_actions=4, branching=False),
        condition,
        settings=SEARCH,
    )


def without_reasoning(turn: Turn) -> Turn:
    return turn.with_blocks(b for b in turn.blocks if not isinstance(b, ReasoningBlock))


def tampered(turn: Turn) -> Turn:
    def change(block: Block) -> Block:
        if not isinstance(block, ReasoningBlock):
            return block
        parts = tuple(
            attrs.evolve(p, text=p.text + " (edited)")
            if isinstance(p, SummaryText)
            else p
            for p in block.parts
        )
        return attrs.evolve(block, parts=parts)

    return turn.with_blocks(change(b) for b in turn.blocks)


def earlier_answers(path: Sequence[Turn]) -> list[int]:
    last_user = max(i for i, t in enumerate(path) if t.is_genuine_user)
    return [i for i, t in enumerate(path[:last_user]) if has_reasoning(t)]


def send(history: RealisticHistory, turns: Sequence[Turn]) -> RawResponse:
    path = list(turns)
    if path[-1].tool_calls:
        path.append(tool_results(*results_for(path[-1])))
    else:
        path.append(user("And then?"))
    payload = chat.encode_request(
        path, target=history.target, params=history.params, tools=history.tools
    )
    endpoint = history.endpoint()
    return endpoint.handle(
        "POST",
        f"/serving-endpoints/{history.target.name}/invocations",
        [("authorization", "Bearer t"), ("content-type", "application/json")],
        json.dumps(payload).encode(),
    )


def status_and_rule(response: RawResponse) -> tuple[int, str | None]:
    return response.status, dict(response.headers).get("x-fake-rule")


class TestStrippingClaude:
    """Sonnet 4.5 discards earlier reasoning: present or absent, but never altered."""

    TARGET = "databricks-claude-sonnet-4-5"

    def test_a_tool_loop_is_accepted_with_or_without_earlier_reasoning(self) -> None:
        history = history_for(self.TARGET, two_exchanges_then_a_tool_call)
        path = list(history.conversation.path())
        assert status_and_rule(send(history, path)) == (200, None)
        for i in earlier_answers(path):
            path[i] = without_reasoning(path[i])
        assert status_and_rule(send(history, path)) == (200, None)

    def test_an_altered_earlier_reasoning_block_is_refused_as_r1(self) -> None:
        history = history_for(self.TARGET, two_exchanges_then_a_tool_call)
        path = list(history.conversation.path())
        first = earlier_answers(path)[0]
        path[first] = tampered(path[first])
        assert status_and_rule(send(history, path)) == (400, "R1")

    def test_a_tool_loop_whose_last_answer_lost_its_reasoning_is_refused_as_r2(
        self,
    ) -> None:
        history = history_for(self.TARGET, two_exchanges_then_a_tool_call)
        path = list(history.conversation.path())
        path[-1] = without_reasoning(path[-1])
        assert status_and_rule(send(history, path)) == (400, "R2")


class TestPreservingClaude:
    """Opus 4.5 keeps earlier reasoning in context, bound to its exact prefix."""

    TARGET = "databricks-claude-opus-4-5"

    def test_the_whole_history_unchanged_is_accepted(self) -> None:
        history = history_for(self.TARGET, two_exchanges_then_a_tool_call)
        assert status_and_rule(send(history, history.conversation.path())) == (
            200,
            None,
        )

    def test_dropping_an_earlier_answers_reasoning_unbinds_the_later_reasoning_r5(
        self,
    ) -> None:
        history = history_for(self.TARGET, two_exchanges_then_a_tool_call)
        path = list(history.conversation.path())
        for i in earlier_answers(path):
            path[i] = without_reasoning(path[i])
        assert status_and_rule(send(history, path)) == (400, "R5")


class TestGptOss:
    """GPT-OSS reasoning is unsigned; passing it back is optional (wire facts A8, inferred)."""

    TARGET = "databricks-gpt-oss-120b"

    def test_earlier_reasoning_may_be_sent_back_or_dropped(self) -> None:
        history = history_for(
            self.TARGET,
            lambda h: sum(has_reasoning(t) for t in h.conversation.path()) >= 2,
        )
        path = list(history.conversation.path())
        assert status_and_rule(send(history, path)) == (200, None)
        stripped = [without_reasoning(t) if has_reasoning(t) else t for t in path]
        stripped = [t for t in stripped if t.blocks]
        assert status_and_rule(send(history, stripped)) == (200, None)


def strip_signature(turn: Turn) -> Turn:
    return turn.with_blocks(
        attrs.evolve(b, extra={}) if isinstance(b, ToolCallBlock) else b
        for b in turn.blocks
    )


class TestGemini:
    """Gemini 3 requires the current turn's thought signatures, not earlier turns' (R17)."""

    TARGET = "databricks-gemini-3-pro"

    @staticmethod
    def calls_in_two_exchanges(history: RealisticHistory) -> bool:
        path = history.conversation.path()
        users = [i for i, t in enumerate(path) if t.is_genuine_user]
        return (
            history.pending_calls
            and len(users) >= 2
            and any(t.tool_calls for t in path[: users[-1]])
        )

    def test_a_missing_signature_on_the_current_call_is_refused_as_r17(self) -> None:
        history = history_for(self.TARGET, self.calls_in_two_exchanges)
        path = list(history.conversation.path())
        assert status_and_rule(send(history, path)) == (200, None)
        path[-1] = strip_signature(path[-1])
        assert status_and_rule(send(history, path)) == (400, "R17")

    def test_an_earlier_turns_call_may_lose_its_signature(self) -> None:
        history = history_for(self.TARGET, self.calls_in_two_exchanges)
        path = list(history.conversation.path())
        last_user = max(i for i, t in enumerate(path) if t.is_genuine_user)
        path = [strip_signature(t) if i < last_user else t for i, t in enumerate(path)]
        assert status_and_rule(send(history, path)) == (200, None)

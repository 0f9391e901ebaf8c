"""`drop_foreign_reasoning` across routes: reasoning goes back only to the route that signed it (RR10)."""

from __future__ import annotations

import pytest

from convo import (
    Provenance,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    Target,
    TextBlock,
    Turn,
    get_target,
)
from convo.policies import RequestView, drop_foreign_reasoning
from convo.targets import route_target

CHAT = get_target("databricks-claude-sonnet-4-5")
OPEN = route_target("open-responses", "databricks-claude-sonnet-4-5")
GATEWAY = route_target("ai-gateway", "system.ai.claude-sonnet-4-5")


def _answer(route: str | None) -> Turn:
    parts = (
        (SummaryText(text="plan", signature="sig"),)
        if route is None
        else (SummaryText(text="plan"), SummaryEncryptedText(data="enc"))
    )
    block = ReasoningBlock(
        parts=parts,
        provenance=Provenance(provider="anthropic", family="claude", route=route),
    )
    return Turn(role="assistant", blocks=(block, TextBlock(text="ok")))


def _kept(target: Target, route: str | None) -> bool:
    user = Turn(role="user", blocks=(TextBlock(text="hi"),))
    sent = drop_foreign_reasoning()(
        RequestView(turns=(user, _answer(route)), target=target)
    )
    return any(isinstance(b, ReasoningBlock) for b in sent.turns[1].blocks)


class TestRoutes:
    @pytest.mark.parametrize(
        ("target", "route", "kept"),
        [
            (CHAT, None, True),
            (OPEN, "open-responses", True),
            (GATEWAY, "ai-gateway", True),
            (OPEN, None, False),
            (CHAT, "open-responses", False),
            (GATEWAY, "open-responses", False),
            (OPEN, "ai-gateway", False),
        ],
        ids=lambda v: str(getattr(v, "route", v)),
    )
    def test_reasoning_is_kept_only_on_the_route_that_signed_it(
        self, target: Target, route: str | None, kept: bool
    ) -> None:
        assert _kept(target, route) is kept

    def test_the_note_names_the_route_and_the_rule(self) -> None:
        user = Turn(role="user", blocks=(TextBlock(text="hi"),))
        sent = drop_foreign_reasoning()(
            RequestView(turns=(user, _answer(None)), target=OPEN)
        )
        (note,) = sent.notes
        assert note.action == "drop_reasoning"
        assert "'open-responses' route" in note.reason
        assert "RR10" in note.reason

    def test_the_text_of_the_answer_stays(self) -> None:
        user = Turn(role="user", blocks=(TextBlock(text="hi"),))
        sent = drop_foreign_reasoning()(
            RequestView(turns=(user, _answer(None)), target=OPEN)
        )
        assert sent.turns[1].blocks == (TextBlock(text="ok"),)

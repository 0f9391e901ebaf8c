"""Summary turns: the newest one on the path stands in for the prefix it covers."""

from __future__ import annotations

from convo import Target, assistant, system, user
from convo.policies import (
    RequestView,
    apply_summaries,
    is_summary,
    summary_covers,
    summary_turn,
)

TARGET = Target(name="t-summary", family="claude")


def view(*turns: object) -> RequestView:
    return RequestView(turns=turns, target=TARGET)  # type: ignore[arg-type]


HISTORY = (system("s"), user("q1"), assistant("a1"), user("q2"), assistant("a2"))


class TestSummaryTurn:
    def test_is_a_user_turn_marked_with_what_it_covers(self) -> None:
        turn = summary_turn("so far", covers=5)
        assert turn.role == "user"
        assert summary_covers(turn) == 5
        assert is_summary(turn)
        assert not is_summary(user("so far"))


class TestApplySummaries:
    def test_replaces_the_covered_prefix_and_leads_the_next_question(self) -> None:
        s = summary_turn("[Summary] q1, q2 asked", covers=5)
        out = apply_summaries()(view(*HISTORY, s, user("q3")))
        assert out.turns[0] == HISTORY[0]
        assert len(out.turns) == 2
        assert [b.text for b in out.turns[1].blocks] == ["[Summary] q1, q2 asked", "q3"]  # type: ignore[union-attr]
        assert out.notes[0].action == "summarise"

    def test_keeps_the_exchanges_after_the_covered_prefix_verbatim(self) -> None:
        s = summary_turn("[Summary] q1", covers=3)
        out = apply_summaries()(view(*HISTORY, s, user("q3")))
        assert out.turns[2:] == (HISTORY[4], user("q3"))
        assert out.turns[1].text == "[Summary] q1q2"

    def test_stands_alone_when_no_question_follows_yet(self) -> None:
        s = summary_turn("[Summary]", covers=5)
        out = apply_summaries()(view(*HISTORY, s))
        assert out.turns[1].text == "[Summary]"
        assert not is_summary(out.turns[1])

    def test_an_earlier_summary_goes_with_what_the_newest_summarised(self) -> None:
        first = summary_turn("[Summary 1]", covers=5)
        later = (*HISTORY, first, user("q3"), assistant("a3"))
        second = summary_turn("[Summary 2]", covers=len(later))
        out = apply_summaries()(view(*later, second, user("q4")))
        assert [t.text for t in out.turns] == ["s", "[Summary 2]q4"]

    def test_is_idempotent_and_leaves_a_path_without_summaries_alone(self) -> None:
        s = summary_turn("[Summary]", covers=3)
        once = apply_summaries()(view(*HISTORY, s, user("q3")))
        assert apply_summaries()(once) is once
        plain = view(*HISTORY)
        assert apply_summaries()(plain) is plain

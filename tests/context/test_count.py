"""`count_view`: the exact count of what was sent plus an estimate of the rest."""

from __future__ import annotations

import attrs

from convo import Target, Turn, Usage, assistant, system, user
from convo.policies import (
    CharCounter,
    TokenCounter,
    count_view,
    estimate_tokens,
    prefix_digest,
    reported_input_tokens,
)
from convo.targets import CLAUDE_SONNET_4_5, GPT_OSS_120B

TARGET = Target(name="t-count", family="gpt-oss", context_window=1000)


def answered(turns: tuple[Turn, ...], text: str, prompt: int) -> Turn:
    """An answer to `turns`, stamped as Chat stamps it, with reported usage."""
    return assistant(
        text,
        usage=Usage(prompt_tokens=prompt, completion_tokens=5),
        generated_from=prefix_digest(turns, target=TARGET),
    )


class TestReportedInputTokens:
    def test_claude_on_the_chat_wire_adds_cache_reads_and_writes(self) -> None:
        usage = Usage(prompt_tokens=10, cache_read_tokens=900, cache_write_tokens=90)
        assert reported_input_tokens(usage, CLAUDE_SONNET_4_5) == 1000

    def test_openai_style_prompt_tokens_already_hold_the_cached_part(self) -> None:
        usage = Usage(prompt_tokens=1000, cache_read_tokens=900)
        assert reported_input_tokens(usage, GPT_OSS_120B) == 1000

    def test_no_usage_is_no_count(self) -> None:
        assert reported_input_tokens(None, GPT_OSS_120B) is None
        assert reported_input_tokens(Usage(), GPT_OSS_120B) is None


class TestCountView:
    def test_uses_the_reported_count_for_the_prefix_that_was_sent(self) -> None:
        sent = (system("s"), user("q1"))
        answer = answered(sent, "a1", prompt=777)
        turns = (*sent, answer, user("q2"))
        count = count_view(turns, target=TARGET)
        assert count.exact_turns == 2
        assert count.exact_tokens == 777
        assert count.estimated_tokens == estimate_tokens(answer) + estimate_tokens(
            turns[-1]
        )
        assert count.total == 777 + count.estimated_tokens

    def test_takes_the_newest_answer_whose_prefix_still_matches(self) -> None:
        first = (system("s"), user("q1"))
        a1 = answered(first, "a1", prompt=100)
        second = (*first, a1, user("q2"))
        a2 = answered(second, "a2", prompt=200)
        count = count_view((*second, a2, user("q3")), target=TARGET)
        assert (count.exact_turns, count.exact_tokens) == (4, 200)

    def test_estimates_everything_when_the_prefix_changed(self) -> None:
        sent = (system("s"), user("q1"))
        answer = answered(sent, "a1", prompt=777)
        edited = (system("s"), user("q1 edited"), answer, user("q2"))
        count = count_view(edited, target=TARGET)
        assert count.exact_turns == 0
        assert count.total == sum(estimate_tokens(t) for t in edited)

    def test_a_real_tokenizer_plugs_in(self) -> None:
        @attrs.frozen
        class Ten:
            def count_turn(self, turn: Turn) -> int:
                return 10

            def count_tools(self, tools: object) -> int:
                return 0

        assert isinstance(Ten(), TokenCounter)
        assert isinstance(CharCounter(), TokenCounter)
        count = count_view((user("a"), assistant("b")), target=TARGET, counter=Ten())
        assert count.total == 20

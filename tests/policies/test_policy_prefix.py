"""Prefix binding, written from provider rule R5."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convo import (
    CacheControl,
    Provenance,
    ReasoningBlock,
    SummaryText,
    Target,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    assistant,
    system,
    tool_results,
    user,
)
from convo._targets import CacheRules
from convo.errors import PrefixChangedError
from convo.policies import (
    Policy,
    RequestView,
    bind_prefixes,
    compose,
    default_policies,
    prefix_digest,
    trim,
)
from convo.policies._prefix import DIGEST_TAG, VISIBLE_TAG, turn_digest
from convo.testing.strategies import conversations, texts

KEEPS = Target(
    name="t-keeps",
    provider="anthropic",
    family="claude",
    cache=CacheRules(supported=True, min_cacheable_tokens=0),
    requires_signatures=True,
    keeps_reasoning_in_context=True,
)
STRIPS = attrs.evolve(KEEPS, name="t-strips", keeps_reasoning_in_context=False)
bind = bind_prefixes()


def thinking(text: str) -> ReasoningBlock:
    return ReasoningBlock(
        parts=(SummaryText(text=text, signature="sig-" + text),),
        provenance=Provenance(provider="anthropic", family="claude"),
    )


def answer_to(
    turns: list[Turn],
    blocks: list[ReasoningBlock | TextBlock | ToolCallBlock],
    chain=(),
) -> Turn:
    """What Chat does: stamp the answer with the digest of the view it answered."""
    sent = compose(*chain)(RequestView(turns=turns, target=KEEPS))
    return assistant(blocks, generated_from=prefix_digest(sent.turns))


def chat(n: int, chain=()) -> list[Turn]:
    turns: list[Turn] = [system("sys")]
    for i in range(n):
        turns.append(user(f"q{i}"))
        turns.append(
            answer_to(turns, [thinking(f"t{i}"), TextBlock(text=f"a{i}")], chain)
        )
    return turns


def view(turns) -> RequestView:
    return RequestView(turns=turns, target=KEEPS)


class TestPrefixDigest:
    def test_is_tagged(self):
        assert prefix_digest([user("q")]).startswith(DIGEST_TAG)

    def test_ignores_cache_markers(self):
        plain = [system("s"), user("q")]
        marked = [
            system([TextBlock(text="s", cache_control=CacheControl(ttl="1h"))]),
            user("q"),
        ]
        assert prefix_digest(plain) == prefix_digest(marked)

    def test_changes_with_any_turn_content_or_order(self):
        base = prefix_digest([user("a"), assistant("b")])
        assert prefix_digest([user("a"), assistant("c")]) != base
        assert prefix_digest([assistant("b"), user("a")]) != base
        assert prefix_digest([user("a")]) != base

    def test_is_memoized_per_turn(self):
        turn = user("q")
        assert turn_digest(turn) is turn_digest(turn)

    @settings(max_examples=40)
    @given(st.lists(texts(max_size=5), max_size=6))
    def test_equal_turns_give_equal_digests(self, texts):
        """prefix_digest depends only on the turns' content."""
        assert prefix_digest([user(t) for t in texts]) == prefix_digest(
            [user(t) for t in texts]
        )


class TestVisiblePrefixDigest:
    """A server that discards earlier reasoning never saw it: it is not in the digest."""

    def test_a_stripping_target_gets_the_visible_tag_and_a_keeping_one_the_full_tag(
        self,
    ):
        turns = [user("q")]
        assert prefix_digest(turns, target=STRIPS).startswith(VISIBLE_TAG)
        assert prefix_digest(turns, target=KEEPS).startswith(DIGEST_TAG)
        assert prefix_digest(turns) == prefix_digest(turns, target=KEEPS)

    def test_an_earlier_exchanges_reasoning_is_not_part_of_it(self):
        kept = [
            user("q0"),
            assistant([thinking("t0"), TextBlock(text="a0")]),
            user("q1"),
        ]
        stripped = [user("q0"), assistant("a0"), user("q1")]
        assert prefix_digest(kept, target=STRIPS) == prefix_digest(
            stripped, target=STRIPS
        )
        assert prefix_digest(kept, target=KEEPS) != prefix_digest(
            stripped, target=KEEPS
        )

    def test_an_earlier_reasoning_only_turn_counts_as_nothing_r13(self):
        with_it = [user("q0"), assistant([thinking("t0")]), user("q1")]
        removed = [user("q0"), user("q1")]
        assert prefix_digest(with_it, target=STRIPS) == prefix_digest(
            removed, target=STRIPS
        )

    def test_the_current_tool_sessions_reasoning_is_part_of_it_r2(self):
        call = ToolCallBlock(id="c1", name="f")
        result = tool_results(ToolResultBlock(call_id="c1", content="r1"))
        kept = [user("q"), assistant([thinking("s1"), call]), result]
        stripped = [user("q"), assistant([call]), result]
        assert prefix_digest(kept, target=STRIPS) != prefix_digest(
            stripped, target=STRIPS
        )

    @settings(max_examples=40)
    @given(st.lists(texts(min_size=1, max_size=5), min_size=2, max_size=6))
    def test_any_change_of_text_still_shows(self, words):
        turns = [user(w) if i % 2 == 0 else assistant(w) for i, w in enumerate(words)]
        edited = [*turns[:-1], attrs.evolve(turns[-1], blocks=(TextBlock(text="x"),))]
        if edited[-1].text == turns[-1].text:
            return
        assert prefix_digest(turns, target=STRIPS) != prefix_digest(
            edited, target=STRIPS
        )


class TestBindPrefixesOnAStrippingServer:
    """The second tool loop and the last answer's reasoning (issue: whole conversations)."""

    chain = default_policies(STRIPS)

    def test_a_tool_loop_in_the_second_exchange_keeps_its_reasoning_r2(self):
        turns: list[Turn] = [system("sys"), user("Hello")]
        turns.append(answer_to_on(turns, [thinking("t0"), TextBlock(text="Hi")]))
        turns.append(user("Weather in Oslo?"))
        call = ToolCallBlock(id="c1", name="get_weather", arguments='{"city":"Oslo"}')
        turns.append(answer_to_on(turns, [thinking("t1"), call]))
        turns.append(tool_results(ToolResultBlock(call_id="c1", content="3 C")))
        out = compose(*self.chain)(view_on(turns))
        assert [n for n in out.notes if n.policy == "bind_prefixes"] == []
        assert out.turns[4].blocks[0] == thinking("t1")
        assert not out.turns[2].reasoning

    def test_the_last_answers_reasoning_is_sent_from_the_third_user_turn_on(self):
        turns: list[Turn] = [system("sys")]
        for i in range(4):
            turns.append(user(f"q{i}"))
            turns.append(answer_to_on(turns, [thinking(f"t{i}"), TextBlock(text="a")]))
        turns.append(user("q4"))
        out = compose(*self.chain)(view_on(turns))
        assert [n for n in out.notes if n.policy == "bind_prefixes"] == []
        assert [i for i, t in enumerate(out.turns) if t.reasoning] == [8]
        assert out.turns[8].blocks[0] == thinking("t3")

    def test_an_edited_earlier_turn_still_unbinds_later_reasoning_r5(self):
        turns: list[Turn] = [user("q0")]
        turns.append(answer_to_on(turns, [thinking("t0"), TextBlock(text="a0")]))
        turns.append(user("q1"))
        turns.append(answer_to_on(turns, [thinking("t1"), TextBlock(text="a1")]))
        turns[0] = user("q0, edited")
        out = compose(*self.chain)(view_on(turns))
        assert not any(t.reasoning for t in out.turns)
        assert [n.path for n in out.notes if n.policy == "bind_prefixes"] == [
            "$.turns[3]"
        ]

    def test_a_full_stamp_is_still_checked_in_full(self):
        """Stamps made before the visible scheme stay valid where nothing changed."""
        turns: list[Turn] = [user("q")]
        turns.append(
            assistant(
                [thinking("t"), ToolCallBlock(id="c1", name="f")],
                generated_from=prefix_digest(turns),
            )
        )
        turns.append(tool_results(ToolResultBlock(call_id="c1", content="r")))
        assert bind(view_on(turns)) == view_on(turns)

    def test_a_preserving_server_refuses_a_visible_stamp(self):
        """An answer a stripping server made was never bound to the earlier reasoning."""
        turns: list[Turn] = [user("q")]
        turns.append(
            assistant(
                [thinking("t"), TextBlock(text="a")],
                generated_from=prefix_digest(turns, target=STRIPS),
            )
        )
        turns.append(user("next"))
        out = bind(view(turns))
        assert not out.turns[1].reasoning
        assert out.notes[0].policy == "bind_prefixes"


def answer_to_on(
    turns: list[Turn], blocks: list[ReasoningBlock | TextBlock | ToolCallBlock]
) -> Turn:
    """What Chat does on the stripping target: stamp with the visible digest."""
    sent = compose(*default_policies(STRIPS))(view_on(turns))
    return assistant(blocks, generated_from=prefix_digest(sent.turns, target=STRIPS))


def view_on(turns: Sequence[Turn]) -> RequestView:
    return RequestView(turns=turns, target=STRIPS)


class TestBindPrefixes:
    def test_keeps_reasoning_whose_prefix_is_unchanged_r5(self):
        """R5: reasoning generated from exactly this prefix is sent back."""
        turns = chat(3)
        v = view(turns)
        assert bind(v) is v

    def test_drops_reasoning_whose_prefix_changed_with_a_note(self):
        turns = chat(3)
        turns[1] = user("q0, edited")
        out = bind(view(turns))
        assert [i for i, t in enumerate(out.turns) if t.reasoning] == []
        assert [n.path for n in out.notes] == ["$.turns[2]", "$.turns[4]", "$.turns[6]"]
        assert all("R5" in n.reason for n in out.notes)

    def test_a_change_invalidates_only_later_reasoning(self):
        turns = chat(3)
        turns[3] = user("q1, edited")
        out = bind(view(turns))
        assert [i for i, t in enumerate(out.turns) if t.reasoning] == [2]

    def test_strict_mode_raises_prefix_changed_error(self):
        turns = chat(2)
        turns[1] = user("edited")
        with pytest.raises(PrefixChangedError) as info:
            bind_prefixes(strict=True)(view(turns))
        assert info.value.path == "$.turns[2]"
        assert info.value.policy == "bind_prefixes"

    def test_turns_without_generated_from_are_not_checked(self):
        turns = [user("q"), assistant([thinking("t"), TextBlock(text="a")])]
        v = view(turns)
        assert bind(v) is v

    def test_a_reasoning_only_turn_that_lost_its_prefix_goes_whole_r13(self):
        turns: list[Turn] = [user("q")]
        turns.append(answer_to(turns, [thinking("t")]))
        turns.append(user("next"))
        turns[0] = user("edited")
        out = bind(view(turns))
        assert [t.role for t in out.turns] == ["user", "user"]
        assert out.notes[0].action == "remove_turn"

    def test_trimming_unbinds_the_reasoning_that_followed_the_trimmed_turns(self):
        turns = chat(3)
        out = compose(trim(max_tokens=30), bind)(view(turns))
        assert len(out.turns) < len(turns)
        assert not any(t.reasoning for t in out.turns)
        assert [n.policy for n in out.notes if n.policy == "bind_prefixes"]

    def test_markers_placed_after_generation_do_not_unbind(self):
        chain = default_policies(KEEPS)
        turns = chat(4, chain)
        out = compose(*chain)(view(turns))
        assert [n for n in out.notes if n.policy == "bind_prefixes"] == []
        assert sum(1 for t in out.turns if t.reasoning) == 4

    def test_a_tool_session_stays_bound_across_its_steps(self):
        chain = default_policies(attrs.evolve(KEEPS, keeps_reasoning_in_context=False))
        turns: list[Turn] = [user("q")]
        turns.append(
            answer_to(turns, [thinking("s1"), ToolCallBlock(id="c1", name="f")], chain)
        )
        turns.append(tool_results(ToolResultBlock(call_id="c1", content="r1")))
        turns.append(
            answer_to(turns, [thinking("s2"), ToolCallBlock(id="c2", name="f")], chain)
        )
        turns.append(tool_results(ToolResultBlock(call_id="c2", content="r2")))
        out = compose(*chain)(view(turns))
        assert [n for n in out.notes if n.policy == "bind_prefixes"] == []
        assert [i for i, t in enumerate(out.turns) if t.reasoning] == [1, 3]


def stamp_like_chat(
    turns: Sequence[Turn], chain: Sequence[Policy], target: Target
) -> list[Turn]:
    """Re-stamp every assistant turn as Chat would: the digest of the view it answered."""
    out: list[Turn] = []
    for turn in turns:
        if turn.role == "assistant":
            sent = compose(*chain)(RequestView(turns=out, target=target))
            turn = attrs.evolve(
                turn, generated_from=prefix_digest(sent.turns, target=target)
            )
        out.append(turn)
    return out


class TestChatStamping:
    @settings(max_examples=40)
    @given(conversations())
    def test_a_target_keeping_reasoning_never_unbinds_what_chat_stamped(
        self, conversation
    ):
        """With the keeps-reasoning default chain, every stamped answer stays bound (R5)."""
        chain = default_policies(KEEPS)
        turns = stamp_like_chat(conversation.path(), chain, KEEPS)
        out = compose(*chain)(RequestView(turns=turns, target=KEEPS))
        assert [n for n in out.notes if n.policy == "bind_prefixes"] == []

    @settings(max_examples=40)
    @given(conversations())
    def test_a_stripping_target_never_unbinds_what_chat_stamped(self, conversation):
        """With the stripping default chain too: dropping older reasoning unbinds nothing (R5)."""
        chain = default_policies(STRIPS)
        turns = stamp_like_chat(conversation.path(), chain, STRIPS)
        out = compose(*chain)(RequestView(turns=turns, target=STRIPS))
        assert [n for n in out.notes if n.policy == "bind_prefixes"] == []

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
    apply,
    bind_prefixes,
    default_policies,
    prefix_digest,
    trim,
)
from convo.policies._prefix import DIGEST_TAG, turn_digest
from convo.testing.strategies import conversations, texts

KEEPS = Target(
    name="t-keeps",
    provider="anthropic",
    family="claude",
    cache=CacheRules(supported=True, min_cacheable_tokens=0),
    requires_signatures=True,
    keeps_reasoning_in_context=True,
)
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
    sent = apply(RequestView(turns=turns, target=KEEPS), *chain)
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
        out = apply(view(turns), trim(max_tokens=30), bind)
        assert len(out.turns) < len(turns)
        assert not any(t.reasoning for t in out.turns)
        assert [n.policy for n in out.notes if n.policy == "bind_prefixes"]

    def test_markers_placed_after_generation_do_not_unbind(self):
        chain = default_policies(KEEPS)
        turns = chat(4, chain)
        out = apply(view(turns), *chain)
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
        out = apply(view(turns), *chain)
        assert [n for n in out.notes if n.policy == "bind_prefixes"] == []
        assert [i for i, t in enumerate(out.turns) if t.reasoning] == [1, 3]


def stamp_like_chat(
    turns: Sequence[Turn], chain: Sequence[Policy], target: Target
) -> list[Turn]:
    """Re-stamp every assistant turn as Chat would: the digest of the view it answered."""
    out: list[Turn] = []
    for turn in turns:
        if turn.role == "assistant":
            sent = apply(RequestView(turns=out, target=target), *chain)
            turn = attrs.evolve(turn, generated_from=prefix_digest(sent.turns))
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
        out = apply(RequestView(turns=turns, target=KEEPS), *chain)
        assert [n for n in out.notes if n.policy == "bind_prefixes"] == []

"""Reasoning policies, written from provider rules R1, R2, R4 and R13."""

from __future__ import annotations

import attrs
from hypothesis import given, settings

from convo import (
    CacheControl,
    Conversation,
    Provenance,
    ReasoningBlock,
    SummaryEncryptedText,
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
from convo.policies import (
    RequestView,
    drop_foreign_reasoning,
    drop_reasoning,
    keep_last_reasoning,
)
from convo.testing.strategies import conversations

CLAUDE = Target(
    name="t-claude", provider="anthropic", family="claude", requires_signatures=True
)
UNSIGNED_OK = Target(name="t-claude-lax", provider="anthropic", family="claude")


def thinking(
    text: str = "Let me think.",
    *,
    family: str | None = "claude",
    signature: str | None = "sig",
) -> ReasoningBlock:
    provenance = None if family is None else Provenance(provider="p", family=family)
    return ReasoningBlock(
        parts=(SummaryText(text=text, signature=signature),), provenance=provenance
    )


def call(call_id: str) -> ToolCallBlock:
    return ToolCallBlock(id=call_id, name="search", arguments='{"q":"x"}')


def result(call_id: str) -> Turn:
    return tool_results(ToolResultBlock(call_id=call_id, content="found"))


def view(*turns: Turn, target: Target = CLAUDE) -> RequestView:
    return RequestView(turns=turns, target=target)


def reasoning_at(v: RequestView) -> list[int]:
    return [i for i, t in enumerate(v.turns) if t.reasoning]


class TestDropReasoning:
    def test_no_reasoning_block_remains(self):
        v = view(
            user("hi"), assistant([thinking(), TextBlock(text="hello")]), user("more")
        )
        out = drop_reasoning()(v)
        assert reasoning_at(out) == []
        assert out.turns[1].blocks == (TextBlock(text="hello"),)

    def test_removes_an_assistant_turn_left_with_reasoning_only_r13(self):
        """R13: after pruning, no assistant message may consist of reasoning only."""
        v = view(user("hi"), assistant([thinking()]), user("again"), assistant("ok"))
        out = drop_reasoning()(v)
        assert [t.role for t in out.turns] == ["user", "user", "assistant"]
        assert [n.action for n in out.notes] == ["drop_reasoning", "remove_turn"]
        assert "R13" in out.notes[1].reason

    def test_keeps_the_tool_calls_of_an_assistant_turn(self):
        v = view(user("hi"), assistant([thinking(), call("c1")]), result("c1"))
        out = drop_reasoning()(v)
        assert out.turns[1].blocks == (call("c1"),)
        assert out.turns[2] == v.turns[2]

    def test_returns_the_same_view_when_there_is_nothing_to_drop(self):
        v = view(user("hi"), assistant("hello"))
        assert drop_reasoning()(v) is v

    def test_never_changes_the_stored_conversation(self):
        conversation = Conversation.from_turns(
            [user("hi"), assistant([thinking(), TextBlock(text="a")])]
        )
        before = conversation.path()
        drop_reasoning()(RequestView(turns=conversation.path(), target=CLAUDE))
        assert conversation.path() == before
        assert conversation.path()[1].reasoning

    @settings(max_examples=40)
    @given(conversations())
    def test_leaves_no_reasoning_and_no_reasoning_only_turn(self, conversation):
        """drop_reasoning(v) holds no reasoning block and no assistant turn of reasoning only."""
        out = drop_reasoning()(RequestView(turns=conversation.path(), target=CLAUDE))
        assert not any(t.reasoning for t in out.turns)


class TestKeepLastReasoning:
    def test_drops_reasoning_of_turns_before_the_last_user_message(self):
        v = view(
            system("be brief"),
            user("q1"),
            assistant([thinking("a"), TextBlock(text="a1")]),
            user("q2"),
            assistant([thinking("b"), TextBlock(text="a2")]),
        )
        out = keep_last_reasoning()(v)
        assert reasoning_at(out) == [4]
        assert out.turns[2].blocks == (TextBlock(text="a1"),)

    def test_keeps_every_step_of_a_tool_session_in_progress_r2(self):
        """R2: the assistant turn continuing a tool loop must keep its reasoning."""
        v = view(
            user("q1"),
            assistant([thinking("old"), TextBlock(text="a1")]),
            user("q2"),
            assistant([thinking("s1"), call("c1")]),
            result("c1"),
            assistant([thinking("s2"), call("c2")]),
            result("c2"),
        )
        out = keep_last_reasoning()(v)
        assert reasoning_at(out) == [3, 5]
        assert out.turns[3] is v.turns[3]
        assert out.turns[5] is v.turns[5]

    def test_keeps_the_whole_last_exchange_when_a_new_user_turn_follows(self):
        v = view(
            user("q1"),
            assistant([thinking("s1"), call("c1")]),
            result("c1"),
            assistant([thinking("s2"), TextBlock(text="done")]),
            user("q2"),
        )
        out = keep_last_reasoning()(v)
        assert reasoning_at(out) == [1, 3]

    def test_keeps_reasoning_when_there_is_no_user_turn_before_the_answer(self):
        v = view(assistant([thinking(), TextBlock(text="fragment")]), user("q"))
        assert keep_last_reasoning()(v) is v

    def test_removes_an_earlier_reasoning_only_turn_whole_r13(self):
        """R13: an earlier answer of reasoning only goes whole, not as an empty message."""
        v = view(
            user("q1"),
            assistant([thinking()]),
            user("q2"),
            assistant([thinking(), TextBlock(text="a")]),
        )
        out = keep_last_reasoning()(v)
        assert [t.role for t in out.turns] == ["user", "user", "assistant"]
        assert out.turns[-1].reasoning

    def test_reuses_the_derived_turn_on_a_second_request(self):
        turns = (
            user("q1"),
            assistant([thinking(), TextBlock(text="a")]),
            user("q2"),
            assistant("b"),
        )
        first = keep_last_reasoning()(view(*turns))
        second = keep_last_reasoning()(view(*turns))
        assert first.turns[1] is second.turns[1]

    @settings(max_examples=40)
    @given(conversations())
    def test_keeps_exactly_the_reasoning_after_the_last_user_turn(self, conversation):
        """Reasoning survives in every assistant turn after U and in none before U."""
        turns = conversation.path()
        out = keep_last_reasoning()(RequestView(turns=turns, target=CLAUDE))
        last = max(
            (i for i, t in enumerate(turns) if t.role == "assistant"), default=None
        )
        users = [
            i
            for i, t in enumerate(turns)
            if t.is_genuine_user and (last is None or i < last)
        ]
        if last is None or not users:
            assert out.turns == turns
            return
        boundary = users[-1]
        kept_tail = out.turns[len(out.turns) - (len(turns) - boundary) :]
        assert kept_tail == turns[boundary:]
        assert not any(
            t.reasoning for t in out.turns[: len(out.turns) - len(kept_tail)]
        )


class TestDropForeignReasoning:
    def test_drops_reasoning_of_another_family_r4(self):
        """R4: reasoning is bound to the family that made it."""
        v = view(
            user("q"),
            assistant(
                [
                    thinking(family="gpt-oss"),
                    thinking(family="claude"),
                    TextBlock(text="a"),
                ]
            ),
        )
        out = drop_foreign_reasoning()(v)
        assert out.turns[1].blocks == (thinking(family="claude"), TextBlock(text="a"))

    def test_never_turns_foreign_reasoning_into_text(self):
        v = view(
            user("q"),
            assistant([thinking("secret plan", family="gemini"), TextBlock(text="a")]),
        )
        out = drop_foreign_reasoning()(v)
        assert "secret plan" not in repr(out.turns)

    def test_drops_reasoning_of_unknown_origin(self):
        v = view(user("q"), assistant([thinking(family=None), TextBlock(text="a")]))
        assert drop_foreign_reasoning()(v).turns[1].reasoning == ()

    def test_drops_unsigned_reasoning_when_the_target_requires_signatures(self):
        v = view(user("q"), assistant([thinking(signature=None), TextBlock(text="a")]))
        assert drop_foreign_reasoning()(v).turns[1].reasoning == ()
        lax = view(
            user("q"),
            assistant([thinking(signature=None), TextBlock(text="a")]),
            target=UNSIGNED_OK,
        )
        assert drop_foreign_reasoning()(lax).turns[1].reasoning != ()

    def test_the_streamed_form_is_signed_on_chat_but_not_on_the_messages_route_r4(
        self,
    ):
        """R4: Messages sends each part as a `thinking` block needing a signature."""
        streamed = ReasoningBlock(
            parts=(
                SummaryText(text="Two cities, ", signature=""),
                SummaryText(text="so two calls.", signature=""),
                SummaryText(text="", signature="SIG"),
            ),
            provenance=Provenance(provider="anthropic", family="claude"),
        )
        turns = (user("q"), assistant([streamed, TextBlock(text="a")]))
        on_chat = drop_foreign_reasoning()(view(*turns))
        assert on_chat.turns[1].reasoning == (streamed,)
        messages = attrs.evolve(
            CLAUDE, wire="anthropic", signs_each_reasoning_part=True
        )
        on_messages = drop_foreign_reasoning()(view(*turns, target=messages))
        assert on_messages.turns[1].reasoning == ()

    def test_keeps_signature_only_and_encrypted_parts_byte_identical_r1(self):
        """R1: kept signed reasoning is replayed verbatim, signature-only parts included."""
        block = ReasoningBlock(
            parts=(
                SummaryText(text="", signature="only-sig"),
                SummaryEncryptedText(data="b3BhcXVl"),
            ),
            provenance=Provenance(provider="anthropic", family="claude"),
            cache_control=None,
        )
        v = view(user("q"), assistant([block, TextBlock(text="a")]))
        out = drop_foreign_reasoning()(v)
        assert out.turns[1].blocks[0] is block

    def test_notes_name_the_rule(self):
        v = view(user("q"), assistant([thinking(family="gemini"), TextBlock(text="a")]))
        (note,) = drop_foreign_reasoning()(v).notes
        assert note.policy == "drop_foreign_reasoning"
        assert note.path == "$.turns[1]"
        assert "R4" in note.reason

    def test_memoizes_per_target_family(self):
        turn = assistant([thinking(family="gemini"), TextBlock(text="a")])
        gemini = Target(name="t-gemini", family="gemini")
        assert (
            drop_foreign_reasoning()(view(user("q"), turn, target=gemini)).turns[1]
            is turn
        )
        assert drop_foreign_reasoning()(view(user("q"), turn)).turns[1].reasoning == ()

    def test_keeps_markers_on_other_blocks(self):
        text = TextBlock(text="a", cache_control=CacheControl())
        v = view(user("q"), assistant([thinking(family="gemini"), text]))
        assert drop_foreign_reasoning()(v).turns[1].blocks == (text,)

"""What goes in comes out byte for byte, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings

import convo
from convo import (
    Conversation,
    Provenance,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo.store._document import write
from convo.testing.strategies import conversations
from convo.wire.canonical import dumps

HOSTILE = (
    "👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, \U0001d54f astral",
    "\u202eRTL override\u202c and \u200fRLM\u200e marks, مرحبا، שלום",
    "e\u0301 combining, Z\u0351\u0352\u0353algo, \u0e01\u0e34\u0e4a",
    "line\u2028separator\u2029paragraph\u0085next line",
    "quotes \" ' \\ backslash, %_ like metacharacters, \t tab \r\n newline",
    "\ufeffBOM \ufffd replacement \U0010ffff last code point",
)
CLAUDE = Provenance(provider="anthropic", family="claude", model="claude-sonnet-4-5")


def hostile_conversation() -> Conversation:
    big = ("0123456789abcdef" * 65536)[: 1024 * 1024 - 1] + "é"  # 1 MB, multibyte end
    signed = ReasoningBlock(
        parts=(
            SummaryText(text="Let me think… ∑ 🤔", signature="EqoBCkgIAR" + "A" * 300),
            SummaryText(text="", signature="c2lnbmF0dXJlLW9ubHk="),  # signature only
            SummaryEncryptedText(data="ZW5jcnlwdGVkIHJlYXNvbmluZw==" * 20),
            SummaryText(text="unsigned tail"),
            SummaryText(text="empty signature", signature=""),
        ),
        provenance=CLAUDE,
    )
    conversation = Conversation.new().append(convo.system(HOSTILE[0]))
    for text in HOSTILE:
        conversation = conversation.user(text).assistant(
            [signed, TextBlock(text=text, extra={"citations": [{"t": text}]})]
        )
    call = ToolCallBlock(id="toolu_01", name="lookup", arguments='{"q": "\\u2028 ☃"}')
    conversation = conversation.user(big).append(convo.assistant([signed, call]))
    return conversation.tool_results(
        ToolResultBlock(call_id="toolu_01", content=HOSTILE[1], is_error=True)
    ).assistant("done", metadata={"ключ": HOSTILE[3], "n": [1, 2.5, None, True]})


class TestRoundTrip:
    def test_hostile_text_and_every_reasoning_shape_come_back_byte_exact(self, store):
        conversation = hostile_conversation()
        cid = store.create(conversation, title=HOSTILE[1], metadata={"t": HOSTILE[2]})
        loaded = store.load(cid)
        assert loaded == conversation
        assert dumps(loaded) == dumps(conversation)
        for original, back in zip(conversation.path(), loaded.path(), strict=True):
            assert back.reasoning == original.reasoning
        (info,) = store.list().items
        assert (info.title, info.metadata) == (HOSTILE[1], {"t": HOSTILE[2]})

    def test_the_export_digest_is_the_same_on_every_database(self, store):
        """Both backends store the same canonical bytes (checked against one constant)."""
        cid = store.create(hostile_conversation())
        digest = hashlib.sha256(store.export(cid)).hexdigest()
        assert digest == hashlib.sha256(exported(hostile_conversation())).hexdigest()

    def test_appending_hostile_turns_one_by_one_round_trips(self, store):
        conversation = hostile_conversation()
        cid = store.create()
        head = None
        for turn in conversation.path():
            head = store.append(cid, turn, expected_head=head)
        assert store.load(cid).path_ids() == conversation.path_ids()


class TestRoundTripProperty:
    @settings(
        max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        conversation=conversations(max_turns=8, branching=True, images=True),
    )
    def test_any_conversation_round_trips_through_the_store(self, store, conversation):
        """load_graph(create(c)) == c and the export is c's canonical document."""
        cid = store.create(conversation)
        assert store.load_graph(cid) == conversation
        assert store.export(cid) == exported(conversation)
        assert store.load(cid).path() == conversation.path()


@pytest.mark.parametrize("bad", ["nul \x00 byte", "lone \ud800 surrogate"])
def test_text_no_database_can_store_is_refused_at_construction(bad):
    with pytest.raises(convo.errors.InvalidTextError):
        convo.user(bad)


def exported(conversation: Conversation) -> bytes:
    """What `Store.export` writes for a conversation stored without title or metadata."""
    return write(conversation, title=None, metadata={})

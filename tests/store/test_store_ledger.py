"""The usage ledger, `info()`, tenant usage and search over human text (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import attrs
from sqlalchemy import event

import convo
from convo import Conversation, ToolCallBlock, ToolResultBlock, Usage
from convo.store._ledger import UsageTotals


def answer(text: str, **counts: int) -> convo.Turn:
    return attrs.evolve(convo.assistant(text), usage=Usage(**counts))


USAGE = {
    "prompt_tokens": 10,
    "completion_tokens": 4,
    "cache_read_tokens": 3,
    "cache_write_tokens": 2,
    "reasoning_tokens": 1,
}
ONE = UsageTotals(
    input_tokens=10,
    cache_read_tokens=3,
    cache_write_tokens=2,
    output_tokens=4,
    reasoning_tokens=1,
)


class TestTheLedger:
    def test_appends_sum_every_kind_per_conversation_and_per_branch(self, store):
        cid = store.create()
        head = store.append(cid, convo.user("hi"), expected_head=None)
        first = store.append(cid, answer("a", **USAGE), expected_head=head)
        head = store.append(cid, convo.user("more"), expected_head=first)
        store.append(cid, answer("b", **USAGE), expected_head=head)
        store.fork(cid, "short", at=first)
        detail = store.info(cid)
        assert detail.usage == ONE + ONE
        branches = {b.name: b.usage for b in detail.branches}
        assert branches == {"main": ONE + ONE, "short": ONE}

    def test_turns_stored_by_create_and_save_count_too(self, store):
        conversation = Conversation.new().user("hi").append(answer("a", **USAGE))
        cid = store.create(conversation)
        store.save(cid, conversation.user("again").append(answer("b", **USAGE)))
        assert store.info(cid).usage == ONE + ONE

    def test_a_retried_append_counts_once(self, store):
        cid = store.create()
        head = store.append(cid, convo.user("hi"), expected_head=None)
        store.append(cid, answer("a", **USAGE), expected_head=head)
        store.append(cid, answer("a", **USAGE), expected_head=head)
        assert store.info(cid).usage == ONE

    def test_the_authoritative_append_keeps_the_same_ledger(self, store):
        """An engine with a statement listener skips SQLite's driver path."""
        event.listen(store.engine, "before_cursor_execute", lambda *_: None)
        cid = store.create()
        head = store.append(cid, convo.user("hi"), expected_head=None)
        store.append(cid, answer("a", **USAGE), expected_head=head)
        assert store.info(cid).usage == ONE
        assert store.info(cid).branches[0].usage == ONE

    def test_tenant_usage_sums_a_time_range(self, store):
        before = dt.datetime.now(dt.UTC)
        for _ in range(2):
            cid = store.create()
            head = store.append(cid, convo.user("hi"), expected_head=None)
            store.append(cid, answer("a", **USAGE), expected_head=head)
        after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        assert store.usage() == ONE + ONE
        assert store.usage(since=before, until=after) == ONE + ONE
        assert store.usage(since=after) == UsageTotals()
        assert store.for_tenant(store.tenant + "-x").usage() == UsageTotals()


class TestInfo:
    def test_gives_everything_but_the_turns_in_one_query(self, store):
        conversation = Conversation.new().user("hi").assistant("hello")
        cid = store.create(conversation, title="Support", metadata={"user": "u1"})
        store.fork(cid, "alt", at=conversation.path_ids()[0])
        seen: list[str] = []
        event.listen(
            store.engine, "before_cursor_execute", lambda *a: seen.append(a[2])
        )
        detail = store.info(cid)
        assert len([s for s in seen if "convo_" in s]) == 1
        assert (detail.title, detail.metadata) == ("Support", {"user": "u1"})
        assert detail.turn_count == 2
        assert detail.active_branch == "main"
        assert [(b.name, b.head, b.active) for b in detail.branches] == [
            ("alt", conversation.path_ids()[0], False),
            ("main", conversation.head(), True),
        ]
        assert detail.created_at <= detail.updated_at

    def test_appends_default_to_the_active_branch(self, store):
        conversation = Conversation.new().user("hi").assistant("hello")
        cid = store.create(conversation)
        store.fork(cid, "alt", at=conversation.path_ids()[0], switch=True)
        turn_id = store.append(
            cid, convo.assistant("other"), expected_head=conversation.path_ids()[0]
        )
        heads = {b.name: b.head for b in store.info(cid).branches}
        assert heads == {"alt": turn_id, "main": conversation.head()}


class TestPagedBranches:
    def test_pages_by_name(self, store):
        conversation = Conversation.new().user("hi")
        cid = store.create(conversation)
        for name in ("b", "c", "d"):
            store.fork(cid, name, at=conversation.head())
        first = store.branches(cid, limit=2)
        assert [b.name for b in first] == ["b", "c"]
        rest = store.branches(cid, limit=2, after=first[-1].name)
        assert [b.name for b in rest] == ["d", "main"]
        assert store.branches(cid, limit=2, after="main") == ()


class TestSearch:
    def test_matches_what_a_person_wrote_or_read_and_not_json_keys(self, store):
        calls = convo.assistant(
            [ToolCallBlock(id="call_zz9", name="weather", arguments='{"city": "Oslo"}')]
        )
        result = convo.Turn(
            role="tool",
            blocks=(ToolResultBlock(call_id="call_zz9", content="Sunny in OSLO"),),
        )
        conversation = (
            Conversation.new().user("Hello Ünïcode").append(calls).append(result)
        )
        cid = store.create(conversation)
        for needle in ("ünïcode", "weather", "oslo", "sunny"):
            assert [i.id for i in store.search(needle).items] == [cid], needle
        for key in ("role", "blocks", "type", "call_zz9", "tool_result", "text"):
            assert store.search(key).items == (), key

    def test_role_does_not_hit_every_conversation(self, store):
        store.create(Conversation.new().user("hi").assistant("hello"))
        assert store.search("role").items == ()
        assert store.search('"role"').items == ()

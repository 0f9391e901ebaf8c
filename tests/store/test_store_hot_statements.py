"""The statements of every request's load and append, on SQLite and PostgreSQL.

Every request of a chatbot backend loads its conversation and appends to it,
and for a short conversation that is mostly the cost of the statements. A
load is two: one finds the live conversation of this tenant together with the
head of the branch asked for (or the active one), the next reads the turns,
and both are built once and bound to each call's ids. An append reads its
parent's row once, path ledger included, and updates its conversation once:
count, time and usage ledger together. These tests hold the counts, the
binding, and every answer a load's first statement decides: the branch, an
unknown branch, another tenant's, a deleted conversation, an empty branch.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from sqlalchemy import event, update

import convo
from convo import Conversation, Usage
from convo.errors import NotFoundError
from convo.store import Store
from convo.store._schema import CONVERSATIONS, HEADS

STORED = Conversation.new().user("hi").assistant("hello").user("and then?")
FORKED = STORED.fork("alt", at=STORED.path_ids()[0]).user("other").switch("main")


class Statements:
    """The statements on convo's rows a store sends while `watch` is on."""

    def __init__(self, store: Store) -> None:
        self.seen: list[str] = []
        self.on = False
        event.listen(store.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        statement = " ".join(str(args[2]).split())
        if self.on and "convo_" in statement:
            self.seen.append(statement)


@pytest.fixture
def statements(store: Store) -> Statements:
    return Statements(store)


class TestALoadsFirstStatement:
    def test_a_load_is_two_statements_the_head_then_the_turns(self, store, statements):
        cid = store.create(STORED)
        statements.on = True
        loaded = store.load(cid)
        assert loaded.path() == STORED.path()
        assert len(statements.seen) == 2, statements.seen
        head, turns = statements.seen
        assert "convo_conversations" in head
        assert "convo_heads" in head
        assert "convo_blobs" in head
        assert "convo_heads" not in turns

    def test_a_named_branch_is_two_statements_and_only_that_branch(
        self, store, statements
    ):
        cid = store.create(FORKED)
        statements.on = True
        alt = store.load(cid, branch="alt")
        assert len(statements.seen) == 2, statements.seen
        assert alt.active == "alt"
        assert list(alt.heads) == ["alt"]
        assert alt.path() == FORKED.path("alt")

    def test_without_a_branch_it_is_the_active_one(self, store):
        cid = store.create(FORKED.switch("alt"))
        assert store.load(cid).active == "alt"
        store.switch(cid, "main")
        loaded = store.load(cid)
        assert loaded.active == "main"
        assert loaded.path() == FORKED.path("main")

    def test_an_unknown_branch_is_not_found_by_its_name(self, store):
        cid = store.create(STORED)
        with pytest.raises(NotFoundError) as info:
            store.load(cid, branch="nope")
        assert (info.value.kind, info.value.key) == ("branch", "nope")

    def test_an_active_branch_without_a_head_row_is_not_found_by_its_name(self, store):
        """A store edited by hand: the conversation names a branch it has no head for."""
        cid = store.create(STORED)
        with store.engine.begin() as conn:
            conn.execute(
                update(CONVERSATIONS)
                .where(CONVERSATIONS.c.id == cid)
                .values(active_branch="gone")
            )
        with pytest.raises(NotFoundError) as info:
            store.load(cid)
        assert (info.value.kind, info.value.key) == ("branch", "gone")
        assert store.load(cid, branch="main").path() == STORED.path()

    def test_an_empty_branch_loads_empty(self, store):
        cid = store.create()
        with store.engine.begin() as conn:
            conn.execute(
                update(HEADS).where(HEADS.c.conversation_id == cid).values(turn_id=None)
            )
        loaded = store.load(cid)
        assert loaded.path() == ()
        assert loaded.active == "main"

    def test_another_tenants_conversation_is_not_found_as_a_conversation(
        self, store, db_url
    ):
        cid = store.create(STORED)
        with Store(db_url, tenant=store.tenant + "-other") as other:
            with pytest.raises(NotFoundError) as info:
                other.load(cid)
            with pytest.raises(NotFoundError) as named:
                other.load(cid, branch="main")
        assert (info.value.kind, info.value.key) == ("conversation", cid)
        assert (named.value.kind, named.value.key) == ("conversation", cid)

    def test_a_deleted_conversation_is_not_found_as_a_conversation(self, store):
        cid = store.create(STORED)
        store.delete(cid)
        with pytest.raises(NotFoundError) as info:
            store.load(cid, branch="main")
        assert (info.value.kind, info.value.key) == ("conversation", cid)

    def test_statements_built_once_answer_each_load_with_its_own_arguments(
        self, store, db_url
    ):
        """The load's statements are shared, their ids and branch names bound per call."""
        one = store.create(STORED)
        two = store.create(FORKED)  # forked: its branches take the recursive query
        other_tenant = Store(db_url, tenant=store.tenant + "-b")
        with other_tenant:
            theirs = other_tenant.create(STORED.user("theirs"))
            for _ in range(3):
                assert store.load(one).path() == STORED.path()
                assert store.load(two, branch="alt").path() == FORKED.path("alt")
                assert store.load(two).path() == FORKED.path("main")
                assert other_tenant.load(theirs).path()[-1].text == "theirs"
                with pytest.raises(NotFoundError):
                    store.load(theirs)
                with pytest.raises(NotFoundError):
                    other_tenant.load(one, branch="main")

    def test_a_conversation_with_images_still_loads_them(self, store):
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
        conversation = Conversation.new().append(
            convo.Turn(
                role="user",
                blocks=(
                    convo.TextBlock(text="look"),
                    convo.ImageBlock.from_bytes(png, media_type="image/png"),
                ),
            )
        )
        cid = store.create(conversation)
        assert store.load(cid) == conversation


class TestAnAppendsStatements:
    def test_an_append_reads_its_parent_and_updates_its_conversation_once_each(
        self, store, statements
    ):
        """On the ordinary path (PostgreSQL's, and SQLite's with a statement listener)."""
        usage = Usage(prompt_tokens=10, completion_tokens=4)
        cid = store.create(
            STORED.append(attrs.evolve(convo.assistant("a"), usage=usage))
        )
        head = store.append(
            cid, convo.user("more"), expected_head=store.load(cid).head()
        )
        statements.on = True
        store.append(
            cid, attrs.evolve(convo.assistant("b"), usage=usage), expected_head=head
        )
        statements.on = False
        reads = [
            s
            for s in statements.seen
            if s.startswith("SELECT") and "FROM convo_turns" in s
        ]
        assert len(reads) == 1, statements.seen
        bumps = [
            s for s in statements.seen if s.startswith("UPDATE convo_conversations")
        ]
        assert len(bumps) == 1, statements.seen  # the count and the ledger at once
        (main,) = store.info(cid).branches
        assert main.usage.input_tokens == 20
        assert main.usage.output_tokens == 8

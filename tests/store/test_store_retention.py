"""Erasure leaves nothing; prune by idleness and keep-latest, in short batches (both databases)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, inspect, select, text, update

import convo
from convo import Conversation, ImageBlock
from convo.errors import NotFoundError
from convo.store import Store
from convo.store._schema import CONVERSATIONS

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def rows_mentioning(store: Store, cid: str) -> dict[str, int]:
    """For every convo table, how many rows mention `cid` in any column."""
    found: dict[str, int] = {}
    with store.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            if not table.startswith("convo_") or "alembic" in table:
                continue
            columns = [c["name"] for c in inspect(conn).get_columns(table)]
            where = " OR ".join(f'CAST("{c}" AS TEXT) LIKE :cid' for c in columns)
            count = conn.execute(
                text(f'SELECT count(*) FROM "{table}" WHERE {where}'),  # noqa: S608
                {"cid": f"%{cid}%"},
            ).scalar_one()
            found[table] = count
    return found


def age(store: Store, cid: str, days: int) -> None:
    stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)
    with store.engine.begin() as conn:
        conn.execute(
            update(CONVERSATIONS)
            .where(CONVERSATIONS.c.id == cid)
            .values(updated_at=stamp, created_at=stamp)
        )


class TestErase:
    def test_nothing_of_the_conversation_remains_in_any_table(self, store):
        image = ImageBlock(media_type="image/png", data=PNG)
        graph = Conversation.new().user([image]).assistant("a picture")
        graph = graph.fork("alt", at=graph.path_ids()[0]).assistant("other")
        cid = store.create(graph, title="t", metadata={"k": "v"})
        keep = store.create(graph)
        assert sum(rows_mentioning(store, cid).values()) > 3
        store.erase(cid)
        assert set(rows_mentioning(store, cid).values()) == {0}
        assert store.load_graph(keep) == graph  # the same image, another conversation
        with pytest.raises(NotFoundError):
            store.erase(cid)

    def test_erases_what_delete_left_behind(self, store):
        cid = store.create(Conversation.new().user("hi"))
        store.delete(cid)
        assert rows_mentioning(store, cid)["convo_conversations"] == 1
        store.erase(cid)
        assert set(rows_mentioning(store, cid).values()) == {0}


class TestPrune:
    def test_removes_conversations_idle_longer_than_the_duration(self, store):
        old = [store.create(Conversation.new().user("old")) for _ in range(3)]
        fresh = store.create(Conversation.new().user("fresh"))
        for cid in old:
            age(store, cid, days=40)
        report = store.prune(idle=dt.timedelta(days=30), batch_size=2)
        assert sorted(report.conversation_ids) == sorted(old)
        assert report.batches == 2
        assert [i.id for i in store.list().items] == [fresh]
        for cid in old:
            assert set(rows_mentioning(store, cid).values()) == {0}

    def test_a_dry_run_names_them_and_removes_nothing(self, store):
        cid = store.create(Conversation.new().user("old"))
        age(store, cid, days=40)
        report = store.prune(idle=dt.timedelta(days=30), dry_run=True)
        assert (report.conversation_ids, report.batches) == ((cid,), 0)
        assert store.load(cid).path()[0].text == "old"

    def test_keeps_the_latest_n_per_metadata_key(self, store):
        made: dict[str, list[str]] = {"u1": [], "u2": []}
        for days in (5, 4, 3):
            for user in made:
                cid = store.create(metadata={"user": user})
                age(store, cid, days=days)
                made[user].append(cid)
        report = store.prune(keep_latest=1, per_key="user")
        assert sorted(report.conversation_ids) == sorted(
            made["u1"][:2] + made["u2"][:2]
        )
        left = {i.metadata["user"]: i.id for i in store.list().items}
        assert left == {"u1": made["u1"][2], "u2": made["u2"][2]}

    def test_keeps_the_latest_n_of_the_tenant_and_no_other_tenant_is_touched(
        self, store
    ):
        other = store.for_tenant(store.tenant + "-other")
        theirs = other.create()
        for days in (3, 2, 1):
            age(store, store.create(), days=days)
        store.prune(keep_latest=1)
        assert len(store.list().items) == 1
        assert [i.id for i in other.list().items] == [theirs]

    def test_needs_a_rule(self, store):
        with pytest.raises(ValueError, match="idle"):
            store.prune()

    def test_a_conversation_touched_after_it_was_picked_survives(self, store):
        cid = store.create(Conversation.new().user("old"))
        age(store, cid, days=40)
        rule_cutoff = dt.timedelta(days=30)
        picked = store.prune(idle=rule_cutoff, dry_run=True).conversation_ids
        store.append(
            cid, convo.assistant("still here"), expected_head=store.load(cid).head()
        )
        from convo.store import _retention

        rule = _retention.Rule(
            idle_before=dt.datetime.now(dt.UTC).replace(tzinfo=None) - rule_cutoff
        )
        with store.engine.begin() as conn:
            erased = _retention.erase_many(
                conn, tenant=store.tenant, rule=rule, cids=picked
            )
        assert erased == ()
        with store.engine.connect() as conn:
            assert (
                conn.execute(
                    select(func.count()).where(CONVERSATIONS.c.id == cid)
                ).scalar_one()
                == 1
            )

"""SQLite's common append on the driver connection: the same rows, the same answers.

`convo.store._sqlite_append` may only ever commit what the authoritative
`_statements.append` would, and must leave every refusal to it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

import convo
from convo import Conversation, ImageBlock, TextBlock, ToolCallBlock, ToolResultBlock
from convo.errors import (
    ConflictError,
    CorruptRecordError,
    NotFoundError,
    RoleOrderError,
    StoreBusyError,
)
from convo.store import Store
from convo.store import _statements as ops
from convo.testing.strategies import png_bytes, turns


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fast.db'}"
    convo.store.upgrade(url)
    return url


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with Store(url) as s:
        yield s


@pytest.fixture
def authoritative(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per append that took the authoritative path."""
    calls: list[str] = []
    real = ops.append

    def counting(conn: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["turn"].role if hasattr(kwargs["turn"], "role") else "?")
        return real(conn, **kwargs)

    monkeypatch.setattr(ops, "append", counting)
    return calls


def rows(store: Store, cid: str) -> dict[str, Any]:
    """Everything the store holds for `cid`, minus the times."""
    with store.engine.connect() as conn:
        turns = conn.execute(
            text(
                "SELECT id, parent_id, role, depth, seq, payload, typeof(created_at) "
                "FROM convo_turns WHERE conversation_id = :cid ORDER BY seq"
            ),
            {"cid": cid},
        ).all()
        heads = conn.execute(
            text(
                "SELECT branch, turn_id, version FROM convo_heads "
                "WHERE conversation_id = :cid ORDER BY branch"
            ),
            {"cid": cid},
        ).all()
        conversation = conn.execute(
            text(
                "SELECT turn_count, typeof(updated_at), updated_at >= created_at "
                "FROM convo_conversations WHERE id = :cid"
            ),
            {"cid": cid},
        ).one()
    return {
        "turns": [tuple(r) for r in turns],
        "heads": [tuple(r) for r in heads],
        "conversation": tuple(conversation),
    }


def instrument(store: Store) -> list[str]:
    """Add a statement listener (which sends every append the authoritative way)."""
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


class TestTheCommonCase:
    def test_user_and_assistant_turns_take_the_driver_path(self, store, authoritative):
        cid = store.create()
        head = store.append(cid, convo.system("Be brief."), expected_head=None)
        head = store.append(cid, convo.user("hi"), expected_head=head)
        head = store.append(cid, convo.assistant("hello"), expected_head=head)
        assert authoritative == []
        assert store.load(cid).head() == head
        assert [t.text for t in store.load(cid).path()] == ["Be brief.", "hi", "hello"]

    @settings(
        max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        sequence=st.lists(
            turns(roles=["user", "assistant"], tool_calls=False, images=False),
            min_size=1,
            max_size=6,
        )
    )
    def test_both_paths_store_the_same_rows(self, tmp_path_factory, sequence):
        stored = []
        for listened in (False, True):
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'x.db'}"
            with Store(url, create=True) as store:
                if listened:
                    instrument(store)
                cid = store.create(Conversation.new().append(convo.system("s")))
                head = store.load(cid).head()
                for turn in sequence:
                    head = store.append(cid, turn, expected_head=head)
                stored.append(rows(store, cid))
        fast, slow = stored
        assert fast == slow

    def test_the_transaction_takes_the_write_lock_up_front(self, url):
        statements: list[str] = []
        with Store(url) as store:

            @event.listens_for(store.engine, "connect")
            def trace(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
                dbapi_connection.set_trace_callback(statements.append)

            store.engine.dispose()  # reconnect, traced
            cid = store.create()
            statements.clear()
            store.append(cid, convo.user("x"), expected_head=None)
        assert statements[0] == "BEGIN IMMEDIATE"
        assert statements[-1] == "COMMIT"
        assert not any(s.startswith("ROLLBACK") for s in statements[:-1])


class TestEverythingElseIsTheAuthoritativePathsCall:
    def test_a_stale_head_conflicts_and_writes_nothing(self, store, authoritative):
        cid = store.create(Conversation.new().user("hi"))
        head = store.load(cid).head()
        winner = store.append(cid, convo.assistant("first"), expected_head=head)
        before = rows(store, cid)
        with pytest.raises(ConflictError) as info:
            store.append(cid, convo.assistant("second"), expected_head=head)
        assert (info.value.expected, info.value.actual) == (head, winner)
        assert rows(store, cid) == before
        assert authoritative == ["assistant"]

    def test_a_retried_append_that_committed_returns_the_same_id(
        self, store, authoritative
    ):
        cid = store.create(Conversation.new().user("hi"))
        head = store.load(cid).head()
        first = store.append(cid, convo.assistant("hello"), expected_head=head)
        before = rows(store, cid)
        assert store.append(cid, convo.assistant("hello"), expected_head=head) == first
        assert rows(store, cid) == before
        assert authoritative == ["assistant"]

    def test_a_turn_stored_already_on_another_branch_moves_this_head_only(
        self, store, authoritative
    ):
        cid = store.create(Conversation.new().user("hi"))
        root = store.load(cid).head()
        store.fork(cid, "other", at=root)
        answer = store.append(cid, convo.assistant("same"), expected_head=root)
        again = store.append(
            cid, convo.assistant("same"), branch="other", expected_head=root
        )
        assert again == answer
        assert len(rows(store, cid)["turns"]) == 2
        assert {b.name: b.head for b in store.branches(cid)} == {
            "main": answer,
            "other": answer,
        }
        assert authoritative == ["assistant"]

    @pytest.mark.parametrize(
        "case", ["missing", "malformed", "other tenant", "deleted", "no such branch"]
    )
    def test_a_conversation_or_branch_that_is_not_there_is_not_found(
        self, url, store, case
    ):
        cid = store.create()
        branch = "main"
        if case == "missing":
            cid = "cv_" + "0" * 32
        elif case == "malformed":
            cid = "not an id"
        elif case == "deleted":
            store.delete(cid)
        elif case == "no such branch":
            branch = "nope"
        writer = Store(url, tenant="intruder") if case == "other tenant" else store
        with writer, pytest.raises(NotFoundError):
            writer.append(cid, convo.user("x"), branch=branch, expected_head=None)
        if case in ("other tenant", "no such branch"):
            assert rows(store, cid)["turns"] == []

    def test_a_system_turn_after_a_turn_is_refused(self, store, authoritative):
        cid = store.create(Conversation.new().user("hi"))
        with pytest.raises(RoleOrderError):
            store.append(
                cid, convo.system("late"), expected_head=store.load(cid).head()
            )
        assert authoritative == ["system"]

    def test_a_turn_whose_blocks_do_not_suit_its_role_is_refused(
        self, store, authoritative
    ):
        cid = store.create()
        bad = convo.Turn(role="user", blocks=())
        with pytest.raises(RoleOrderError):
            store.append(cid, bad, expected_head=None)
        assert authoritative == ["user"]

    def test_tool_turns_and_image_turns_take_the_authoritative_path(
        self, store, authoritative
    ):
        cid = store.create(
            Conversation.new()
            .user("weather?")
            .assistant([ToolCallBlock(id="c1", name="weather")])
        )
        head = store.load(cid).head()
        head = store.append(
            cid,
            convo.tool_results(ToolResultBlock(call_id="c1", content="sunny")),
            expected_head=head,
        )
        image = ImageBlock(media_type="image/png", data=png_bytes(2, 2, (9, 9, 9)))
        store.append(
            cid, convo.user([TextBlock(text="look"), image]), expected_head=head
        )
        assert authoritative == ["tool", "user"]
        assert len(store.load(cid).path()) == 4

    def test_a_head_naming_a_missing_turn_is_corrupt_and_nothing_is_written(
        self, store
    ):
        cid = store.create(Conversation.new().user("hi"))
        ghost = "b2:" + "f" * 64
        raw = sqlite3.connect(store.engine.url.database)  # damage the database
        raw.execute("PRAGMA foreign_keys = OFF")
        raw.execute(
            "UPDATE convo_heads SET turn_id = ? WHERE conversation_id = ?", (ghost, cid)
        )
        raw.commit()
        raw.close()
        before = rows(store, cid)
        with pytest.raises(CorruptRecordError):
            store.append(cid, convo.assistant("x"), expected_head=convo.TurnId(ghost))
        assert rows(store, cid) == before

    def test_a_write_lock_held_past_the_timeout_is_store_busy(self, tmp_path):
        path = tmp_path / "busy.db"
        with Store(f"sqlite:///{path}", create=True, busy_timeout_ms=100) as store:
            cid = store.create()
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            try:
                with pytest.raises(StoreBusyError) as info:
                    store.append(cid, convo.user("x"), expected_head=None)
                assert "append" in info.value.message
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            assert store.append(cid, convo.user("x"), expected_head=None)


class TestInstrumentation:
    def test_an_engine_with_statement_listeners_sees_every_append_statement(
        self, store, authoritative
    ):
        seen = instrument(store)
        cid = store.create()
        store.append(cid, convo.user("x"), expected_head=None)
        assert authoritative == ["user"]
        assert any("convo_turns" in s and s.startswith("INSERT") for s in seen)

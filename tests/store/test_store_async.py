"""AsyncStore runs the same statements as Store, awaited, on aiosqlite and psycopg."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3

import pytest

import convo
from convo import Conversation
from convo.errors import ConflictError, NotFoundError, SchemaOutOfDateError
from convo.store import AsyncStore, Store

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def astore(db_url, tenant):
    store = await AsyncStore.open(db_url, tenant=tenant)
    try:
        yield store
    finally:
        await store.close()


def chat() -> Conversation:
    return (
        Conversation.new().append(convo.system("brief")).user("hi").assistant("hello")
    )


class TestAsyncStore:
    async def test_every_operation_matches_the_sync_store(self, astore, db_url, tenant):
        conversation = chat()
        cid = await astore.create(conversation, title="async", metadata={"a": 1})
        head = (await astore.load(cid)).head()
        turn_id = await astore.append(cid, convo.user("more"), expected_head=head)
        await astore.fork(cid, "alt", at=head)
        longer = (await astore.load_graph(cid)).switch("alt").user("alt")
        await astore.save(cid, longer)
        with Store(db_url, tenant=tenant) as sync:
            assert sync.load_graph(cid) == await astore.load_graph(cid)
            assert sync.export(cid) == await astore.export(cid)
            assert sync.branches(cid) == await astore.branches(cid)
        assert (await astore.load(cid)).head() == turn_id
        assert [i.id for i in (await astore.list()).items] == [cid]
        assert [i.id for i in (await astore.search("ALT")).items] == [cid]
        copy = await astore.import_(await astore.export(cid))
        assert await astore.load_graph(copy) == await astore.load_graph(cid)
        await astore.switch(cid, "alt")
        assert (await astore.load(cid)).active == "alt"
        await astore.delete(cid)
        with pytest.raises(NotFoundError):
            await astore.load(cid)

    async def test_a_stale_async_writer_gets_a_conflict(self, astore):
        cid = await astore.create(chat())
        head = (await astore.load(cid)).head()
        await astore.append(cid, convo.user("first"), expected_head=head)
        with pytest.raises(ConflictError):
            await astore.append(cid, convo.user("second"), expected_head=head)

    async def test_concurrent_tasks_appending_lose_nothing(self, astore):
        cid = await astore.create()

        async def writer(k: int) -> list[str]:
            acked = []
            for i in range(10):
                turn = convo.user(f"task {k} turn {i}")
                head = None
                while True:
                    try:
                        head = await astore.append(cid, turn, expected_head=head)
                        break
                    except ConflictError as exc:
                        head = exc.actual
                acked.append(head)
            return acked

        results = await asyncio.gather(*(writer(k) for k in range(4)))
        path = (await astore.load(cid)).path_ids()
        assert len(path) == 40
        assert set(path) == {t for acked in results for t in acked}

    async def test_another_tenant_sees_nothing(self, astore, db_url):
        cid = await astore.create(chat())
        other = await AsyncStore.open(db_url, tenant="other-" + secrets.token_hex(4))
        try:
            with pytest.raises(NotFoundError):
                await other.load(cid)
        finally:
            await other.close()


class TestAsyncOpening:
    @pytest.mark.parametrize("empty_url", ["sqlite", "postgresql"], indirect=True)
    async def test_an_out_of_date_schema_refuses_to_open(self, empty_url):
        with pytest.raises(SchemaOutOfDateError):
            await AsyncStore.open(empty_url)
        store = await AsyncStore.open(empty_url, create=True)
        try:
            assert (await store.load(await store.create())).path() == ()
        finally:
            await store.close()

    async def test_an_in_memory_database_is_migrated_in_place(self):
        store = await AsyncStore.open("sqlite+aiosqlite://", create=True)
        try:
            cid = await store.create(chat())
            assert await store.load(cid) == chat()
        finally:
            await store.close()


class TestAsyncFastAppend:
    """On a SQLite file, the common append runs Store's fast path in a worker thread."""

    @pytest.fixture
    def authoritative(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        from convo.store import _statements

        calls: list[str] = []
        real = _statements.append

        def counting(conn, **kwargs):
            calls.append(kwargs["turn"].role)
            return real(conn, **kwargs)

        monkeypatch.setattr(_statements, "append", counting)
        return calls

    @pytest.fixture
    async def file_store(self, tmp_path):
        store = await AsyncStore.open(f"sqlite:///{tmp_path / 'a.db'}", create=True)
        try:
            yield store
        finally:
            await store.close()

    async def test_the_common_append_skips_the_shared_statements(
        self, file_store, authoritative
    ):
        cid = await file_store.create()
        head = await file_store.append(cid, convo.user("hi"), expected_head=None)
        head = await file_store.append(
            cid, convo.assistant("hello"), expected_head=head
        )
        assert authoritative == []
        assert (await file_store.load(cid)).head() == head
        assert [t.text for t in (await file_store.load(cid)).path()] == ["hi", "hello"]

    async def test_a_refusal_is_the_shared_statements_answer(
        self, file_store, authoritative
    ):
        cid = await file_store.create(chat())
        head = (await file_store.load(cid)).head()
        winner = await file_store.append(cid, convo.user("first"), expected_head=head)
        with pytest.raises(ConflictError) as info:
            await file_store.append(cid, convo.user("second"), expected_head=head)
        assert info.value.actual == winner
        assert authoritative == ["user"]

    async def test_statement_listeners_on_the_async_engine_see_every_append(
        self, file_store, authoritative
    ):
        from sqlalchemy import event

        seen: list[str] = []
        event.listen(
            file_store.engine.sync_engine,
            "before_cursor_execute",
            lambda *a: seen.append(a[2]),
        )
        await file_store.append(
            await file_store.create(), convo.user("x"), expected_head=None
        )
        assert authoritative == ["user"]
        assert any(s.startswith("INSERT INTO convo_turns") for s in seen)

    @staticmethod
    def hold_write_lock(store: AsyncStore) -> sqlite3.Connection:
        """Another connection holding the database write lock, until `release`."""
        blocker = sqlite3.connect(
            str(store.engine.url.database),
            isolation_level=None,
            check_same_thread=False,
        )
        blocker.execute("BEGIN IMMEDIATE")
        return blocker

    @staticmethod
    def release(blocker: sqlite3.Connection) -> None:
        blocker.execute("COMMIT")
        blocker.close()

    async def test_the_event_loop_keeps_running_while_an_append_waits_for_the_lock(
        self, file_store
    ):
        cid = await file_store.create()
        blocker = self.hold_write_lock(file_store)
        append = asyncio.create_task(
            file_store.append(cid, convo.user("x"), expected_head=None)
        )
        ticks = 0
        for _ in range(20):  # the loop is free while the append waits in a thread
            await asyncio.sleep(0.01)
            ticks += 1
        assert not append.done()
        self.release(blocker)
        assert await append
        assert ticks == 20

    async def test_an_append_cancelled_in_flight_is_whole_or_absent_and_retry_lands_once(
        self, file_store
    ):
        cid = await file_store.create()
        blocker = self.hold_write_lock(file_store)
        append = asyncio.create_task(
            file_store.append(cid, convo.user("x"), expected_head=None)
        )
        await asyncio.sleep(0.05)
        append.cancel()
        with pytest.raises(asyncio.CancelledError):
            await append
        self.release(blocker)
        await asyncio.sleep(0.1)  # the worker thread may still finish it
        assert len((await file_store.load(cid)).path()) in (0, 1)
        again = await file_store.append(cid, convo.user("x"), expected_head=None)
        path_ids = (await file_store.load(cid)).path_ids()
        assert path_ids == (again,)

    async def test_a_cancelled_append_retried_after_another_writer_appended_lands_once(
        self, file_store
    ):
        """Issue 12: another writer appends between the cancelled call and the retry;
        the retry answers the cancelled call's id and stores no second copy."""
        cid = await file_store.create(chat())
        head = (await file_store.load(cid)).head()
        blocker = self.hold_write_lock(file_store)
        append = asyncio.create_task(
            file_store.append(cid, convo.user("x"), expected_head=head)
        )
        await asyncio.sleep(0.05)
        append.cancel()
        with pytest.raises(asyncio.CancelledError):
            await append
        self.release(blocker)
        await asyncio.sleep(0.1)  # the worker thread may still finish it
        landed = (await file_store.load(cid)).head()
        url = file_store.engine.url.set(drivername="sqlite")
        with Store(url.render_as_string(), tenant=file_store.tenant) as other:
            on_top = other.append(cid, convo.assistant("other"), expected_head=landed)
        graph = await file_store.load_graph(cid)
        if landed == head:  # the cancelled call wrote nothing: a true conflict
            with pytest.raises(ConflictError) as info:
                await file_store.append(cid, convo.user("x"), expected_head=head)
            assert info.value.actual == on_top
            assert await file_store.load_graph(cid) == graph
            return
        again = await file_store.append(cid, convo.user("x"), expected_head=head)
        assert again == landed
        assert await file_store.load_graph(cid) == graph
        texts = [t.text for t in (await file_store.load(cid)).path()]
        assert texts == ["brief", "hi", "hello", "x", "other"]

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("sqlite+aiosqlite:////tmp/x.db", "sqlite+pysqlite:////tmp/x.db"),
            ("sqlite:///relative.db", "sqlite+pysqlite:///relative.db"),
            ("sqlite+aiosqlite://", None),
            ("sqlite:///:memory:", None),
            ("sqlite:///file:mem?mode=memory&uri=true", None),
            ("postgresql+psycopg://u@h/db", None),
        ],
    )
    def test_only_a_sqlite_file_gets_the_fast_path(self, url, expected):
        from sqlalchemy import make_url

        from convo.store._sqlite_append import SqliteAppender

        found = SqliteAppender.file_url(make_url(url))
        assert (None if found is None else found.render_as_string()) == expected

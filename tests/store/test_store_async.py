"""AsyncStore runs the same statements as Store, awaited, on aiosqlite and psycopg."""

from __future__ import annotations

import asyncio
import secrets

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

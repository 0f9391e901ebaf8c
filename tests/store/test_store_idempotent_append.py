"""`append` is idempotent by content (issue 12): a retried append never stores a turn twice.

A turn's id hashes the turn and its parent, so the same turn after the same
`expected_head` has the same id. If that id is on the branch's path, at the
head or below it, the append is done already: it answers the id and writes
nothing, whatever was appended on top since. A `ConflictError` means the turn
is not on the branch, and nothing was written.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

import convo
from convo import Conversation
from convo.errors import ConflictError
from convo.store import AsyncStore, Store
from convo.store._schema import CONVERSATIONS, TURNS


def chat() -> Conversation:
    return Conversation.new().append(convo.system("brief")).user("hi")


def rows(store: Store, cid: str) -> tuple[int, int]:
    """(turn rows stored, the conversation's turn count) of `cid`."""
    with store.engine.connect() as conn:
        stored = conn.execute(
            select(func.count()).where(TURNS.c.conversation_id == cid)
        ).scalar_one()
        counted = conn.execute(
            select(CONVERSATIONS.c.turn_count).where(CONVERSATIONS.c.id == cid)
        ).scalar_one()
    return int(stored), int(counted)


def assert_advice_is_safe(error: ConflictError) -> None:
    """The message tells a stale writer the turn is not stored and to reload first."""
    text = str(error)
    assert "nothing was written" in text
    assert "not stored" in text
    assert "Reload" in text
    assert "re-apply the change and retry" not in text


class TestIdempotentAppend:
    def test_a_retry_with_nothing_in_between_returns_the_same_id_and_stores_one_row(
        self, store: Store
    ) -> None:
        cid = store.create(chat())
        head = store.load(cid).head()
        first = store.append(cid, convo.assistant("hello"), expected_head=head)
        before = rows(store, cid)
        again = store.append(cid, convo.assistant("hello"), expected_head=head)
        assert again == first
        assert rows(store, cid) == before == (3, 3)
        assert store.load(cid).head() == first

    def test_a_retry_after_another_writer_appended_on_top_returns_the_same_id_and_writes_nothing(
        self, store: Store
    ) -> None:
        cid = store.create(chat())
        head = store.load(cid).head()
        mine = store.append(cid, convo.assistant("hello"), expected_head=head)
        theirs = store.append(cid, convo.user("next"), expected_head=mine)
        theirs = store.append(cid, convo.assistant("and on"), expected_head=theirs)
        path = store.load(cid).path_ids()
        before = rows(store, cid)
        again = store.append(cid, convo.assistant("hello"), expected_head=head)
        assert again == mine
        assert rows(store, cid) == before
        assert store.load(cid).path_ids() == path
        assert store.load(cid).head() == theirs

    def test_a_retried_root_turn_is_found_at_the_bottom_of_a_long_path(
        self, store: Store
    ) -> None:
        cid = store.create()
        root = store.append(cid, convo.user("first"), expected_head=None)
        head = root
        for i in range(30):
            head = store.append(cid, convo.assistant(f"a{i}"), expected_head=head)
        before = rows(store, cid)
        assert store.append(cid, convo.user("first"), expected_head=None) == root
        assert rows(store, cid) == before
        assert store.load(cid).head() == head

    def test_a_stale_writer_whose_turn_is_not_on_the_path_gets_a_conflict_and_writes_nothing(
        self, store: Store
    ) -> None:
        cid = store.create(chat())
        head = store.load(cid).head()
        winner = store.append(cid, convo.assistant("first"), expected_head=head)
        before = rows(store, cid)
        with pytest.raises(ConflictError) as info:
            store.append(cid, convo.assistant("second"), expected_head=head)
        assert (info.value.expected, info.value.actual) == (head, winner)
        assert str(head) in str(info.value)
        assert str(winner) in str(info.value)
        assert_advice_is_safe(info.value)
        assert rows(store, cid) == before
        assert store.load(cid).head() == winner

    def test_the_same_content_after_another_parent_is_a_new_turn(
        self, store: Store
    ) -> None:
        cid = store.create(chat())
        head = store.load(cid).head()
        first = store.append(cid, convo.assistant("ok"), expected_head=head)
        step = store.append(cid, convo.user("again"), expected_head=first)
        second = store.append(cid, convo.assistant("ok"), expected_head=step)
        assert second != first
        assert [t.text for t in store.load(cid).path()][-3:] == ["ok", "again", "ok"]
        assert rows(store, cid)[0] == 5

    def test_the_same_content_after_a_stale_other_parent_is_a_conflict(
        self, store: Store
    ) -> None:
        cid = store.create(chat())
        head = store.load(cid).head()
        first = store.append(cid, convo.assistant("ok"), expected_head=head)
        step = store.append(cid, convo.user("again"), expected_head=first)
        store.append(cid, convo.assistant("more"), expected_head=step)
        before = rows(store, cid)
        with pytest.raises(
            ConflictError
        ) as info:  # "ok" after "again" was never stored
            store.append(cid, convo.assistant("ok"), expected_head=step)
        assert_advice_is_safe(info.value)
        assert rows(store, cid) == before

    def test_a_turn_stored_on_another_branch_only_is_not_on_this_branch(
        self, store: Store
    ) -> None:
        cid = store.create(chat())
        head = store.load(cid).head()
        store.fork(cid, "alt", at=head)
        on_alt = store.append(
            cid, convo.assistant("alt"), branch="alt", expected_head=head
        )
        main = store.append(cid, convo.assistant("main"), expected_head=head)
        with pytest.raises(ConflictError) as info:
            store.append(cid, convo.assistant("alt"), expected_head=head)
        assert info.value.actual == main
        assert store.load(cid, branch="alt").head() == on_alt
        assert store.load(cid).head() == main
        assert rows(store, cid)[0] == 4


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
class TestAsyncIdempotentAppend:
    @pytest.fixture(params=["module database", "aiosqlite in memory"])
    async def target(
        self, request: pytest.FixtureRequest, db_url: str, tenant: str
    ) -> Any:
        """The module's database (a SQLite file: the fast path in a worker thread,
        then the shared statements; or psycopg), or an in-memory database (the
        shared statements through aiosqlite only)."""
        if request.param == "module database":
            store = await AsyncStore.open(db_url, tenant=tenant)
        else:
            store = await AsyncStore.open(
                "sqlite+aiosqlite://", tenant=tenant, create=True
            )
        try:
            yield store
        finally:
            await store.close()

    async def test_a_retry_with_nothing_in_between_returns_the_same_id(
        self, target: AsyncStore
    ) -> None:
        cid = await target.create(chat())
        head = (await target.load(cid)).head()
        first = await target.append(cid, convo.assistant("hello"), expected_head=head)
        again = await target.append(cid, convo.assistant("hello"), expected_head=head)
        assert again == first
        assert len(await target.load_graph(cid)) == 3

    async def test_a_retry_after_another_writer_appended_on_top_returns_the_same_id(
        self, target: AsyncStore
    ) -> None:
        cid = await target.create(chat())
        head = (await target.load(cid)).head()
        mine = await target.append(cid, convo.assistant("hello"), expected_head=head)
        theirs = await target.append(cid, convo.user("next"), expected_head=mine)
        graph = await target.load_graph(cid)
        again = await target.append(cid, convo.assistant("hello"), expected_head=head)
        assert again == mine
        assert await target.load_graph(cid) == graph
        assert (await target.load(cid)).head() == theirs

    async def test_a_stale_writer_gets_a_conflict_and_writes_nothing(
        self, target: AsyncStore
    ) -> None:
        cid = await target.create(chat())
        head = (await target.load(cid)).head()
        winner = await target.append(cid, convo.assistant("first"), expected_head=head)
        graph = await target.load_graph(cid)
        with pytest.raises(ConflictError) as info:
            await target.append(cid, convo.assistant("second"), expected_head=head)
        assert (info.value.expected, info.value.actual) == (head, winner)
        assert_advice_is_safe(info.value)
        assert await target.load_graph(cid) == graph

    async def test_the_same_content_after_another_parent_is_a_new_turn(
        self, target: AsyncStore
    ) -> None:
        cid = await target.create(chat())
        head = (await target.load(cid)).head()
        first = await target.append(cid, convo.assistant("ok"), expected_head=head)
        step = await target.append(cid, convo.user("again"), expected_head=first)
        second = await target.append(cid, convo.assistant("ok"), expected_head=step)
        assert second != first
        assert len(await target.load_graph(cid)) == 5
        with pytest.raises(ConflictError):
            await target.append(cid, convo.assistant("other"), expected_head=step)

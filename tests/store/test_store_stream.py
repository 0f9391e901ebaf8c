"""PostgreSQL loads decode rows as they arrive (issue 18, `convo.store._stream`).

On psycopg the rows of a load's scan are handed over while the server still
sends them, and each is decoded on arrival. The promise: a streamed load is
the load it replaces, the same conversation or the same error for the same
row, tampered rows included; errors still come in path order; a row off the
path is never reported; a driver failure mid-stream is a `StoreError` and
leaves the store usable; an instrumented engine sees every statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, event, make_url, select, update

import convo.store
from convo import Conversation, ImageBlock, TextBlock, system, user
from convo.errors import CorruptRecordError, StoreError
from convo.store import AsyncStore, Store, _stream
from convo.store import _mapper as mapper
from convo.store import _queries as queries
from convo.store._schema import CONVERSATIONS, TURNS
from convo.testing.strategies import conversations, png_bytes
from tests.store.test_store_fast_decode import (
    STORE_PROPERTY,
    _plain,
    outcome,
    tampered,
)

FreshDatabase = Callable[[str, Path], str]


def chat(exchanges: int) -> Conversation:
    conversation = Conversation.new().append(system("be brief"))
    for i in range(exchanges):
        conversation = conversation.user(f"question {i}").assistant(f"answer {i}")
    return conversation


@pytest.fixture(scope="module")
def pg_url(
    tmp_path_factory: pytest.TempPathFactory, fresh_database: FreshDatabase
) -> str:
    """An upgraded PostgreSQL database of this module (skipped as the root conftest says)."""
    url = fresh_database("postgresql", tmp_path_factory.mktemp("pg"))
    convo.store.upgrade(url)
    return url


@pytest.fixture
def streams(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each scan of a load was streamed, in order."""
    seen: list[bool] = []
    real = _stream.stream

    def spy(conn: Any, *args: Any) -> Any:
        rows = real(conn, *args)
        seen.append(rows is not None)
        return rows

    monkeypatch.setattr(queries, "stream", spy)
    return seen


def unstreamed() -> pytest.MonkeyPatch:
    """A patch under which no load streams (the path every other backend takes)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(queries, "stream", lambda *_args: None)
    return patch


def set_payload(store: Store, cid: str, turn_id: str, payload: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(TURNS)
            .where(TURNS.c.conversation_id == cid, TURNS.c.id == turn_id)
            .values(payload=payload)
        )


class TestWhereLoadsStream:
    def test_a_postgresql_load_streams_and_a_sqlite_load_does_not(
        self, db_url: str, backend: str, streams: list[bool]
    ) -> None:
        with Store(db_url) as store:
            cid = store.create(chat(3))
            assert store.load(cid) == chat(3)
        assert streams == [backend == "postgresql"]

    @pytest.mark.anyio
    @pytest.mark.parametrize("anyio_backend", ["asyncio"])
    async def test_an_async_store_does_not_stream_and_loads_the_same(
        self, db_url: str, streams: list[bool], anyio_backend: str
    ) -> None:
        store = await AsyncStore.open(db_url)
        try:
            cid = await store.create(chat(3))
            assert await store.load(cid) == chat(3)
        finally:
            await store.close()
        assert streams == [False]

    def test_a_conversation_with_images_is_not_decoded_ahead(
        self, pg_url: str, streams: list[bool], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ahead: list[str] = []
        real = mapper.predecode

        def counted(turn_id: Any, *args: Any, **kwargs: Any) -> None:
            ahead.append(turn_id)
            real(turn_id, *args, **kwargs)

        monkeypatch.setattr(queries, "predecode", counted)
        image = ImageBlock(media_type="image/png", data=png_bytes(2, 2, (1, 2, 3)))
        conversation = chat(2).user([TextBlock(text="look"), image]).assistant("red")
        with Store(pg_url) as store:
            cid = store.create(conversation)
            assert store.load(cid) == conversation
            assert streams == []  # its blobs are read first: the plain scan
            plain = store.create(chat(2))
            assert store.load(plain) == chat(2)
        assert streams == [True]
        assert len(ahead) == len(chat(2))

    def test_payloads_arrive_as_the_bytes_the_ids_are_hashed_over(
        self, pg_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Text payloads come as their UTF-8 bytes (no decode, no encode again
        # for the id); the connection's own adapters are left as they were.
        seen: list[object] = []
        real = mapper.predecode

        def spy(turn_id: Any, parent_id: Any, payload: Any, **kwargs: Any) -> None:
            seen.append(payload)
            real(turn_id, parent_id, payload, **kwargs)

        monkeypatch.setattr(queries, "predecode", spy)
        conversation = chat(2).user("caf\u00e9 \U0001f600")
        with Store(pg_url) as store:
            cid = store.create(conversation)
            loaded = store.load(cid)
            assert loaded == conversation
            assert seen
            assert all(type(payload) is bytes for payload in seen)
            assert loaded.path()[-1].text == "caf\u00e9 \U0001f600"
            with store.engine.connect() as conn:
                text = conn.execute(select(TURNS.c.payload).limit(1)).scalar_one()
            assert type(text) is str

    def test_another_client_encoding_still_loads_every_text(self, pg_url: str) -> None:
        # Bytes in LATIN1 are not the UTF-8 the ids are hashed over: such a
        # connection's payloads come as str, decoded by psycopg as before.
        engine = create_engine(pg_url, connect_args={"client_encoding": "LATIN1"})
        conversation = chat(1).user("caf\u00e9 cr\u00e8me")
        try:
            with Store(engine) as store:
                cid = store.create(conversation)
                assert store.load(cid) == conversation
        finally:
            engine.dispose()

    def test_an_engine_with_statement_listeners_sees_every_statement_of_a_load(
        self, db_url: str, streams: list[bool]
    ) -> None:
        with Store(db_url) as store:
            cid = store.create(chat(3))
            statements: list[str] = []
            event.listen(
                store.engine,
                "before_cursor_execute",
                lambda _c, _cur, sql, *_rest: statements.append(sql),
            )
            assert store.load(cid) == chat(3)
        assert streams == [False]
        assert any("convo_turns.payload" in sql for sql in statements)

    def test_an_engine_that_translates_schema_names_does_not_stream(
        self, pg_url: str, streams: list[bool]
    ) -> None:
        options = make_url(pg_url).query["options"]
        assert isinstance(options, str)
        schema = options.removeprefix("-csearch_path=")
        engine = create_engine(pg_url).execution_options(
            schema_translate_map={None: schema}
        )
        try:
            with Store(engine) as store:
                cid = store.create(chat(3))
                assert store.load(cid) == chat(3)
        finally:
            engine.dispose()
        assert streams == [False]

    def test_a_libpq_without_chunked_rows_does_not_stream(
        self,
        pg_url: str,
        streams: list[bool],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(psycopg.capabilities, "has_stream_chunked", lambda: False)
        with Store(pg_url) as store:
            cid = store.create(chat(3))
            assert store.load(cid) == chat(3)
        assert streams == [False]


class TestAStreamedLoadIsTheLoadItReplaces:
    @STORE_PROPERTY
    @given(
        conversations(min_turns=1, max_turns=8, cache_control=True),
        st.data(),
        st.booleans(),
        st.sampled_from([0, 1 << 20]),
    )
    def test_the_same_conversation_or_the_same_error_including_tampered_rows(
        self,
        pg_url: str,
        conversation: Conversation,
        data: st.DataObject,
        tamper: bool,
        cache_chars: int,
    ) -> None:
        with Store(pg_url, cache_chars=cache_chars) as store:
            cid = store.create(conversation)
            if tamper:
                node = data.draw(st.sampled_from(list(conversation.walk())))
                plain = data.draw(tampered(_plain(node.turn)))
                set_payload(store, cid, node.id, json.dumps(plain, sort_keys=True))
            streamed = outcome(lambda: store.load(cid))
            again = outcome(lambda: store.load(cid))  # from the cache, if kept
            patch = unstreamed()
            try:
                assert outcome(lambda: store.load(cid)) == streamed == again
            finally:
                patch.undo()

    def test_of_many_corrupt_rows_the_first_on_the_path_is_reported(
        self, pg_url: str, streams: list[bool]
    ) -> None:
        conversation = chat(10)
        path = [node.id for node in conversation.walk()]
        with Store(pg_url, cache_chars=0) as store:
            cid = store.create(conversation)
            # Every row but the root, the last first: whatever order the
            # server sends them in, path[1] is rarely the first to arrive.
            for i, turn_id in reversed(list(enumerate(path))[1:]):
                set_payload(store, cid, turn_id, "not json" if i % 2 else "[]")
            with pytest.raises(CorruptRecordError) as streamed:
                store.load(cid)
            patch = unstreamed()
            try:
                with pytest.raises(CorruptRecordError) as plain:
                    store.load(cid)
            finally:
                patch.undo()
        assert streams == [True]
        assert streamed.value.key == plain.value.key == path[1]
        assert str(streamed.value) == str(plain.value)

    def test_a_corrupt_row_off_the_path_is_never_reported(
        self, pg_url: str, streams: list[bool]
    ) -> None:
        base = chat(2)
        with Store(pg_url, cache_chars=0) as store:
            cid = store.create(base)
            store.fork(cid, "side", at=base.head())
            side = store.append(
                cid, user("aside"), branch="side", expected_head=base.head()
            )
            # A count that says "one chain": the scan reads the side row too,
            # sees that the rows are no chain, and the path query takes over.
            with store.engine.begin() as conn:
                conn.execute(
                    update(CONVERSATIONS)
                    .where(CONVERSATIONS.c.id == cid)
                    .values(turn_count=len(base))
                )
            set_payload(store, cid, side, "not json")
            assert store.load(cid).path() == base.path()
        assert streams == [True]


class TestFailuresMidStream:
    def test_a_driver_error_is_a_store_error_and_the_store_stays_usable(
        self, pg_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real = psycopg.Cursor.stream

        def failing(
            self: psycopg.Cursor[Any], *args: Any, **kwargs: Any
        ) -> Generator[Any, None, None]:
            rows = cast(Generator[Any, None, None], real(self, *args, **kwargs))
            yield next(rows)
            rows.close()
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        with Store(pg_url) as store:
            cid = store.create(chat(4))
            monkeypatch.setattr(psycopg.Cursor, "stream", failing)
            with pytest.raises(StoreError) as info:
                store.load(cid)
            assert str(info.value).startswith(
                "The database failed during load (got <OperationalError>)"
            )
            monkeypatch.undo()
            assert store.load(cid) == chat(4)
            assert len(store.load(store.create(chat(1)))) == len(chat(1))

    def test_leaving_the_stream_early_cancels_the_rest_and_the_store_stays_usable(
        self, pg_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[str] = []

        def interrupted(turn_id: str, *_args: Any, **_kwargs: Any) -> None:
            calls.append(turn_id)
            if len(calls) == 3:
                raise KeyboardInterrupt

        with Store(pg_url, cache_chars=0) as store:
            cid = store.create(chat(20))
            monkeypatch.setattr(queries, "predecode", interrupted)
            with pytest.raises(KeyboardInterrupt):
                store.load(cid)
            monkeypatch.undo()
            assert store.load(cid) == chat(20)
        assert len(calls) == 3

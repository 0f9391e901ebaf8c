"""Setting a database up: every mistake is a typed error that says what to do (issue 13)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

import convo.store
from convo._cli import main
from convo.errors import DatabaseURLError, SchemaOutOfDateError, StoreError
from convo.store import AsyncStore, Store
from convo.store._migrate import HEAD, VERSION_TABLE

BAD_URLS = [
    "not a url",
    "postgress://user:hunter2@db.example/x",
    "sqlite+nodriver:///x.db",
    "://",
    "sqlite://user:hunter2@/x?bad%%%",
]


def file_url(tmp_path: Path, name: str = "convo.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def newer_database(tmp_path: Path) -> str:
    """A database that a newer convo migrated to a revision this one does not know."""
    url = file_url(tmp_path)
    convo.store.upgrade(url)
    with sqlite3.connect(tmp_path / "convo.db") as connection:
        connection.execute(f"UPDATE {VERSION_TABLE} SET version_num = '0099'")  # noqa: S608 - a constant
    return url


class TestANewerSchema:
    def test_the_store_says_the_database_is_newer_than_this_convo(self, tmp_path):
        with pytest.raises(SchemaOutOfDateError) as info:
            Store(newer_database(tmp_path))
        assert info.value.message.startswith(
            f"The database is at revision 0099, newer than this convo ({HEAD}); "
            "upgrade convo"
        )
        assert "convo db upgrade" not in info.value.message
        assert info.value.current == "0099"

    def test_upgrading_refuses_without_a_traceback(self, tmp_path, capsys):
        url = newer_database(tmp_path)
        assert main(["db", "upgrade", "--url", url]) == 1
        err = capsys.readouterr().err
        assert "newer than this convo" in err
        assert "Traceback" not in err
        with pytest.raises(SchemaOutOfDateError, match="newer than this convo"):
            convo.store.upgrade(url)
        with pytest.raises(SchemaOutOfDateError, match="newer than this convo"):
            Store(url, create=True)

    def test_db_current_reports_it_and_exits_3(self, tmp_path, capsys):
        assert main(["db", "current", "--url", newer_database(tmp_path)]) == 3
        assert "newer than this convo" in capsys.readouterr().out

    @pytest.mark.anyio
    async def test_the_async_store_says_so_too(self, tmp_path):
        url = newer_database(tmp_path)
        with pytest.raises(SchemaOutOfDateError, match="newer than this convo"):
            await AsyncStore.open(url)


class TestBadURLs:
    @pytest.mark.parametrize("url", BAD_URLS)
    def test_a_bad_url_is_a_database_url_error(self, url):
        with pytest.raises(DatabaseURLError) as info:
            Store(url)
        assert "hunter2" not in info.value.message
        assert "hunter2" not in repr(info.value.details)
        assert isinstance(info.value, StoreError | ValueError)

    @pytest.mark.parametrize("url", [42, b"sqlite://", ["sqlite://"]])
    def test_a_url_that_is_not_a_string_is_a_database_url_error(self, url):
        with pytest.raises(DatabaseURLError, match="must be a string"):
            Store(url)

    @pytest.mark.parametrize("url", BAD_URLS)
    def test_the_async_store_refuses_the_same_urls(self, url):
        with pytest.raises(DatabaseURLError):
            AsyncStore(url)

    @pytest.mark.parametrize("url", BAD_URLS)
    @pytest.mark.parametrize("command", [["ls"], ["show", "x"], ["db", "current"]])
    def test_the_cli_prints_one_line_and_exits_1(self, url, command, capsys):
        assert main([*command, "--url", url]) == 1
        err = capsys.readouterr().err
        assert "Database URL" in err
        assert "Traceback" not in err
        assert "hunter2" not in err


class TestUnreachableDatabases:
    def test_a_refused_connection_shows_the_drivers_reason(self):
        with pytest.raises(StoreError) as info:
            Store("postgresql+psycopg://user:hunter2@127.0.0.1:1/nope")
        assert "Could not connect to the database" in info.value.message
        assert "refused" in info.value.message.lower()
        assert "hunter2" not in info.value.message

    def test_a_missing_directory_says_the_file_cannot_be_opened(self, tmp_path):
        url = file_url(tmp_path / "no" / "such" / "dir")
        with pytest.raises(StoreError) as info:
            Store(url, create=True)
        assert "unable to open database file" in info.value.message
        assert "directory exists" in info.value.message


class TestReadingNeverCreates:
    def test_db_current_on_a_missing_file_creates_nothing(self, tmp_path, capsys):
        url = file_url(tmp_path, "never.db")
        assert main(["db", "current", "--url", url]) == 3
        assert "revision none" in capsys.readouterr().out
        assert not (tmp_path / "never.db").exists()

    def test_current_revision_of_a_missing_file_is_none_and_creates_nothing(
        self, tmp_path
    ):
        assert convo.store.current_revision(file_url(tmp_path, "never.db")) is None
        assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
class TestAsyncStoreChecksTheSchemaLikeStore:
    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    async def test_async_with_on_a_fresh_database_is_schema_out_of_date(self, tmp_path):
        url = file_url(tmp_path)
        sqlite3.connect(tmp_path / "convo.db").close()  # exists, but no convo tables
        with pytest.raises(SchemaOutOfDateError, match="no convo tables"):
            async with AsyncStore(url):
                pass

    async def test_an_operation_on_missing_tables_is_schema_out_of_date(self, tmp_path):
        url = file_url(tmp_path)
        sqlite3.connect(tmp_path / "convo.db").close()
        store = AsyncStore(url)
        try:
            with pytest.raises(SchemaOutOfDateError, match="convo db upgrade"):
                await store.create()
        finally:
            await store.close()

    async def test_async_with_on_an_upgraded_database_works(self, tmp_path):
        url = file_url(tmp_path)
        convo.store.upgrade(url)
        async with AsyncStore(url) as store:
            assert (await store.load(await store.create())).path() == ()


class TestStoreOnMissingTables:
    def test_an_operation_after_the_tables_vanished_is_schema_out_of_date(
        self, tmp_path
    ):
        url = file_url(tmp_path)
        with Store(url, create=True) as store:
            with store.engine.begin() as connection:
                connection.execute(text("DROP TABLE convo_turns"))
            with pytest.raises(SchemaOutOfDateError):
                store.load(store.create())


class TestEngineOptions:
    @pytest.mark.parametrize(
        "url",
        [
            "postgresql://u@127.0.0.1:1/db",
            "postgresql+psycopg://u@127.0.0.1:1/db",
        ],
    )
    def test_a_postgres_engine_does_not_look_up_hstore_on_connect(self, url):
        # convo stores no hstore column: the lookup would be one more catalog
        # round trip on the first connection of every engine.
        from convo.store._engine import make_engine

        engine = make_engine(url)
        try:
            assert engine.dialect.use_native_hstore is False  # type: ignore[attr-defined]
            assert engine.dialect.driver == "psycopg"
        finally:
            engine.dispose()

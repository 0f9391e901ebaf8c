"""Migrations: models and scripts agree, upgrades are idempotent and run exactly once."""

from __future__ import annotations

import os
import random
import secrets
import signal
import sqlite3
import sys
import time
from pathlib import Path

import attrs
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import convo
import convo.store
from convo.store import _migrate
from convo.store._schema import METADATA

sys.path.insert(0, str(Path(__file__).parent))
import convo_store_worker as worker  # type: ignore[import-not-found]

BOTH = pytest.mark.parametrize("empty_url", ["sqlite", "postgresql"], indirect=True)


def _include(name: str | None, type_: str, _parents: object) -> bool:
    return type_ != "table" or (name or "").startswith("convo_")


def convo_tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {t for t in inspect(engine).get_table_names() if t.startswith("convo_")}
    finally:
        engine.dispose()


class TestScripts:
    def test_head_constant_matches_the_scripts(self):
        assert _migrate.head_revision() == convo.store.HEAD

    def test_scripts_are_found_in_a_source_checkout(self):
        location = _migrate.script_location()
        assert (location / "env.py").is_file()
        assert (location / "versions" / "0001_initial.py").is_file()

    def test_a_packaged_copy_takes_precedence(self, tmp_path, monkeypatch):
        package = tmp_path / "convo"
        (package / "_migrations" / "versions").mkdir(parents=True)
        (package / "_migrations" / "env.py").write_text("")
        monkeypatch.setattr(_migrate, "PACKAGE_DIR", package)
        assert _migrate.script_location() == package / "_migrations"


class TestUpgrade:
    @BOTH
    def test_models_and_migrations_agree(self, empty_url):
        convo.store.upgrade(empty_url)
        engine = create_engine(empty_url)
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(
                    conn,
                    opts={
                        "include_name": _include,
                        "compare_type": True,
                        "version_table": _migrate.VERSION_TABLE,
                    },
                )
                assert compare_metadata(context, METADATA) == []
                # Alembic's own gate, as `alembic check` runs it.
                command.check(_migrate.alembic_config(conn))
        finally:
            engine.dispose()

    @BOTH
    def test_the_version_table_lookup_answers_what_the_inspector_answers(
        self, empty_url
    ):
        # `Store` opens look the table up in the catalog directly (faster than
        # SQLAlchemy's reflection); both must agree before and after.
        engine = create_engine(empty_url)
        try:
            for step in ("empty", "upgraded", "dropped"):
                if step == "upgraded":
                    convo.store.upgrade(empty_url)
                if step == "dropped":
                    with engine.begin() as conn:
                        conn.execute(text(f"DROP TABLE {_migrate.VERSION_TABLE}"))
                with engine.connect() as conn:
                    expected = inspect(conn).has_table(_migrate.VERSION_TABLE)
                    assert _migrate._has_version_table(conn) is expected, step
                    assert expected is (step == "upgraded")
        finally:
            engine.dispose()

    @BOTH
    def test_upgrading_twice_is_a_noop(self, empty_url):
        convo.store.upgrade(empty_url)
        before = convo_tables(empty_url)
        convo.store.upgrade(empty_url)
        assert convo_tables(empty_url) == before
        assert convo.store.current_revision(empty_url) == convo.store.HEAD
        assert "convo_alembic_version" in before

    @BOTH
    def test_downgrade_then_upgrade_round_trips(self, empty_url):
        convo.store.upgrade(empty_url)
        tables = convo_tables(empty_url)
        convo.store.downgrade(empty_url, revision="base")
        assert convo_tables(empty_url) == {"convo_alembic_version"}
        assert convo.store.current_revision(empty_url) is None
        convo.store.upgrade(empty_url)
        assert convo_tables(empty_url) == tables
        with convo.store.Store(empty_url) as store:
            cid = store.create(convo.Conversation.new().user("hi"))
            assert store.load(cid).path()[0].text == "hi"

    @BOTH
    def test_only_convo_tables_are_touched(self, empty_url):
        engine = create_engine(empty_url)
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE host_table (id INTEGER PRIMARY KEY)"))
                conn.execute(
                    text("CREATE TABLE alembic_version (version_num VARCHAR(32))")
                )
                conn.execute(text("INSERT INTO alembic_version VALUES ('hostrev')"))
            convo.store.upgrade(empty_url)
            convo.store.downgrade(empty_url, revision="base")
            with engine.connect() as conn:
                assert (
                    conn.execute(
                        text("SELECT version_num FROM alembic_version")
                    ).scalar()
                    == "hostrev"
                )
                assert "host_table" in inspect(conn).get_table_names()
        finally:
            engine.dispose()

    @pytest.mark.slow
    @BOTH
    def test_five_processes_migrating_at_once_apply_exactly_once(
        self, empty_url, tmp_path
    ):
        """Concurrent starts must not half-apply a migration (langflow#13204, llm#789)."""
        barrier = worker.context().Barrier(5)
        report = tmp_path / "report.txt"
        codes = worker.run(
            worker.migrate, [(empty_url, barrier, str(report))] * 5, timeout=120
        )
        assert codes == [0] * 5, report.read_text()
        outcomes = report.read_text().split()
        assert sorted(outcomes) == ["applied"] + ["noop"] * 4
        assert convo.store.current_revision(empty_url) == convo.store.HEAD
        engine = create_engine(empty_url)
        try:
            with engine.connect() as conn:
                assert (
                    conn.execute(
                        text("SELECT count(*) FROM convo_alembic_version")
                    ).scalar()
                    == 1
                )
        finally:
            engine.dispose()


@pytest.mark.slow
class TestInterruptedMigrations:
    @BOTH
    def test_a_migrator_killed_at_any_moment_leaves_old_or_new_never_half(
        self, empty_url, tmp_path
    ):
        """R6: a kill mid-migration rolls the whole step back; rerunning reaches head."""
        application = "convo-migrate-" + secrets.token_hex(4)
        child_url = worker.named(empty_url, application)
        convo.store.upgrade(empty_url)
        every_table = convo_tables(empty_url)
        convo.store.downgrade(empty_url, revision="base")
        rng = random.Random(20261203)
        ctx = worker.context()
        seen: set[str] = set()
        for kill in range(12):
            report = tmp_path / f"report-{kill}.txt"
            child = ctx.Process(
                target=worker.migrate_back_and_forth, args=(child_url, str(report))
            )
            child.start()
            try:
                deadline = time.monotonic() + 30
                while "ready" not in (report.read_text() if report.exists() else ""):
                    assert time.monotonic() < deadline, "the migrator never started"
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 0.4))
            finally:
                os.kill(child.pid, signal.SIGKILL)
                child.join(30)
            worker.wait_for_server_rollback(empty_url, application)
            revision = convo.store.current_revision(empty_url)
            tables = convo_tables(empty_url)
            seen.add(str(revision))
            if revision is None:
                assert tables <= {_migrate.VERSION_TABLE}, tables
            else:
                assert (revision, tables) == (convo.store.HEAD, every_table)
            if empty_url.startswith("sqlite"):
                raw = sqlite3.connect(empty_url.removeprefix("sqlite:///"))
                try:
                    assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
                finally:
                    raw.close()
        convo.store.upgrade(empty_url)
        assert convo_tables(empty_url) == every_table
        with convo.store.Store(empty_url) as store:
            cid = store.create(convo.Conversation.new().user("after the kills"))
            assert store.load(cid).path()[0].text == "after the kills"


def ledger_conversation() -> convo.Conversation:
    answer = attrs.evolve(
        convo.assistant("Sunny in Oslo"),
        usage=convo.Usage(
            prompt_tokens=7,
            completion_tokens=3,
            cache_read_tokens=2,
            cache_write_tokens=1,
            reasoning_tokens=1,
        ),
    )
    graph = convo.Conversation.new().user("Weather?").append(answer)
    return graph.fork("alt", at=graph.path_ids()[0]).append(answer).user("Thanks")


class TestMigration0002:
    @BOTH
    def test_down_to_0001_and_up_again_rebuilds_the_ledger_and_search_text(
        self, empty_url
    ):
        convo.store.upgrade(empty_url)
        with convo.store.Store(empty_url) as store:
            cid = store.create(ledger_conversation(), title="w", metadata={"u": 1})
            before = store.info(cid)
            graph = store.load_graph(cid)
        convo.store.downgrade(empty_url, revision="0001")
        assert convo.store.current_revision(empty_url) == "0001"
        convo.store.upgrade(empty_url)
        with convo.store.Store(empty_url) as store:
            after = store.info(cid)
            assert attrs.evolve(after, updated_at=before.updated_at) == before
            assert store.load_graph(cid) == graph
            assert [i.id for i in store.search("oslo").items] == [cid]
            assert store.search("role").items == ()

    def test_sqlite_takes_a_backup_before_each_migration_of_a_file(self, tmp_path):
        path = tmp_path / "backed.db"
        url = f"sqlite:///{path}"
        convo.store.upgrade(url)
        assert not list(tmp_path.glob("backed.db.convo-backup-*"))  # nothing to keep
        with convo.store.Store(url) as store:
            cid = store.create(ledger_conversation())
        convo.store.downgrade(url, revision="0001")
        backup = _migrate.backup_path(str(path), "0002")
        assert backup.is_file()
        with convo.store.Store(f"sqlite:///{backup}") as old:
            assert old.load_graph(cid) == ledger_conversation()
        convo.store.upgrade(url)
        assert _migrate.backup_path(str(path), "0001").is_file()

"""Store fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL tests read `CONVO_TEST_POSTGRES_URL`. They skip only when it is
unset and `CI` is not "true"; in CI a missing URL fails them. Each test module
gets a fresh schema (`convo_test_<random>`, reached through `search_path`) that
is dropped afterwards, so parallel runs never collide; each test gets its own
random tenant, so tests sharing a database never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

import convo.store
from convo.store import Store

BACKENDS = ("sqlite", "postgresql")


def postgres_base_url() -> str:
    """The PostgreSQL URL to test against, or skip/fail as the rules say."""
    url = os.environ.get("CONVO_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "CONVO_TEST_POSTGRES_URL is not set, and CI=true requires PostgreSQL"
            )
        pytest.skip("CONVO_TEST_POSTGRES_URL is not set (and CI is not true)")
    return url


class PostgresSchema:
    """A throwaway schema on the test server, and URLs that use it."""

    def __init__(self) -> None:
        self.base = postgres_base_url()
        self.name = "convo_test_" + secrets.token_hex(6)
        engine = create_engine(self.base)
        try:
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        finally:
            engine.dispose()
        self.url = (
            make_url(self.base)
            .update_query_dict({"options": f"-csearch_path={self.name}"})
            .render_as_string(hide_password=False)
        )

    def drop(self) -> None:
        engine = create_engine(self.base)
        try:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        finally:
            engine.dispose()


def fresh_url(backend: str, directory: Path) -> tuple[str, PostgresSchema | None]:
    """An empty database of `backend`: a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        path = directory / f"convo-{secrets.token_hex(4)}.db"
        return f"sqlite:///{path}", None
    schema = PostgresSchema()
    return schema.url, schema


@pytest.fixture
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database (no convo tables) on the parametrised backend."""
    url, schema = fresh_url(request.param, tmp_path)
    try:
        yield url
    finally:
        if schema is not None:
            schema.drop()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database under test."""
    return str(request.param)


@pytest.fixture(scope="module")
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An upgraded database shared by one module's tests on one backend."""
    url, schema = fresh_url(backend, tmp_path_factory.mktemp("db"))
    try:
        convo.store.upgrade(url)
        yield url
    finally:
        if schema is not None:
            schema.drop()


@pytest.fixture
def tenant() -> str:
    """A tenant of this test alone."""
    return "t-" + secrets.token_hex(6)


@pytest.fixture
def store(db_url: str, tenant: str) -> Iterator[Store]:
    """A store on the module's database, for this test's own tenant."""
    with Store(db_url, tenant=tenant) as s:
        yield s

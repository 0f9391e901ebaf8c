"""Store fixtures: every store test runs on SQLite and on PostgreSQL.

Databases come from the root conftest's `fresh_database` (a new SQLite file or
a fresh PostgreSQL schema, with its skip/fail rules); each test gets its own
random tenant, so tests sharing a database never see each other's rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

import convo.store
from convo.store import Store
from convo.store._schema import TURNS

FreshDatabase = Callable[[str, Path], str]


@pytest.fixture
def empty_url(
    request: pytest.FixtureRequest, tmp_path: Path, fresh_database: FreshDatabase
) -> str:
    """A brand-new, empty database (no convo tables) on the parametrised backend."""
    return fresh_database(str(request.param), tmp_path)


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def backend(request: pytest.FixtureRequest) -> str:
    """The database under test."""
    return str(request.param)


@pytest.fixture(scope="module")
def db_url(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    fresh_database: FreshDatabase,
) -> str:
    """An upgraded database shared by one module's tests on one backend."""
    url = fresh_database(backend, tmp_path_factory.mktemp("db"))
    convo.store.upgrade(url)
    return url


@pytest.fixture
def tenant() -> str:
    """A tenant of this test alone."""
    return "t-" + secrets.token_hex(6)


@pytest.fixture
def store(db_url: str, tenant: str) -> Iterator[Store]:
    """A store on the module's database, for this test's own tenant."""
    with Store(db_url, tenant=tenant) as s:
        yield s


Tamper = Callable[..., None]


@pytest.fixture
def tamper() -> Tamper:
    """`tamper(store, cid, turn_id, **columns)`: overwrite one stored turn row.

    What a damaged disk or a hostile writer with database access would do.
    """

    def run(store: Store, cid: str, turn_id: str, **values: object) -> None:
        with store.engine.begin() as conn:
            conn.execute(
                update(TURNS)
                .where(TURNS.c.conversation_id == cid, TURNS.c.id == turn_id)
                .values(**values)
            )

    return run

"""Shared test configuration: Hypothesis profiles and throwaway databases.

PostgreSQL tests read `CONVO_TEST_POSTGRES_URL`. They skip only when it is
unset and `CI` is not "true"; in CI a missing URL fails them. Each database is
a new SQLite file or a fresh PostgreSQL schema (`convo_test_<random>`, reached
through `search_path`) dropped afterwards, so parallel runs never collide.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, make_url, text

BACKENDS = ("sqlite", "postgresql")

settings.register_profile(
    "dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    print_blob=True,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


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


FreshDatabase = Callable[[str, Path], str]


@pytest.fixture(scope="session")
def fresh_database() -> Iterator[FreshDatabase]:
    """Make empty databases: `fresh_database(backend, directory) -> url`.

    PostgreSQL schemas made this way are dropped at the end of the session.
    """
    schemas: list[PostgresSchema] = []

    def make(backend: str, directory: Path) -> str:
        url, schema = fresh_url(backend, directory)
        if schema is not None:
            schemas.append(schema)
        return url

    yield make
    for schema in schemas:
        schema.drop()

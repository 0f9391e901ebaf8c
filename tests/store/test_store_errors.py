"""Driver errors never reach the caller raw; PostgreSQL serialization failures are retried."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from convo.errors import ConflictError, StoreBusyError, StoreError
from convo.store import _engine, _queries


class FakeDriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver says {sqlstate} (parameter 'secret text')")
        self.sqlstate = sqlstate


def dbapi_error(sqlstate: str) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError(
        "UPDATE convo_heads ...", {"p": "secret text"}, FakeDriverError(sqlstate)
    )


class TestTranslate:
    @pytest.mark.parametrize("state", ["40001", "40P01", "55P03", "57014"])
    def test_lock_and_serialization_failures_are_store_busy(self, state):
        assert isinstance(
            _engine.translate(dbapi_error(state), operation="x"), StoreBusyError
        )

    def test_a_unique_violation_is_a_conflict(self):
        error = sa_exc.IntegrityError("INSERT ...", {}, FakeDriverError("23505"))
        assert isinstance(_engine.translate(error, operation="x"), ConflictError)

    def test_sqlite_database_is_locked_is_store_busy(self):
        error = sa_exc.OperationalError(
            "BEGIN", {}, sqlite3.OperationalError("database is locked")
        )
        assert isinstance(_engine.translate(error, operation="x"), StoreBusyError)

    def test_anything_else_is_a_store_error_without_statement_parameters(self):
        error = _engine.translate(dbapi_error("XX000"), operation="append")
        assert type(error) is StoreError
        assert "secret text" not in str(error)
        assert "XX000" in str(error)

    def test_only_serialization_failures_are_retryable(self):
        assert _engine.retryable(dbapi_error("40001"))
        assert _engine.retryable(dbapi_error("40P01"))
        assert not _engine.retryable(dbapi_error("23505"))
        assert not _engine.retryable(ValueError())


class TestRetries:
    def test_serialization_failures_are_retried_a_bounded_number_of_times(
        self, store, monkeypatch
    ):
        calls = []
        real = _queries.load

        def flaky(conn, **kwargs):
            calls.append(1)
            if len(calls) < 3:
                raise dbapi_error("40001")
            return real(conn, **kwargs)

        cid = store.create()
        monkeypatch.setattr(_queries, "load", flaky)
        assert store.load(cid).path() == ()
        assert len(calls) == 3

    def test_a_failure_that_persists_ends_as_store_busy(self, store, monkeypatch):
        calls = []

        def always(conn, **kwargs):
            calls.append(1)
            raise dbapi_error("40P01")

        monkeypatch.setattr(_queries, "load", always)
        with pytest.raises(StoreBusyError) as info:
            store.load("cv_" + "0" * 32)
        assert len(calls) == _engine.MAX_ATTEMPTS
        assert isinstance(info.value.__cause__, sa_exc.DBAPIError)

    def test_the_store_is_usable_after_a_driver_error(self, store, monkeypatch):
        def broken(conn, **kwargs):
            raise dbapi_error("XX000")

        cid = store.create()
        with monkeypatch.context() as patch:
            patch.setattr(_queries, "load", broken)
            with pytest.raises(StoreError):
                store.load(cid)
        assert store.load(cid).path() == ()

"""SQLite connection discipline, applied to every pooled connection.

Every connection gets, on connect:
- `busy_timeout` (default 5000 ms), so a locked database is waited for, not failed at once;
- `journal_mode=WAL`, so readers never block the writer (local disks only);
- `foreign_keys=ON`, so a turn can never point at a missing parent;
- `convo_lower`, Python's `str.lower` as a SQL function, so search ignores
  case beyond ASCII as PostgreSQL's ILIKE does (SQLite's own folds ASCII only);
- `synchronous=NORMAL` by default. In WAL mode NORMAL keeps the database
  consistent through application crashes and loses no committed transaction
  unless the OS crashes or power fails; pass `synchronous="FULL"` to sync the
  WAL on every commit when "acknowledged" must also mean "durable on power loss".

The pysqlite and aiosqlite drivers defer `BEGIN` and commit around DDL on their
own; SQLAlchemy's documented recipe turns that off (`isolation_level = None`)
and emits `BEGIN` from the `begin` event. Convo writes begin `BEGIN IMMEDIATE`
(the write lock is taken up front, so the busy timeout applies instead of an
immediate SQLITE_BUSY on a read-then-write), migrations `BEGIN EXCLUSIVE`, and
reads a plain deferred `BEGIN` so they run beside a writer.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Literal

from sqlalchemy import Connection, Engine, event

from convo.errors import UsageError

__all__ = ["BEGIN_OPTION", "Synchronous", "configure_sqlite", "is_sqlite"]

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
BEGIN_OPTION = "convo_sqlite_begin"
"""Execution option naming the BEGIN mode: "DEFERRED", "IMMEDIATE" or "EXCLUSIVE"."""

_MODES = {"DEFERRED", "IMMEDIATE", "EXCLUSIVE"}
_CONFIGURED = "convo_sqlite_configured"


def _enter_wal(cursor: Any, timeout_ms: int) -> None:
    """Switch to WAL, waiting out other connections doing the same.

    The first switch of a new database needs it to itself, and SQLite can
    answer SQLITE_BUSY at once, without the busy handler (when waiting could
    deadlock), while other processes open the same new file. So this retries
    for as long as the busy timeout allows; once the file is in WAL mode (it
    stays so), the pragma succeeds at once.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def is_sqlite(engine: Engine) -> bool:
    """Whether `engine` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def configure_sqlite(
    engine: Engine, *, busy_timeout_ms: int = 5000, synchronous: Synchronous = "NORMAL"
) -> None:
    """Install the connect and begin listeners on `engine` (once per engine)."""
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise UsageError(
            "SQLite's synchronous setting must be one of its four levels",
            where="synchronous",
            received=synchronous,
            fix="Pass OFF, NORMAL, FULL or EXTRA (NORMAL by default).",
        )
    if engine.dialect.name != "sqlite" or getattr(engine, _CONFIGURED, False):
        return
    timeout = int(busy_timeout_ms)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of the driver's hands (SQLAlchemy's pysqlite recipe).
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function("convo_lower", 1, _lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {timeout}")
            _enter_wal(cursor, timeout)
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        if mode not in _MODES:
            mode = "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    setattr(engine, _CONFIGURED, True)

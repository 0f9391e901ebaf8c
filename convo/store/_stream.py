"""Rows of a PostgreSQL load, handed over while the server is still sending them.

A cold load of a long conversation on PostgreSQL waits for every row before
decoding the first: the server reads (and decompresses) each payload and
sends it, then the client decodes them all. psycopg's `Cursor.stream`
(libpq's chunked rows mode) hands over the rows a chunk at a time as they
arrive, so the client decodes one chunk while the server produces the next.
On 5,000 realistic turns the fetch is all but hidden behind the decoding
(fetch + decode measured 55 ms before, 38 ms after).

Taken only on a synchronous psycopg connection (not `AsyncStore`'s) whose
libpq hands over rows in chunks (version 17 or later; before, one result per
row, whose cost was not measured to pay), without statement listeners
(`before_cursor_execute`, `after_cursor_execute`: logging, tracing, metrics),
so instrumentation still sees every statement, as `convo.store._sqlite_append`
does, and without a `schema_translate_map` (SQLAlchemy applies it at
execution); anywhere else `stream` answers None and the caller runs the
statement through SQLAlchemy. A driver error is raised as SQLAlchemy's
`DBAPIError`, which the store translates like any other.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Generator
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc
from sqlalchemy.sql import Select

__all__ = ["CHUNK_ROWS", "Rows", "stream"]

Rows = Generator[tuple[Any, ...], None, None]

CHUNK_ROWS = 100
"""Rows per chunk: small enough to start decoding early, large enough to cost little per chunk."""


def stream(
    conn: Connection, statement: Select[Any], params: dict[str, Any]
) -> Rows | None:
    """The rows of `statement` as the server sends them, or None where that does not apply.

    `statement` is a select built once (the caller keeps it), with named bind
    parameters taking `params`; it is compiled once per dialect (a compile
    costs about as much as loading a short conversation again). The rows are
    plain tuples of the selected columns; on a UTF-8 connection (psycopg's
    default for a UTF-8 database) `text` columns (the payloads) arrive as the
    bytes of their text, what the turn ids are hashed over, with no decode
    into a str and no encode back; in any other client encoding, as str. The
    caller consumes them inside the connection's transaction and closes the
    generator when done
    (`contextlib.closing`): closing it early cancels the rest of the query
    (psycopg's own clean-up).
    """
    dialect = conn.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        return None
    events = conn.dispatch  # the engine's listeners and the connection's own
    if events.before_cursor_execute or events.after_cursor_execute:
        return None  # instrumented: the statement goes through SQLAlchemy
    if conn.get_execution_options().get("schema_translate_map"):
        return None  # SQLAlchemy renders the schema names at execution
    import psycopg  # the dialect imported it already

    if not psycopg.capabilities.has_stream_chunked():
        return None  # libpq before 17: one result per row
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        return None  # psycopg's async connection (AsyncStore): no blocking stream
    compiled = (statement, dialect.name, dialect.driver, dialect.paramstyle)
    sql = _SQL.get(compiled)
    if sql is None:
        sql = _SQL[compiled] = str(statement.compile(dialect=dialect))
    return _rows(driver, sql, params, psycopg.Error)


_SQL: dict[tuple[Select[Any], str, str, str], str] = {}
"""Compiled SQL by statement and dialect (a handful: the statements are built once)."""


@functools.cache
def _text_loader() -> type[Any]:
    """A psycopg loader of `text` values as their UTF-8 bytes (built once, psycopg imported)."""
    from psycopg.adapt import Loader

    class TextAsBytes(Loader):
        def load(self, data: Any) -> bytes:
            return bytes(data)

    return TextAsBytes


def _rows(
    driver: Any, sql: str, params: dict[str, Any], error: type[Exception]
) -> Rows:
    try:
        with driver.cursor() as cursor:
            if driver.info.encoding == "utf-8":  # (another client encoding: str)
                # This cursor's own adapters: the connection's are unchanged.
                cursor.adapters.register_loader("text", _text_loader())
            with contextlib.closing(
                cursor.stream(sql, params, size=CHUNK_ROWS)
            ) as rows:
                yield from rows
    except error as exc:
        raise sa_exc.DBAPIError.instance(
            sql, params, exc, error, hide_parameters=True
        ) from exc

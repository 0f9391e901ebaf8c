"""The common append on SQLite: three statements in one transaction, on the driver connection.

A chatbot backend appends two turns per exchange, and on SQLite SQLAlchemy's
per-connection and per-statement machinery costs several times the statements
themselves. So the sync `Store` first tries the common case here, straight on
the pooled `sqlite3` connection:

    BEGIN IMMEDIATE                         -- the database write lock, up front
    INSERT INTO convo_turns ... SELECT ... FROM convo_conversations
        WHERE id = :cid AND tenant = :tenant AND deleted_at IS NULL
        ON CONFLICT DO NOTHING              -- depth and path ledger from the parent row
    UPDATE convo_heads ... WHERE turn_id IS :expected   -- compare-and-set (branch
                                            -- None: the active one)
    UPDATE convo_conversations ...          -- turn count, updated time, usage ledger
    COMMIT

It commits only when every step did exactly what the common case needs: one
turn row inserted (so the conversation is this tenant's, live, and the turn is
new) and one head row moved (so the head was still the expected one). On
anything else it rolls back and answers None, and the caller runs the
authoritative `_statements.append`, which decides what happened (a conflict,
an idempotent retry, a missing conversation or branch, a corrupt head) and
raises exactly as it always does. This path can therefore commit nothing the
authoritative one would refuse, and every error a user sees comes from there.

Taken only for a user turn, an assistant turn or a root system turn without
images; a tool turn needs the calls it answers read back, and images go to
their own table, so both take the authoritative path. An engine with
statement listeners (`before_cursor_execute`, `after_cursor_execute`: logging,
tracing, metrics) takes it too, so instrumentation sees every statement.

`AsyncStore` on a SQLite file runs the same path in a worker thread, on a
`sqlite3` engine of its own for the same file: one thread hop per append
instead of one per statement through aiosqlite.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import URL, DateTime, Engine
from sqlalchemy import exc as sa_exc

from convo._converter import turn_bytes
from convo._graph import check_turn
from convo._ids import TurnId, compute_turn_id
from convo._turns import Turn
from convo.errors import InvalidConversationError
from convo.store._engine import translate
from convo.store._ledger import search_text, turn_usage
from convo.store._mapper import has_images
from convo.store._statements import now

__all__ = ["SqliteAppender"]

_INSERT = """
INSERT INTO convo_turns
    (conversation_id, id, parent_id, role, depth, seq, payload, created_at,
     search_text, path_input_tokens, path_cache_read_tokens,
     path_cache_write_tokens, path_output_tokens, path_reasoning_tokens)
SELECT c.id, :id, :parent, :role,
    CASE WHEN :parent IS NULL THEN 0 ELSE p.depth + 1 END,
    c.turn_count, :payload, :stamp, :search,
    coalesce(p.path_input_tokens, 0) + :u0,
    coalesce(p.path_cache_read_tokens, 0) + :u1,
    coalesce(p.path_cache_write_tokens, 0) + :u2,
    coalesce(p.path_output_tokens, 0) + :u3,
    coalesce(p.path_reasoning_tokens, 0) + :u4
FROM convo_conversations AS c
LEFT JOIN convo_turns AS p ON p.conversation_id = c.id AND p.id = :parent
WHERE c.id = :cid AND c.tenant = :tenant AND c.deleted_at IS NULL
ON CONFLICT DO NOTHING
"""
_MOVE_HEAD = """
UPDATE convo_heads SET turn_id = :id, version = version + 1
WHERE conversation_id = :cid AND turn_id IS :parent AND branch = coalesce(
    :branch, (SELECT active_branch FROM convo_conversations WHERE id = :cid)
)
"""
_BUMP = """
UPDATE convo_conversations SET turn_count = turn_count + 1, updated_at = :stamp,
    input_tokens = input_tokens + :u0,
    cache_read_tokens = cache_read_tokens + :u1,
    cache_write_tokens = cache_write_tokens + :u2,
    output_tokens = output_tokens + :u3,
    reasoning_tokens = reasoning_tokens + :u4
WHERE id = :cid
"""


class SqliteAppender:
    """Runs the common append on a SQLite engine's pooled driver connections.

    Args:
        engine: a `sqlite3` (pysqlite) engine configured by convo.
        watched: the engine the caller's listeners are on, when that is
            another one (an `AsyncStore`'s); default `engine`.
    """

    __slots__ = ("_engine", "_stamp", "_watched")

    def __init__(self, engine: Engine, *, watched: Engine | None = None) -> None:
        self._engine = engine
        self._watched = engine if watched is None else watched
        bind = DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
        # Times are written exactly as SQLAlchemy writes them everywhere else.
        self._stamp: Callable[[dt.datetime], Any] = bind or (lambda value: value)

    @staticmethod
    def applies(engine: Engine) -> bool:
        """Whether `engine` is SQLite on the standard `sqlite3` driver."""
        return engine.dialect.name == "sqlite" and engine.dialect.driver == "pysqlite"

    @staticmethod
    def file_url(url: URL) -> URL | None:
        """The `sqlite3` URL of the same database file as `url`, if it names one.

        None for anything else: another database, or an in-memory SQLite
        database (a second engine would open a second, empty one).
        """
        database = url.database or ""
        if (
            url.get_backend_name() != "sqlite"
            or database in ("", ":memory:")
            or database.startswith("file:")
            or url.query.get("uri")
        ):
            return None
        return url.set(drivername="sqlite+pysqlite")

    def dispose(self) -> None:
        """Close the pooled connections of the engine this appender owns."""
        self._engine.dispose()

    def append(
        self,
        *,
        tenant: str,
        cid: object,
        turn: object,
        branch: object,
        expected_head: object,
    ) -> TurnId | None:
        """The new turn's id if the common case applied and committed, else None.

        None means nothing was written: run the authoritative append.

        Raises:
            StoreBusyError: the write lock stayed taken for the busy timeout.
            StoreError: the database failed.
        """
        events = self._watched.dispatch
        if events.before_cursor_execute or events.after_cursor_execute:
            return None  # instrumented: let the listeners see every statement
        if not (
            isinstance(turn, Turn)
            and isinstance(cid, str)
            and (branch is None or isinstance(branch, str))
            and (expected_head is None or isinstance(expected_head, str))
            and turn.role != "tool"
            and (turn.role != "system" or expected_head is None)
            and not has_images(turn)
        ):
            return None
        try:
            check_turn(turn, where="$.turn", after=None)
        except InvalidConversationError:
            return None  # refused: the authoritative path says why, in its order
        parent = None if expected_head is None else TurnId(expected_head)
        new_id = compute_turn_id(parent, turn)
        stamp = self._stamp(now())
        row = {
            "id": new_id,
            "parent": expected_head,
            "role": turn.role,
            "payload": turn_bytes(turn).decode("utf-8"),
            "stamp": stamp,
            "cid": cid,
            "tenant": tenant,
            "branch": branch,
            "search": search_text(turn),
            **{f"u{i}": count for i, count in enumerate(turn_usage(turn))},
        }
        connection = self._engine.raw_connection()
        try:
            raw = connection.driver_connection
            if (
                not isinstance(raw, sqlite3.Connection)
                or raw.isolation_level is not None
            ):
                return None  # a connection convo did not configure: take the long way
            return new_id if _run(raw, row) else None
        except sqlite3.Error as exc:
            error = sa_exc.DBAPIError.instance(None, None, exc, sqlite3.Error)
            raise translate(error, operation="append") from exc
        finally:
            connection.close()


def _run(raw: sqlite3.Connection, row: dict[str, Any]) -> bool:
    """The transaction; True if it committed, False if it rolled back untouched."""
    raw.execute("BEGIN IMMEDIATE")
    committed = False
    try:
        if raw.execute(_INSERT, row).rowcount != 1:
            return False
        if raw.execute(_MOVE_HEAD, row).rowcount != 1:
            return False
        raw.execute(_BUMP, row)
        raw.execute("COMMIT")
        committed = True
    except sqlite3.IntegrityError:
        return False  # e.g. the parent row is missing: the authoritative path says why
    finally:
        if not committed and raw.in_transaction:
            raw.execute("ROLLBACK")
    return True

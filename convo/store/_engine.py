"""Engines, and driver errors turned into convo's store errors in one place.

`make_engine` / `make_async_engine` build engines with parameters hidden from
logs and exceptions (`hide_parameters=True`: message text never leaks into a
log line) and, for SQLite, the connection discipline of `_sqlite`. Server
engines (PostgreSQL) ping a pooled connection before handing it out, so a
connection the server dropped while idle (a restart, `pg_terminate_backend`,
an idle timeout) is replaced instead of failing the next operation.

`parse_url` refuses a URL that does not parse, or whose scheme names no
installed dialect or driver, with `DatabaseURLError` (the password hidden).

`translate` is the only place a SQLAlchemy or driver exception becomes a convo
error: a lock that outlived the busy timeout becomes `StoreBusyError`, a unique
violation `ConflictError`, a missing convo table `SchemaOutOfDateError`, a
failed connection a `StoreError` showing the driver's reason (connection
refused, no such directory), anything else `StoreError`, always `from` the
cause and never with statement parameters or the database URL in the message.
`retryable` names the PostgreSQL serialization failures (40001, 40P01) that
the store retries a bounded number of times.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, create_engine, make_url
from sqlalchemy import exc as sa_exc

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

from convo.errors import (
    ConflictError,
    DatabaseURLError,
    SchemaOutOfDateError,
    StoreBusyError,
    StoreError,
    excerpt,
)
from convo.store._schema import HEAD
from convo.store._sqlite import Synchronous, configure_sqlite

__all__ = [
    "DEFAULT_URL",
    "MAX_ATTEMPTS",
    "default_url",
    "make_async_engine",
    "make_engine",
    "parse_url",
    "retryable",
    "translate",
]

DEFAULT_URL = "sqlite:///convo.db"
MAX_ATTEMPTS = 5
"""Attempts of one operation that PostgreSQL failed with 40001 or 40P01."""

_RETRY_STATES = {"40001", "40P01"}
_BUSY_STATES = {"55P03", "57014"}  # lock_not_available, query_canceled (timeouts)
_SQLITE_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED


def default_url() -> str:
    """`CONVO_DATABASE_URL` from the environment, else a `convo.db` file here."""
    return os.environ.get("CONVO_DATABASE_URL") or DEFAULT_URL


_URL_FIX = (
    "Use e.g. sqlite:///path/to/convo.db or "
    "postgresql+psycopg://user:password@host:5432/dbname."
)


def _scheme_of(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    return scheme if scheme.replace("+", "").replace("_", "").isalnum() else ""


def parse_url(url: object) -> URL:
    """`url` as a SQLAlchemy `URL` whose dialect and driver are installed.

    Raises:
        DatabaseURLError: not a string or URL, unparsable, or an unknown scheme.
    """
    if isinstance(url, URL):
        parsed = url
    elif isinstance(url, str):
        try:
            parsed = make_url(url)
        except (sa_exc.ArgumentError, ValueError, TypeError):
            scheme = _scheme_of(url)
            raise DatabaseURLError(
                "Database URL does not parse",
                url=f"{scheme}://…" if scheme else "<unparsable URL>",
                received=f"<{scheme}://…>" if scheme else "<unparsable URL>",
                fix=_URL_FIX,
            ) from None
    else:
        raise DatabaseURLError(
            "Database URL must be a string",
            url=f"<{type(url).__name__}>",
            received=f"<{type(url).__name__}>",
            fix=_URL_FIX,
        )
    shown = parsed.render_as_string(hide_password=True)
    try:
        parsed.get_dialect()
    except (sa_exc.NoSuchModuleError, ImportError) as exc:
        raise DatabaseURLError(
            "Database URL names a database or driver convo cannot load",
            url=shown,
            received=excerpt(parsed.drivername),
            fix=f"convo stores in SQLite and PostgreSQL. {_URL_FIX}"
            + (
                f" ({type(exc).__name__}: {exc.name})"
                if isinstance(exc, ImportError)
                else ""
            ),
        ) from None
    return parsed


def _refused(parsed: URL, exc: Exception) -> DatabaseURLError:
    """The error for a URL that parses but that its dialect refuses."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    password = parsed.password
    if password:
        reason = reason.replace(str(password), "***")
    return DatabaseURLError(
        "Database URL is refused by its dialect",
        url=parsed.render_as_string(hide_password=True),
        received=f"<{excerpt(reason, limit=160)}>",
        fix=_URL_FIX,
    )


def make_engine(
    url: str | URL,
    *,
    busy_timeout_ms: int = 5000,
    synchronous: Synchronous = "NORMAL",
) -> Engine:
    """A sync engine for `url`, configured for convo.

    Raises:
        DatabaseURLError: the URL does not parse or names an unknown database.
    """
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
    else:
        kwargs["pool_pre_ping"] = True  # a server-side disconnect is not an error
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # convo's driver
        kwargs.update(_postgres_options(parsed))
    try:
        engine = create_engine(parsed, **kwargs)
    except (sa_exc.ArgumentError, TypeError, ValueError) as exc:
        raise _refused(parsed, exc) from None
    configure_sqlite(engine, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous)
    return engine


def _postgres_options(url: URL) -> dict[str, Any]:
    """Engine options for convo's PostgreSQL driver.

    convo stores no hstore column: psycopg's dialect need not look the type
    up on the first connection (a catalog round trip every new engine pays).
    """
    if url.drivername == "postgresql+psycopg":
        return {"use_native_hstore": False}
    return {}


def make_async_engine(
    url: str, *, busy_timeout_ms: int = 5000, synchronous: Synchronous = "NORMAL"
) -> AsyncEngine:
    """An async engine for `url` (sqlite -> aiosqlite, postgresql -> psycopg async).

    Raises:
        DatabaseURLError: the URL does not parse or names an unknown database.
    """
    from sqlalchemy.ext.asyncio import create_async_engine  # needs greenlet

    parsed = parse_url(url)
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
    else:
        kwargs["pool_pre_ping"] = True
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.update(_postgres_options(parsed))
    try:
        engine = create_async_engine(parsed, **kwargs)
    except (sa_exc.ArgumentError, TypeError, ValueError) as exc:
        raise _refused(parsed, exc) from None
    configure_sqlite(
        engine.sync_engine, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous
    )
    return engine


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def retryable(exc: BaseException) -> bool:
    """Whether `exc` is a PostgreSQL serialization failure or deadlock."""
    return isinstance(exc, sa_exc.DBAPIError) and _sqlstate(exc) in _RETRY_STATES


def _sqlite_busy(exc: sa_exc.DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _SQLITE_BUSY:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text


def translate(exc: BaseException, *, operation: str) -> StoreError:
    """The convo error for a SQLAlchemy or driver exception (callers raise it `from exc`)."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):
        return StoreBusyError(
            f"No database connection became free for {operation}",
            fix="Raise the engine's pool_size or pool_timeout, or retry later.",
        )
    if isinstance(exc, sa_exc.DBAPIError):
        state = _sqlstate(exc)
        driver = type(exc.orig).__name__
        if _sqlite_busy(exc) or state in _BUSY_STATES or state in _RETRY_STATES:
            return StoreBusyError(
                f"The database stayed locked during {operation}",
                received=f"<{driver} {state or 'SQLITE_BUSY'}>",
                fix="Retry later; the store remains usable. A long-running "
                "writer elsewhere holds the lock.",
            )
        if state == "23505" or isinstance(exc, sa_exc.IntegrityError):
            return ConflictError(
                f"A concurrent writer got there first during {operation}; "
                "nothing was written",
                expected=None,
                actual=None,
                received=f"<{driver} {state or 'constraint'}>",
                fix="Load the conversation again and retry only what it does "
                "not contain yet.",
            )
        missing = _missing_table(exc, state)
        if missing is not None:
            return missing
        if isinstance(exc, sa_exc.OperationalError) and exc.statement is None:
            return StoreError(
                f"Could not connect to the database during {operation}",
                received=f"<{driver}: {_reason(exc)}>",
                fix="Check that the server is running and reachable at the "
                "URL's host and port, or for SQLite that the file's directory "
                "exists and is writable.",
            )
        return StoreError(
            f"The database failed during {operation}",
            received=f"<{driver} {state or ''}>".replace(" >", ">"),
            fix="Check that the database is reachable and upgraded "
            "(convo db upgrade --url ...).",
        )
    return StoreError(
        f"The database layer failed during {operation}",
        received=f"<{type(exc).__name__}>",
    )


def _reason(exc: sa_exc.DBAPIError) -> str:
    """The driver's own first line of reason, bounded (it never holds a password)."""
    lines = [line.strip() for line in str(exc.orig).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc.orig).__name__
    if len(lines) > 1 and "failed:" in text and len(text) < 200:
        text = f"{text} {lines[1]}"
    return text[:300]


def _missing_table(exc: sa_exc.DBAPIError, state: str | None) -> StoreError | None:
    """`SchemaOutOfDateError` when a statement met a convo table that is not there."""
    text = str(exc.orig)
    if not ((state == "42P01" or "no such table" in text) and "convo_" in text.lower()):
        return None
    return SchemaOutOfDateError(
        "The database has no convo tables (or not all of them); this convo "
        f"needs revision {HEAD}",
        current=None,
        head=HEAD,
        fix="Run `convo db upgrade --url ...` or convo.store.upgrade(url), or "
        "open it with Store(url, create=True) / AsyncStore.open(url, create=True).",
    )

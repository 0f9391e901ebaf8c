"""Programmatic Alembic: find the migrations, run them under a lock, check the revision.

The migrations ship in the wheel as `convo/_migrations` (hatch force-include);
a source checkout or editable install has none there, so the locator falls
back to the repository's `migrations/`. They keep their own version table,
`convo_alembic_version`, and only ever touch `convo_*` tables, so they live
beside the host application's own Alembic history.

Invariants: every run happens on one connection inside one transaction that
first takes a lock: `pg_advisory_xact_lock` on PostgreSQL (released at commit),
`BEGIN EXCLUSIVE` on SQLite (the convo begin recipe makes SQLite DDL
transactional). So five processes starting at once apply each migration
exactly once, and the others find the work done. Nothing here ever upgrades a
database implicitly: `Store` refuses an out-of-date schema and names the command.

Alembic is imported only to migrate or to list the scripts: opening a store
reads the revision with one plain query (`revision_of`), so `import
convo.store` and `Store(url)` never load it (issue 18: import cost).
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import URL, Connection, Engine, column, func, inspect, select, table
from sqlalchemy import exc as sa_exc

from convo.errors import SchemaOutOfDateError, StoreBusyError, StoreError
from convo.store._engine import make_engine, translate
from convo.store._schema import HEAD
from convo.store._sqlite import BEGIN_OPTION

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD",
    "VERSION_TABLE",
    "alembic_config",
    "backup_path",
    "backup_sqlite",
    "check_schema",
    "current_revision",
    "downgrade",
    "head_revision",
    "known_revisions",
    "migrate_locked",
    "newer_schema_error",
    "revision_of",
    "schema_error",
    "script_location",
    "upgrade",
]

VERSION_TABLE = "convo_alembic_version"
_LOCK_KEY = 0x636F6E766F  # "convo": one advisory lock key for every convo migration
_LOCK_WAIT_S = 120.0
PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The installed `convo` package (read here, not through `import convo`, which sits above the store)."""


def script_location() -> Path:
    """The directory holding `env.py` and `versions/`: packaged, else the repository's."""
    package = PACKAGE_DIR
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file() and (candidate / "versions").is_dir():
            return candidate
    raise StoreError(
        "convo's migrations are missing",
        where=str(package / "_migrations"),
        fix="Reinstall convo from its wheel, or run from a full source checkout.",
    )


def alembic_config(
    connection: Connection | None = None, *, url: str | None = None
) -> Config:
    """An Alembic `Config` for convo's migrations, bound to `connection` if given."""
    from alembic.config import Config

    # Alembic's default stdout is the one of the moment it was first imported,
    # which, imported lazily, may be a stream closed since: name today's.
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(script_location()).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The head revision of the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # noqa: S101 - convo ships at least one revision
    return head


@contextlib.contextmanager
def _engine(url_or_engine: str | Engine) -> Iterator[Engine]:
    if isinstance(url_or_engine, Engine):
        yield url_or_engine
        return
    engine = make_engine(url_or_engine)
    try:
        yield engine
    finally:
        engine.dispose()


_VERSION = table(VERSION_TABLE, column("version_num"))


def _revision(connection: Connection) -> str | None:
    """The revision in convo's version table, read without Alembic.

    What Alembic's `MigrationContext.get_current_revision` answers: None when
    the table is missing or empty; a table with several rows (several heads,
    which convo never writes) is left to Alembic, for its own error.
    """
    if not _has_version_table(connection):
        return None
    rows = connection.execute(select(_VERSION.c.version_num).limit(2)).all()
    if len(rows) > 1:
        from alembic.runtime.migration import (
            MigrationContext,
        )

        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        )
        return context.get_current_revision()
    return None if not rows else str(rows[0].version_num)


_SQLITE_MASTER = table("sqlite_master", column("type"), column("name"))
_PG_CLASS = table("pg_class", column("oid"), column("relname"), schema="pg_catalog")


def _has_version_table(connection: Connection) -> bool:
    """Whether convo's version table exists, by one catalog lookup.

    Every `Store` asks when it opens; SQLAlchemy's `inspect().has_table` builds
    and compiles a reflection query first (about 6 ms of a PostgreSQL open),
    where the catalogs answer the same question directly. On PostgreSQL the
    lookup is a query on `pg_class` (a fresh snapshot: a table another
    process created and committed while this one waited for the migration
    lock is seen, which `to_regclass`, answering from a cache, may miss), the
    name resolved through the `search_path` as convo's unqualified names are.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        stmt = select(_PG_CLASS.c.oid).where(
            _PG_CLASS.c.relname == VERSION_TABLE,
            func.pg_catalog.pg_table_is_visible(_PG_CLASS.c.oid),
        )
        return connection.execute(stmt).first() is not None
    if dialect == "sqlite":
        stmt = select(_SQLITE_MASTER.c.name).where(
            _SQLITE_MASTER.c.type == "table", _SQLITE_MASTER.c.name == VERSION_TABLE
        )
        return connection.execute(stmt).first() is not None
    return inspect(connection).has_table(VERSION_TABLE)


def _opening_revision(connection: Connection) -> str | None:
    """`_revision`, by one query when the version table is there (every `Store` open).

    The table is read straight away; only when it is missing is the
    transaction rolled back and the catalog asked, as `_revision` does (any
    other failure is raised as it is, so a busy SQLite file is not waited for
    twice). A migrated database, the case of every open, is answered in one
    round trip instead of two.
    """
    try:
        rows = connection.execute(select(_VERSION.c.version_num).limit(2)).all()
    except sa_exc.DBAPIError as exc:
        if not _missing_table(exc):
            raise
        connection.rollback()
        return _revision(connection)
    if len(rows) == 1:
        return str(rows[0].version_num)
    return _revision(connection)  # empty, or several heads: Alembic's answer


def _missing_table(exc: sa_exc.DBAPIError) -> bool:
    """Whether `exc` says a table does not exist (PostgreSQL 42P01, SQLite "no such table")."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "42P01":
        return True
    return isinstance(orig, sqlite3.OperationalError) and str(orig).startswith(
        "no such table"
    )


def current_revision(url_or_engine: str | Engine) -> str | None:
    """The convo revision the database is at (None: convo's tables were never created).

    Read only: a SQLite file that does not exist is reported as None, never created.

    Raises:
        DatabaseURLError: a URL that does not parse or names an unknown database.
        StoreError: the database cannot be reached (the driver's reason shown).
    """
    with _engine(url_or_engine) as engine:
        if missing_sqlite_file(engine.url):
            return None
        try:
            with engine.connect() as connection:
                return _opening_revision(connection)
        except sa_exc.SQLAlchemyError as exc:
            raise translate(exc, operation="reading the schema revision") from exc


def known_revisions() -> frozenset[str]:
    """Every revision among this convo's migration scripts."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return frozenset(script.revision for script in scripts.walk_revisions())


def newer_schema_error(current: str) -> SchemaOutOfDateError | None:
    """The error for a database a newer convo migrated (None if `current` is known)."""
    if current in known_revisions():
        return None
    return SchemaOutOfDateError(
        f"The database is at revision {current}, newer than this convo "
        f"({HEAD}); upgrade convo",
        current=current,
        head=HEAD,
        fix=f"A newer convo migrated it (this one knows revisions up to {HEAD}): "
        "install that convo here too; do not downgrade the database while "
        "the newer convo still uses it.",
    )


def schema_error(current: str | None, *, url_hint: str) -> SchemaOutOfDateError | None:
    """The error for a database at revision `current` (None if it is at `HEAD`)."""
    if current == HEAD:
        return None
    if current is not None:
        newer = newer_schema_error(current)
        if newer is not None:
            return newer
    state = "has no convo tables" if current is None else f"is at revision {current}"
    return SchemaOutOfDateError(
        f"The database {state}; this convo needs revision {HEAD}",
        current=current,
        head=HEAD,
        fix=f"Run `convo db upgrade --url {url_hint}` or "
        f"convo.store.upgrade({url_hint!r}), or open it with Store(url, create=True).",
    )


def missing_sqlite_file(url: URL) -> bool:
    """Whether `url` names a SQLite file that does not exist (connecting would create it)."""
    database = url.database
    return (
        url.get_backend_name() == "sqlite"
        and bool(database)
        and database != ":memory:"
        and not str(database).startswith("file:")
        and not Path(str(database)).exists()
    )


def check_schema(engine: Engine, *, url_hint: str) -> None:
    """Raise `SchemaOutOfDateError` unless the database is at `HEAD`.

    A SQLite file that does not exist is refused without connecting, so a
    mistyped path never leaves an empty database behind.
    """
    if missing_sqlite_file(engine.url):
        error = schema_error(None, url_hint=url_hint)
        assert error is not None  # noqa: S101 - no revision is never HEAD
        raise error
    error = schema_error(current_revision(engine), url_hint=url_hint)
    if error is not None:
        raise error


def revision_of(connection: Connection) -> str | None:
    """The convo revision, read on `connection`."""
    return _revision(connection)


def migrate_locked(connection: Connection, revision: str, *, down: bool) -> bool:
    """Run the migrations on `connection`, inside its open transaction, under the lock.

    The caller began the transaction (`BEGIN EXCLUSIVE` on SQLite); on
    PostgreSQL the advisory lock taken here ends with it.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
    before = _revision(connection)
    target = HEAD if revision == "head" else revision
    if before is not None and not down:
        newer = newer_schema_error(before)
        if newer is not None:
            raise newer
    if before is not None and before != target:
        backup_sqlite(connection, before)
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config(connection)
    try:
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)
    except CommandError as exc:
        raise StoreError(
            f"Migrating the schema {'down' if down else 'up'} to {revision} failed",
            received=f"<{before or 'no revision'}: {exc}>",
            fix="Name a revision among convo's migrations (or 'head'/'base').",
        ) from exc
    return before != _revision(connection)


def backup_path(database: str, revision: str) -> Path:
    """Where the copy of a SQLite file taken before migrating it from `revision` goes."""
    return Path(f"{database}.convo-backup-{revision}")


def backup_sqlite(connection: Connection, revision: str) -> Path | None:
    """Copy a SQLite file with the online backup API before its tables change.

    Alembic alters SQLite tables by copying them (batch mode); the copy, taken
    under the migration lock before anything changes, is the way back if anything goes wrong. It sits
    beside the database as `<file>.convo-backup-<revision>`, replaced by the
    next migration from that revision. Nothing for other databases or for an
    in-memory SQLite database.
    """
    database = connection.engine.url.database
    if (
        connection.dialect.name != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return None
    # Read on a connection of its own: the migrator holds the write lock, and
    # in WAL mode (convo's) a reader still sees the last commit, the old revision.
    path = backup_path(database, revision)
    source = sqlite3.connect(database)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return path


def lock_wait_deadline() -> float:
    """When a migrator stops waiting for another one's lock."""
    return time.monotonic() + _LOCK_WAIT_S


def _locked_run(engine: Engine, revision: str, *, down: bool) -> bool:
    deadline = lock_wait_deadline()
    while True:
        try:
            with engine.connect() as connection:
                if engine.dialect.name == "sqlite":
                    connection.execution_options(**{BEGIN_OPTION: "EXCLUSIVE"})
                with connection.begin():
                    return migrate_locked(connection, revision, down=down)
        except sa_exc.SQLAlchemyError as exc:
            error = translate(exc, operation="migrating the schema")
            if isinstance(error, StoreBusyError) and time.monotonic() < deadline:
                continue
            raise error from exc


def upgrade(url_or_engine: str | Engine, *, revision: str = "head") -> bool:
    """Bring the database's convo tables to `revision` (default: the newest).

    Safe to call from many processes at once: the work happens exactly once,
    under a lock; a database already there is left untouched.

    Returns:
        Whether this call changed the revision (False: it was there already).
    """
    with _engine(url_or_engine) as engine:
        if revision in ("head", HEAD) and current_revision(engine) == HEAD:
            return False  # the common case, without loading Alembic's scripts
        return _locked_run(engine, revision, down=False)


def downgrade(url_or_engine: str | Engine, *, revision: str) -> bool:
    """Take the database's convo tables back to `revision` ("base" drops them all).

    Returns:
        Whether this call changed the revision.
    """
    with _engine(url_or_engine) as engine:
        return _locked_run(engine, revision, down=True)

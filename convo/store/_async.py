"""`AsyncStore`: the asyncio shell around the same statements as `Store`.

Each operation runs the shared function of `_statements` through
`AsyncConnection.run_sync` inside one transaction, on aiosqlite or psycopg's
async driver: one set of statements, two shells. Retries, error translation
and the schema check are the sync store's, awaited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import attrs
from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc

if TYPE_CHECKING:
    # Imported lazily at run time: sqlalchemy.ext.asyncio needs greenlet, which
    # only the async extra installs; the sync Store must work without it.
    from sqlalchemy.ext.asyncio import AsyncEngine

from convo._graph import Conversation
from convo._ids import TurnId
from convo._turns import Turn
from convo.errors import StoreBusyError
from convo.store import _document as document
from convo.store import _manage as manage
from convo.store import _queries as queries
from convo.store import _retention as retention
from convo.store import _statements as ops
from convo.store._args import check_branch
from convo.store._cache import DEFAULT_CACHE_CHARS, TurnCache, turn_cache
from convo.store._engine import (
    MAX_ATTEMPTS,
    default_url,
    make_async_engine,
    make_engine,
    retryable,
    translate,
)
from convo.store._ledger import UsageTotals
from convo.store._manage import UNSET, Unset
from convo.store._migrate import (
    lock_wait_deadline,
    migrate_locked,
    missing_sqlite_file,
    revision_of,
    schema_error,
)
from convo.store._queries import BranchInfo, ConversationDetail, Page
from convo.store._sqlite import BEGIN_OPTION, Synchronous, configure_sqlite
from convo.store._sqlite_append import SqliteAppender
from convo.store._sync import backoff, check_append, check_tenant, url_hint

__all__ = ["AsyncStore"]

R = TypeVar("R")
P = ParamSpec("P")


@attrs.define(eq=False, init=False)
class AsyncStore:
    """The asyncio twin of `Store`: the same operations, awaited.

    Build it with `await AsyncStore.open(url, ...)`, which checks (or, with
    `create=True`, upgrades) the schema; the constructor alone does no I/O.
    On a SQLite file, the common append runs as `Store`'s does, in a worker
    thread on a `sqlite3` engine of the store's own (see `_sqlite_append`);
    `cache_chars` sizes the decoded-turn cache, as for `Store`.
    """

    _engine: AsyncEngine
    tenant: str
    _owned: bool
    _cache: TurnCache | None
    _appender: SqliteAppender | None
    _view: bool = False

    def __init__(
        self,
        url: str | AsyncEngine | None = None,
        *,
        tenant: str = "default",
        busy_timeout_ms: int = 5000,
        synchronous: Synchronous = "NORMAL",
        cache_chars: int = DEFAULT_CACHE_CHARS,
    ) -> None:
        from sqlalchemy.ext.asyncio import AsyncEngine

        tenant = check_tenant(tenant)
        cache = turn_cache(cache_chars)
        if isinstance(url, AsyncEngine):
            engine, owned = url, False
            configure_sqlite(
                engine.sync_engine,
                busy_timeout_ms=busy_timeout_ms,
                synchronous=synchronous,
            )
        else:
            engine = make_async_engine(
                url or default_url(),
                busy_timeout_ms=busy_timeout_ms,
                synchronous=synchronous,
            )
            owned = True
        file_url = SqliteAppender.file_url(engine.url)
        appender = None
        if file_url is not None:
            sync_engine = make_engine(
                file_url, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous
            )
            appender = SqliteAppender(sync_engine, watched=engine.sync_engine)
        self.__attrs_init__(
            engine=engine,
            tenant=tenant,
            owned=owned,
            cache=cache,
            appender=appender,
        )

    @classmethod
    async def open(
        cls,
        url: str | AsyncEngine | None = None,
        *,
        tenant: str = "default",
        create: bool = False,
        busy_timeout_ms: int = 5000,
        synchronous: Synchronous = "NORMAL",
        cache_chars: int = DEFAULT_CACHE_CHARS,
    ) -> AsyncStore:
        """A store whose schema is checked (or upgraded first, with `create=True`).

        Raises:
            SchemaOutOfDateError: the schema is not at convo's head revision.
        """
        store = cls(
            url,
            tenant=tenant,
            busy_timeout_ms=busy_timeout_ms,
            synchronous=synchronous,
            cache_chars=cache_chars,
        )
        try:
            await store.check_schema(create=create)
        except BaseException:
            await store.close()
            raise
        return store

    async def check_schema(self, *, create: bool = False) -> None:
        """Raise `SchemaOutOfDateError` unless the schema is current (upgrade first if `create`).

        Alembic runs on this engine's own connection through `run_sync` (so an
        in-memory database is migrated in place), under the same lock as `upgrade`.
        """
        if create:
            await self._upgrade()
        elif missing_sqlite_file(self._engine.url):
            error = schema_error(None, url_hint=url_hint(self._engine.sync_engine))
            assert error is not None  # noqa: S101 - no revision is never HEAD
            raise error
        try:
            async with self._engine.connect() as conn:
                current = await conn.run_sync(revision_of)
        except sa_exc.SQLAlchemyError as exc:
            raise translate(exc, operation="reading the schema revision") from exc
        error = schema_error(current, url_hint=url_hint(self._engine.sync_engine))
        if error is not None:
            raise error

    async def _upgrade(self) -> None:
        def run(connection: Connection) -> bool:
            return migrate_locked(connection, "head", down=False)

        deadline = lock_wait_deadline()
        while True:
            try:
                async with self._engine.connect() as conn:
                    if self._engine.dialect.name == "sqlite":
                        await conn.execution_options(**{BEGIN_OPTION: "EXCLUSIVE"})
                    async with conn.begin():
                        await conn.run_sync(run)
                return
            except sa_exc.SQLAlchemyError as exc:
                error = translate(exc, operation="migrating the schema")
                if isinstance(error, StoreBusyError) and time.monotonic() < deadline:
                    continue
                raise error from exc

    def __repr__(self) -> str:
        return f"AsyncStore({url_hint(self._engine.sync_engine)!r}, tenant={self.tenant!r})"

    @property
    def engine(self) -> AsyncEngine:
        """The engine this store runs on."""
        return self._engine

    async def close(self) -> None:
        """Release the connections (of the fast append's own engine, and of the
        store's engine if the store created it)."""
        if self._appender is not None and not self._view:
            self._appender.dispose()
        if self._owned:
            await self._engine.dispose()

    async def __aenter__(self) -> AsyncStore:
        """Check the schema, like `Store(url)` does (`SchemaOutOfDateError` if not current)."""
        try:
            await self.check_schema()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _run(
        self,
        operation: str,
        fn: Callable[Concatenate[Connection, P], R],
        write: bool,
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        def call(conn: Connection) -> R:
            return fn(conn, *args, **kwargs)

        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._engine.connect() as conn:
                    if write:
                        await conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
                    async with conn.begin():
                        return await conn.run_sync(call)
            except sa_exc.SQLAlchemyError as exc:
                if retryable(exc) and attempt < MAX_ATTEMPTS:
                    await asyncio.sleep(backoff(attempt))
                    continue
                raise translate(exc, operation=operation) from exc

    async def create(
        self,
        conversation: Conversation | None = None,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Store a new conversation and return its id (see `Store.create`)."""
        cid = ops.new_conversation_id()
        await self._run(
            "create",
            ops.create,
            True,
            tenant=self.tenant,
            cid=cid,
            conversation=conversation,
            title=title,
            metadata=metadata,
        )
        return cid

    async def save(
        self,
        conversation_id: str,
        conversation: Conversation,
        *,
        expected_heads: Mapping[str, TurnId | None] | None = None,
    ) -> None:
        """Store new turns and move heads forward (see `Store.save`)."""
        await self._run(
            "save",
            ops.save,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            conversation=conversation,
            expected_heads=expected_heads,
        )

    async def append(
        self,
        conversation_id: str,
        turn: Turn,
        *,
        branch: str | None = None,
        expected_head: TurnId | None,
    ) -> TurnId:
        """Append `turn` to `branch` (default: the active one) if the head is still
        `expected_head` (see `Store.append`).

        Idempotent by content, as `Store.append`: a turn already on the branch's
        path answers its id and writes nothing. A task cancelled while its
        append is in flight may find the append done or not (on a SQLite file it
        finishes in its worker thread); the turn is never half stored, and
        appending the same turn after the same `expected_head` again returns
        the same id, even if other writers appended on top meanwhile.
        """
        check_append(conversation_id, branch, expected_head)
        appender = self._appender
        if appender is not None:
            done = await asyncio.to_thread(
                functools.partial(
                    appender.append,
                    tenant=self.tenant,
                    cid=conversation_id,
                    turn=turn,
                    branch=branch,
                    expected_head=expected_head,
                )
            )
            if done is not None:
                return done
        return await self._run(
            "append",
            ops.append,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            turn=turn,
            branch=branch,
            expected_head=expected_head,
        )

    async def fork(
        self,
        conversation_id: str,
        name: str,
        *,
        at: TurnId | None,
        switch: bool = False,
    ) -> None:
        """Add a branch `name` at the stored turn `at` (see `Store.fork`)."""
        await self._run(
            "fork",
            ops.fork,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            name=name,
            at=at,
            switch=switch,
        )

    async def switch(self, conversation_id: str, branch: str) -> None:
        """Make `branch` the default branch of `load()`."""
        await self._run(
            "switch",
            ops.switch,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            branch=branch,
        )

    async def delete(self, conversation_id: str) -> None:
        """Delete a conversation, fencing out late writers."""
        await self._run(
            "delete",
            ops.delete_conversation,
            True,
            tenant=self.tenant,
            cid=conversation_id,
        )

    async def import_(self, data: bytes | str) -> str:
        """Store an export (or a conversation document) as a new conversation."""
        conversation, title, metadata = document.read(data)
        return await self.create(conversation, title=title, metadata=metadata)

    def for_tenant(self, tenant: str) -> AsyncStore:
        """A view scoped to `tenant` sharing engine, pool and caches (see `Store.for_tenant`)."""
        view = AsyncStore.__new__(AsyncStore)
        view.__attrs_init__(
            engine=self._engine,
            tenant=check_tenant(tenant),
            owned=False,
            cache=self._cache,
            appender=self._appender,
            view=True,
        )
        return view

    async def update(
        self,
        conversation_id: str,
        *,
        expected_version: int,
        title: str | Unset | None = UNSET,
        metadata: Mapping[str, Any] | Unset = UNSET,
    ) -> int:
        """Compare-and-set title and/or metadata (see `Store.update`)."""
        return await self._run(
            "update",
            manage.update_conversation,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            title=title,
            metadata=metadata,
            expected_version=expected_version,
        )

    async def delete_branch(self, conversation_id: str, name: str) -> None:
        """Remove a branch other than the active one (see `Store.delete_branch`)."""
        await self._run(
            "delete_branch",
            manage.delete_branch,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            name=name,
        )

    async def rename_branch(
        self, conversation_id: str, name: str, new_name: str
    ) -> None:
        """Rename a branch (see `Store.rename_branch`)."""
        await self._run(
            "rename_branch",
            manage.rename_branch,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            name=name,
            new_name=new_name,
        )

    async def erase(self, conversation_id: str) -> None:
        """Remove every row of the conversation (see `Store.erase`)."""
        await self._run(
            "erase", retention.erase, True, tenant=self.tenant, cid=conversation_id
        )

    async def info(self, conversation_id: str) -> ConversationDetail:
        """Everything but the turns, in one query (see `Store.info`)."""
        return await self._run(
            "info", queries.info, False, tenant=self.tenant, cid=conversation_id
        )

    async def usage(
        self, *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> UsageTotals:
        """The tenant's token sums over turns stored in `[since, until)`."""
        return await self._run(
            "usage",
            queries.tenant_usage,
            False,
            tenant=self.tenant,
            since=since,
            until=until,
        )

    async def load(
        self, conversation_id: str, *, branch: str | None = None
    ) -> Conversation:
        """The path of `branch` (see `Store.load`)."""
        if branch is not None:
            check_branch(branch)
        return await self._run(
            "load",
            queries.load,
            False,
            tenant=self.tenant,
            cid=conversation_id,
            branch=branch,
            cache=self._cache,
        )

    async def load_graph(self, conversation_id: str) -> Conversation:
        """Every stored turn and branch of the conversation."""
        return await self._run(
            "load_graph",
            queries.load_graph,
            False,
            tenant=self.tenant,
            cid=conversation_id,
            cache=self._cache,
        )

    async def branches(
        self,
        conversation_id: str,
        *,
        limit: int | None = None,
        after: str | None = None,
    ) -> tuple[BranchInfo, ...]:
        """The conversation's branches sorted by name (see `Store.branches`)."""
        return await self._run(
            "branches",
            queries.branches,
            False,
            tenant=self.tenant,
            cid=conversation_id,
            limit=limit,
            after=after,
        )

    async def list(self, *, limit: int = 50, cursor: str | None = None) -> Page:
        """A page of this tenant's conversations, newest first."""
        return await self._run(
            "list",
            queries.list_conversations,
            False,
            tenant=self.tenant,
            limit=limit,
            cursor=cursor,
            text=None,
        )

    async def search(
        self, text: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """Conversations whose title or turns contain `text`, newest first."""
        return await self._run(
            "search",
            queries.list_conversations,
            False,
            tenant=self.tenant,
            limit=limit,
            cursor=cursor,
            text=text,
        )

    async def export(self, conversation_id: str) -> bytes:
        """The conversation with title and metadata, as `Store.export` writes it."""
        detail = await self.info(conversation_id)
        return document.write(
            await self.load_graph(conversation_id),
            title=detail.title,
            metadata=detail.metadata,
        )

"""`Store`: the synchronous shell around the shared statements.

It owns an engine, checks the schema revision when opened, and runs each
operation of `_statements` in one transaction (write transactions take the
SQLite write lock up front). PostgreSQL serialization failures are retried a
bounded number of times; every other database failure leaves as a convo
`StoreError` subclass, and the store stays usable after any of them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

import attrs
from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from convo._graph import Conversation
from convo._ids import TurnId
from convo._json import check_text
from convo._turns import Turn
from convo.store import _document as document
from convo.store import _manage as manage
from convo.store import _queries as queries
from convo.store import _retention as retention
from convo.store import _statements as ops
from convo.store._args import check_branch, check_expected_head, check_key, usage
from convo.store._cache import DEFAULT_CACHE_CHARS, TurnCache, turn_cache
from convo.store._engine import (
    MAX_ATTEMPTS,
    default_url,
    make_engine,
    retryable,
    translate,
)
from convo.store._ledger import UsageTotals
from convo.store._manage import UNSET, Unset
from convo.store._migrate import check_schema, upgrade
from convo.store._queries import BranchInfo, ConversationDetail, Page
from convo.store._retention import PruneReport
from convo.store._sqlite import BEGIN_OPTION, Synchronous, configure_sqlite
from convo.store._sqlite_append import SqliteAppender

__all__ = ["Store", "check_append", "check_tenant", "url_hint"]

R = TypeVar("R")
P = ParamSpec("P")


def check_tenant(tenant: object) -> str:
    """Return `tenant` if it is a usable tenant name, else raise InvalidContentError."""
    return check_key(tenant, what="tenant", where="tenant")


def check_append(cid: object, branch: object, expected_head: object) -> None:
    """Refuse append arguments no database could store, before any driver sees them."""
    if not isinstance(cid, str):
        return  # not found, by the statements' own check
    check_text(cid, path="conversation_id")
    if branch is not None:
        check_branch(branch)
    check_expected_head(expected_head)


def url_hint(engine: Engine) -> str:
    """The engine's URL with any password hidden, for messages."""
    return engine.url.render_as_string(hide_password=True)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1-based) of a serialization failure."""
    return float(min(0.01 * 2**attempt, 0.2))


@attrs.define(eq=False, init=False)
class Store:
    """Conversations in SQLite or PostgreSQL, scoped to one tenant.

    Args:
        url: a database URL (default: `CONVO_DATABASE_URL`, else `sqlite:///convo.db`)
            or an `Engine` (SQLite engines get convo's connection listeners).
            `sqlite://` is an in-memory database of the calling thread (tests, demos).
        tenant: every operation sees only this tenant's conversations.
        create: upgrade the schema first (safe from many processes at once);
            without it an out-of-date schema raises `SchemaOutOfDateError`.
        busy_timeout_ms: how long SQLite waits for a lock before `StoreBusyError`.
        synchronous: SQLite's `synchronous` pragma; NORMAL survives application
            crashes, FULL also power loss (see `convo.store._sqlite`).
        cache_chars: payload characters of decoded turns kept, so loading a
            conversation again decodes only its new turns (0 turns it off; see
            `convo.store._cache`). The turns themselves, with the encodings
            they memoize, take a few times this much memory.
    """

    _engine: Engine
    tenant: str
    _owned: bool
    _cache: TurnCache | None
    _appender: SqliteAppender | None

    def __init__(
        self,
        url: str | Engine | None = None,
        *,
        tenant: str = "default",
        create: bool = False,
        busy_timeout_ms: int = 5000,
        synchronous: Synchronous = "NORMAL",
        cache_chars: int = DEFAULT_CACHE_CHARS,
    ) -> None:
        tenant = check_tenant(tenant)
        cache = turn_cache(cache_chars)
        if isinstance(url, Engine):
            engine, owned = url, False
            configure_sqlite(
                engine, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous
            )
        else:
            engine = make_engine(
                url or default_url(),
                busy_timeout_ms=busy_timeout_ms,
                synchronous=synchronous,
            )
            owned = True
        try:
            if create:
                upgrade(engine)
            check_schema(engine, url_hint=url_hint(engine))
        except BaseException:
            if owned:
                engine.dispose()
            raise
        self.__attrs_init__(
            engine=engine,
            tenant=tenant,
            owned=owned,
            cache=cache,
            appender=SqliteAppender(engine) if SqliteAppender.applies(engine) else None,
        )

    def for_tenant(self, tenant: str) -> Store:
        """A view of this store scoped to `tenant`: same engine, pool and caches.

        Cheap (no I/O, no new connections): build one per request. Every
        operation of the view sees only `tenant`'s conversations, exactly as a
        `Store(url, tenant=tenant)` would. Closing a view releases nothing; close
        the store it came from.
        """
        view = Store.__new__(Store)
        view.__attrs_init__(
            engine=self._engine,
            tenant=check_tenant(tenant),
            owned=False,
            cache=self._cache,
            appender=self._appender,
        )
        return view

    def __repr__(self) -> str:
        return f"Store({url_hint(self._engine)!r}, tenant={self.tenant!r})"

    @property
    def engine(self) -> Engine:
        """The engine this store runs on."""
        return self._engine

    def close(self) -> None:
        """Release the connections (only of an engine the store created)."""
        if self._owned:
            self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- running

    def _run(
        self,
        operation: str,
        fn: Callable[Concatenate[Connection, P], R],
        write: bool,
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._engine.connect() as conn:
                    if write:
                        conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
                    with conn.begin():
                        return fn(conn, *args, **kwargs)
            except sa_exc.SQLAlchemyError as exc:
                if retryable(exc) and attempt < MAX_ATTEMPTS:
                    time.sleep(backoff(attempt))
                    continue
                raise translate(exc, operation=operation) from exc

    # ----------------------------------------------------------------- writing

    def create(
        self,
        conversation: Conversation | None = None,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Store a new conversation (default: an empty one) and return its id."""
        cid = ops.new_conversation_id()
        self._run(
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

    def save(
        self,
        conversation_id: str,
        conversation: Conversation,
        *,
        expected_heads: Mapping[str, TurnId | None] | None = None,
    ) -> None:
        """Store the turns not stored yet and move every branch head forward.

        Idempotent. A stored head may only move to a turn whose path runs
        through it (and must equal `expected_heads[name]` when given).

        Raises:
            ConflictError: a head moved since it was loaded; nothing was written.
            NotFoundError: no such conversation for this tenant (or it was deleted).
        """
        self._run(
            "save",
            ops.save,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            conversation=conversation,
            expected_heads=expected_heads,
        )

    def append(
        self,
        conversation_id: str,
        turn: Turn,
        *,
        branch: str | None = None,
        expected_head: TurnId | None,
    ) -> TurnId:
        """Append `turn` to `branch` (default: the active branch) if its head is still
        `expected_head`; return its id.

        Idempotent by content: the turn's id is a hash of the turn and its
        parent (`expected_head`), so if that id is already on the branch's
        path (the head or any turn below it) the call returns it and writes
        nothing, however many turns were appended on top since. A retry after
        a lost acknowledgement therefore never stores the turn twice.

        Raises:
            ConflictError: the head moved and the turn is not on the branch;
                nothing was written. `.actual` is the new head: reload, and
                append after it only if the turn still applies.
            NotFoundError: no such conversation or branch for this tenant.
            InvalidConversationError: the turn cannot stand after that head.
            InvalidContentError: an argument no database can store (e.g. a lone
                surrogate) or an `expected_head` that is not a turn id.
        """
        check_append(conversation_id, branch, expected_head)
        if self._appender is not None:
            # SQLite's common case, on the driver connection (see _sqlite_append);
            # None means nothing was written and the statements below decide.
            done = self._appender.append(
                tenant=self.tenant,
                cid=conversation_id,
                turn=turn,
                branch=branch,
                expected_head=expected_head,
            )
            if done is not None:
                return done
        return self._run(
            "append",
            ops.append,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            turn=turn,
            branch=branch,
            expected_head=expected_head,
        )

    def fork(
        self,
        conversation_id: str,
        name: str,
        *,
        at: TurnId | None,
        switch: bool = False,
    ) -> None:
        """Add a branch `name` whose head is the stored turn `at` (None: empty)."""
        self._run(
            "fork",
            ops.fork,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            name=name,
            at=at,
            switch=switch,
        )

    def switch(self, conversation_id: str, branch: str) -> None:
        """Make `branch` the branch `load()` returns by default."""
        self._run(
            "switch",
            ops.switch,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            branch=branch,
        )

    def delete(self, conversation_id: str) -> None:
        """Delete a conversation; writers that loaded it earlier get NotFoundError."""
        self._run(
            "delete",
            ops.delete_conversation,
            True,
            tenant=self.tenant,
            cid=conversation_id,
        )

    def update(
        self,
        conversation_id: str,
        *,
        expected_version: int,
        title: str | Unset | None = UNSET,
        metadata: Mapping[str, Any] | Unset = UNSET,
    ) -> int:
        """Replace the title and/or metadata if `info().version` is still `expected_version`.

        Returns the new version. A stale writer gets `ConflictError` (`.actual`
        is the current version) and nothing is written, as with heads.
        """
        return self._run(
            "update",
            manage.update_conversation,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            title=title,
            metadata=metadata,
            expected_version=expected_version,
        )

    def delete_branch(self, conversation_id: str, name: str) -> None:
        """Remove branch `name`; the active branch (so the last one) is refused.

        Turns only that branch reached stay stored (see `convo.store._manage`).
        """
        self._run(
            "delete_branch",
            manage.delete_branch,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            name=name,
        )

    def rename_branch(self, conversation_id: str, name: str, new_name: str) -> None:
        """Rename branch `name` to the free name `new_name` (the active one stays active)."""
        self._run(
            "rename_branch",
            manage.rename_branch,
            True,
            tenant=self.tenant,
            cid=conversation_id,
            name=name,
            new_name=new_name,
        )

    def erase(self, conversation_id: str) -> None:
        """Remove every row of the conversation (turns, heads, blobs, the row itself).

        Unlike `delete`, nothing is left behind, not even a tombstone; it also
        erases what `delete` left. Raises `NotFoundError` for an unknown id.
        """
        self._run(
            "erase", retention.erase, True, tenant=self.tenant, cid=conversation_id
        )

    def prune(
        self,
        *,
        idle: dt.timedelta | None = None,
        keep_latest: int | None = None,
        per_key: str | None = None,
        dry_run: bool = False,
        batch_size: int = 100,
        max_lock_ms: float = 50.0,
    ) -> PruneReport:
        """Erase the tenant's conversations idle longer than `idle`, and/or all but the
        newest `keep_latest` (of the tenant, or of each value of metadata key `per_key`).

        Works in batches, each a write transaction of its own; a batch that held
        the lock longer than `max_lock_ms` halves the next one, so the lock is
        never held long (the report says the longest hold). With `dry_run`,
        only reports the ids.
        """
        cutoff = None
        given: object = idle
        if given is not None:
            if not isinstance(given, dt.timedelta) or given < dt.timedelta(0):
                raise usage(
                    "idle must be a non-negative timedelta",
                    "idle",
                    given,
                    "Pass a datetime.timedelta, e.g. timedelta(days=30).",
                )
            cutoff = ops.now() - given
        rule = retention.check_rule(
            retention.Rule(idle_before=cutoff, keep_latest=keep_latest, per_key=per_key)
        )
        size = max(1, min(int(batch_size), 1000))
        found: list[str] = []
        longest = 0.0
        batches = 0
        after: str | None = None
        while True:
            picked = self._run(
                "prune",
                retention.prune_candidates,
                False,
                tenant=self.tenant,
                rule=rule,
                after=after,
                limit=size,
            )
            if not picked:
                break
            after = picked[-1]
            if dry_run:
                found.extend(picked)
                continue
            started = time.perf_counter()
            erased = self._run(
                "prune",
                retention.erase_many,
                True,
                tenant=self.tenant,
                rule=rule,
                cids=picked,
            )
            held = (time.perf_counter() - started) * 1000
            longest = max(longest, held)
            batches += 1
            found.extend(erased)
            if held > max_lock_ms and size > 1:
                size = max(1, size // 2)
        return PruneReport(
            conversation_ids=tuple(found),
            dry_run=dry_run,
            batches=batches,
            longest_batch_ms=longest,
        )

    def import_(self, data: bytes | str) -> str:
        """Store a canonical conversation document as a new conversation; return its id.

        Title and metadata come from the document (see `export`); every branch
        and the active branch come with the graph.

        Raises:
            DecodeError: the document is not a valid canonical conversation.
        """
        conversation, title, metadata = document.read(data)
        return self.create(conversation, title=title, metadata=metadata)

    # ----------------------------------------------------------------- reading

    def load(self, conversation_id: str, *, branch: str | None = None) -> Conversation:
        """The path of `branch` (default: the active branch), ids verified.

        Raises:
            NotFoundError: no such conversation or branch for this tenant.
            CorruptRecordError: a stored row is not valid convo data.
        """
        if branch is not None:
            check_branch(branch)
        return self._run(
            "load",
            queries.load,
            False,
            tenant=self.tenant,
            cid=conversation_id,
            branch=branch,
            cache=self._cache,
        )

    def load_graph(self, conversation_id: str) -> Conversation:
        """Every stored turn and branch of the conversation."""
        return self._run(
            "load_graph",
            queries.load_graph,
            False,
            tenant=self.tenant,
            cid=conversation_id,
            cache=self._cache,
        )

    def branches(
        self,
        conversation_id: str,
        *,
        limit: int | None = None,
        after: str | None = None,
    ) -> tuple[BranchInfo, ...]:
        """The conversation's branches sorted by name, with heads and usage.

        All of them by default; with `limit`, at most that many whose names
        sort after `after` (pass the last name of a page to get the next). A
        page costs the same however many branches the conversation has.
        """
        return self._run(
            "branches",
            queries.branches,
            False,
            tenant=self.tenant,
            cid=conversation_id,
            limit=limit,
            after=after,
        )

    def info(self, conversation_id: str) -> ConversationDetail:
        """Title, metadata, times, branches with heads, turn count and usage, in one query.

        Decodes no turn: as cheap as reading one row per branch.

        Raises:
            NotFoundError: no such conversation for this tenant.
            CorruptRecordError: the conversation's row is damaged (e.g. its metadata).
        """
        return self._run(
            "info", queries.info, False, tenant=self.tenant, cid=conversation_id
        )

    def usage(
        self, *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> UsageTotals:
        """The tenant's token sums over turns stored in `[since, until)` (UTC)."""
        return self._run(
            "usage",
            queries.tenant_usage,
            False,
            tenant=self.tenant,
            since=since,
            until=until,
        )

    def list(self, *, limit: int = 50, cursor: str | None = None) -> Page:
        """A page of this tenant's conversations, newest first."""
        return self._run(
            "list",
            queries.list_conversations,
            False,
            tenant=self.tenant,
            limit=limit,
            cursor=cursor,
            text=None,
        )

    def search(self, text: str, *, limit: int = 50, cursor: str | None = None) -> Page:
        """Conversations whose title or turns contain `text`, newest first."""
        return self._run(
            "search",
            queries.list_conversations,
            False,
            tenant=self.tenant,
            limit=limit,
            cursor=cursor,
            text=text,
        )

    def export(self, conversation_id: str) -> bytes:
        """The conversation (every branch, the active one) with its title and metadata,
        as a canonical JSON document `import_` reads back."""
        detail = self.info(conversation_id)
        return document.write(
            self.load_graph(conversation_id),
            title=detail.title,
            metadata=detail.metadata,
        )

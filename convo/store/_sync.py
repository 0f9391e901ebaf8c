"""`Store`: the synchronous shell around the shared statements.

It owns an engine, checks the schema revision when opened, and runs each
operation of `_statements` in one transaction (write transactions take the
SQLite write lock up front). PostgreSQL serialization failures are retried a
bounded number of times; every other database failure leaves as a convo
`StoreError` subclass, and the store stays usable after any of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from convo._graph import DEFAULT_BRANCH, Conversation
from convo._ids import TurnId
from convo._turns import Turn
from convo.store import _queries as queries
from convo.store import _statements as ops
from convo.store._cache import DEFAULT_CACHE_CHARS, TurnCache, turn_cache
from convo.store._engine import (
    MAX_ATTEMPTS,
    default_url,
    make_engine,
    retryable,
    translate,
)
from convo.store._migrate import check_schema, upgrade
from convo.store._queries import BranchInfo, Page
from convo.store._sqlite import BEGIN_OPTION, Synchronous, configure_sqlite
from convo.store._sqlite_append import SqliteAppender
from convo.wire.canonical import dumps, loads_conversation

__all__ = ["Store", "check_tenant", "url_hint"]

R = TypeVar("R")


def check_tenant(tenant: object) -> str:
    """Return `tenant` if it is a usable tenant name, else raise ValueError."""
    if not isinstance(tenant, str) or not tenant or len(tenant) > 64:
        msg = f"tenant must be a non-empty string of at most 64 characters (got {tenant!r})."
        raise ValueError(msg)
    if "\x00" in tenant:
        msg = "tenant must not contain NUL."
        raise ValueError(msg)
    return tenant


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
        self, operation: str, fn: Callable[..., R], *, write: bool, **kwargs: Any
    ) -> R:
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._engine.connect() as conn:
                    if write:
                        conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
                    with conn.begin():
                        return _call(fn, conn, self.tenant, kwargs)
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
            write=True,
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
            write=True,
            cid=conversation_id,
            conversation=conversation,
            expected_heads=expected_heads,
        )

    def append(
        self,
        conversation_id: str,
        turn: Turn,
        *,
        branch: str = DEFAULT_BRANCH,
        expected_head: TurnId | None,
    ) -> TurnId:
        """Append `turn` to `branch` if its head is still `expected_head`; return its id.

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
        """
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
            write=True,
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
            write=True,
            cid=conversation_id,
            name=name,
            at=at,
            switch=switch,
        )

    def switch(self, conversation_id: str, branch: str) -> None:
        """Make `branch` the branch `load()` returns by default."""
        self._run("switch", ops.switch, write=True, cid=conversation_id, branch=branch)

    def delete(self, conversation_id: str) -> None:
        """Delete a conversation; writers that loaded it earlier get NotFoundError."""
        self._run("delete", ops.delete_conversation, write=True, cid=conversation_id)

    def import_(self, data: bytes | str) -> str:
        """Store a canonical conversation document as a new conversation; return its id.

        Raises:
            DecodeError: the document is not a valid canonical conversation.
        """
        return self.create(loads_conversation(data))

    # ----------------------------------------------------------------- reading

    def load(self, conversation_id: str, *, branch: str | None = None) -> Conversation:
        """The path of `branch` (default: the active branch), ids verified.

        Raises:
            NotFoundError: no such conversation or branch for this tenant.
            CorruptRecordError: a stored row is not valid convo data.
        """
        return self._run(
            "load",
            queries.load,
            write=False,
            cid=conversation_id,
            branch=branch,
            cache=self._cache,
        )

    def load_graph(self, conversation_id: str) -> Conversation:
        """Every stored turn and branch of the conversation."""
        return self._run(
            "load_graph",
            queries.load_graph,
            write=False,
            cid=conversation_id,
            cache=self._cache,
        )

    def branches(self, conversation_id: str) -> tuple[BranchInfo, ...]:
        """The conversation's branches, sorted by name."""
        return self._run("branches", queries.branches, write=False, cid=conversation_id)

    def list(self, *, limit: int = 50, cursor: str | None = None) -> Page:
        """A page of this tenant's conversations, newest first."""
        return self._run(
            "list",
            queries.list_conversations,
            write=False,
            limit=limit,
            cursor=cursor,
            text=None,
        )

    def search(self, text: str, *, limit: int = 50, cursor: str | None = None) -> Page:
        """Conversations whose title or turns contain `text`, newest first."""
        return self._run(
            "search",
            queries.list_conversations,
            write=False,
            limit=limit,
            cursor=cursor,
            text=text,
        )

    def export(self, conversation_id: str) -> bytes:
        """The conversation (every branch) as a canonical JSON document."""
        return dumps(self.load_graph(conversation_id))


def _call(
    fn: Callable[..., R], conn: Connection, tenant: str, kwargs: dict[str, Any]
) -> R:
    return fn(conn, tenant=tenant, **kwargs)

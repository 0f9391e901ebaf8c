"""Every reading operation, written once as a function of a SQLAlchemy `Connection`.

The read side of `_statements` (same rules: one copy, run by `Store` directly
and by `AsyncStore` through `run_sync`). Every query carries the tenant
predicate; a path loads with one recursive query whose depth strictly
decreases, so even a hostile cycle in stored rows terminates; every row is
decoded strictly and its id recomputed (`_mapper.rebuild`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import functools
import json
import operator
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

import attrs
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    LargeBinary,
    Text,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.sql import Select

from convo._collector import collector_paused
from convo._graph import Conversation
from convo._ids import TurnId
from convo._json import JSON, check_text
from convo.errors import CorruptRecordError, InvalidContentError
from convo.store._args import usage
from convo.store._blobs import blobs_exist, blobs_for
from convo.store._cache import TurnCache
from convo.store._ledger import UsageTotals, usage_of
from convo.store._mapper import Ahead, corrupt, predecode, rebuild
from convo.store._prepared import LEDGER, PATH_LEDGER
from convo.store._schema import CONVERSATIONS, HEADS, TURNS
from convo.store._statements import (
    _ID,
    _conversation,
    _heads,
    _id_form,
    _not_found,
    check_key,
)
from convo.store._stream import stream

__all__ = [
    "BranchInfo",
    "ConversationDetail",
    "ConversationInfo",
    "Page",
    "branches",
    "info",
    "list_conversations",
    "load",
    "load_graph",
    "tenant_usage",
]


@attrs.frozen(kw_only=True)
class ConversationInfo:
    """What a listing shows of a conversation (never its turns or blobs)."""

    id: str
    title: str | None
    metadata: Mapping[str, JSON] = attrs.field(hash=False)
    active_branch: str
    turn_count: int
    """How many turns are stored, over every branch."""
    created_at: dt.datetime
    """UTC, naive."""
    updated_at: dt.datetime
    version: int = 1
    """Bumped by every change of title or metadata (pass it to `update`)."""
    usage: UsageTotals = attrs.field(factory=UsageTotals)
    """Token sums over every stored turn of every branch."""


@attrs.frozen(kw_only=True)
class Page:
    """One page of a listing; pass `next_cursor` back to get the next one."""

    items: tuple[ConversationInfo, ...]
    next_cursor: str | None
    """None on the last page."""
    skipped: tuple[str, ...] = ()
    """Ids of conversations on this page whose stored row is damaged (`info` says how)."""


@attrs.frozen(kw_only=True)
class BranchInfo:
    """A stored branch: its name, head turn, head version and whether it is active."""

    name: str
    head: TurnId | None
    version: int
    """Bumped by every move of the head (compare-and-set)."""
    active: bool
    usage: UsageTotals = attrs.field(factory=UsageTotals)
    """Token sums over the turns on the branch's path."""


@attrs.frozen(kw_only=True)
class ConversationDetail(ConversationInfo):
    """`ConversationInfo` plus every branch with its head and usage (`Store.info`)."""

    branches: tuple[BranchInfo, ...] = ()
    """Sorted by name."""


# ----------------------------------------------------------------- reading


def load(
    conn: Connection,
    *,
    tenant: str,
    cid: str,
    branch: str | None,
    cache: TurnCache | None = None,
) -> Conversation:
    """The path of `branch` (default: the active one), every row verified.

    Two statements: the conversation, its head and whether it has blobs in
    one (`_head_row`), then the turns, read by one recursive query, or, when
    the conversation's turns are exactly that path, by one scan in depth
    order (`_whole_chain`), whose rows PostgreSQL loads decode as they arrive
    (`convo.store._stream`). The rows and the values built from them are
    thousands of new objects: the collector is paused meanwhile, and what a
    long conversation's load built is promoted to its oldest generation
    (`convo._collector`, `PROMOTE_FROM_TURNS`).
    """
    name, head = _head_row(conn, tenant, cid, branch)
    with collector_paused(promote=_promoting(head.turn_count)):
        return _load(conn, name, head, cid=cid, cache=cache)


PROMOTE_FROM_TURNS = 500
"""Loads of at least this many stored turns promote what they build (`convo._collector`).

A pause that promotes first collects the host's young objects (up to a few
thousand); that pays when the load builds many more (about eight per turn),
not for the short conversations most requests load.
"""


def _promoting(turn_count: object) -> bool:
    return isinstance(turn_count, int) and turn_count >= PROMOTE_FROM_TURNS


_CID: BindParameter[str] = bindparam("cid")
"""The conversation id every statement of a load is bound to."""


def _head_row(
    conn: Connection, tenant: str, cid: object, branch: str | None
) -> tuple[str, Any]:
    """The name of `branch` (None: the active one) and the row `_head_statement` reads.

    One statement where a load used to make two (the conversation, then its
    head): a load is a round trip shorter.

    Raises:
        NotFoundError: no such live conversation of this tenant, or no such branch.
    """
    params = {"cid": _id_form(cid), "tenant": tenant}
    if branch is not None:
        params["branch"] = branch
    row = conn.execute(_head_statement(named=branch is not None), params).first()
    if row is None:
        raise _not_found("conversation", params["cid"])
    name = row.active_branch if branch is None else branch
    if row.head_branch is None:
        raise _not_found("branch", name)
    return name, row


@functools.cache
def _head_statement(*, named: bool) -> Select[Any]:
    """The live conversation of tenant `:tenant` with the head of branch `:branch` (or the active one).

    Built once per shape, with bound parameters, as every statement a load
    runs: building a select and its cache key costs more than running it
    (building them on every call was two thirds of a short conversation's
    load on SQLite, 0.8 ms where it now takes 0.22). The row has the
    conversation's `active_branch` and `turn_count`, and the head's
    `head_branch` (None when the conversation has no such branch), `turn_id`
    (None on an empty branch), `depth` and `any_blobs`.
    """
    name = bindparam("branch") if named else CONVERSATIONS.c.active_branch
    return (
        select(
            CONVERSATIONS.c.active_branch,
            CONVERSATIONS.c.turn_count,
            HEADS.c.branch.label("head_branch"),
            HEADS.c.turn_id,
            TURNS.c.depth,
            blobs_exist(_CID).label("any_blobs"),
        )
        .select_from(
            CONVERSATIONS.outerjoin(
                HEADS,
                and_(
                    HEADS.c.conversation_id == CONVERSATIONS.c.id,
                    HEADS.c.branch == name,
                ),
            ).outerjoin(
                TURNS,
                and_(
                    TURNS.c.conversation_id == HEADS.c.conversation_id,
                    TURNS.c.id == HEADS.c.turn_id,
                ),
            )
        )
        .where(
            CONVERSATIONS.c.id == _CID,
            CONVERSATIONS.c.tenant == bindparam("tenant"),
            CONVERSATIONS.c.deleted_at.is_(None),
        )
    )


def _load(
    conn: Connection,
    name: str,
    head: Any,
    *,
    cid: str,
    cache: TurnCache | None,
) -> Conversation:
    if head.turn_id is None:
        return Conversation.new(branch=name)
    rows = None
    # Rows of a conversation without blobs may be decoded as they arrive.
    decoded: dict[str, Ahead] | None = None if head.any_blobs else {}
    # SQLite keeps whatever a tampering hand stored: only integers take the fast scan.
    depth, count = head.depth, head.turn_count
    if isinstance(depth, int) and isinstance(count, int) and count == depth + 1:
        rows = _whole_chain(conn, cid, head.turn_id, count, decoded, cache)
    if rows is None:
        decoded = None
        rows = _path_rows(conn, cid, head.turn_id)
    if not rows or rows[0][1] is not None or rows[-1][0] != head.turn_id:
        raise corrupt("convo_turns", head.turn_id, "the branch's path is broken")
    payloads = [payload for _, _, payload in rows]
    blobs = blobs_for(conn, cid, payloads, any_stored=bool(head.any_blobs))
    graph = rebuild(rows, blobs, cache=cache, decoded=decoded)
    try:
        return graph.with_heads({name: TurnId(head.turn_id)}, active=name)
    except (LookupError, ValueError) as exc:
        raise corrupt("convo_heads", name, str(exc)) from exc


def _payload(column: Any, *, sqlite: bool) -> Any:
    """The payload column as loads read it: on SQLite, the UTF-8 bytes of the text.

    Bytes straight from the database are what the id is hashed over and what
    the turn keeps as its canonical form, so a load allocates no second copy
    of every payload (about a tenth of a cold load). A value SQLite stores
    under another type than text reads as NULL, which `decode_payload` reports
    as a payload that is not text. PostgreSQL returns the text (its bytea
    cast would read backslashes as escapes).
    """
    if not sqlite:
        return column
    return case(
        (func.typeof(column) == "text", sql_cast(column, LargeBinary)), else_=null()
    ).label("payload")


def _whole_chain(
    conn: Connection,
    cid: str,
    head: str,
    count: int,
    decoded: dict[str, Ahead] | None,
    cache: TurnCache | None,
) -> list[tuple[TurnId, TurnId | None, str | bytes]] | None:
    """Every turn of the conversation, when they are exactly the path to `head`.

    The common case (one branch, never forked): when the conversation holds
    as many turns as the head is deep, one indexed scan reads the path
    without the recursive query. The rows are put in depth order here, not by
    the database: with no index in that order, SQLite would copy every
    payload into a temporary sort tree first (a quarter of the scan); sorting
    5,000 small keys in Python costs a millisecond. The rows are taken only
    if they really form that chain (each the child of the one before, ending
    at `head`); anything else (a tampered count or depth) answers None and
    the recursive query runs.

    With `decoded`, rows the driver hands over while the server is still
    sending (`convo.store._stream`) are decoded as they arrive, into
    `decoded` for `rebuild` (`predecode`); the rows are still taken only if
    they form the chain.
    """
    rows = _turn_rows(conn, cid, by="depth", decoded=decoded, cache=cache)
    if len(rows) != count or not rows or rows[-1][1] != head:
        return None
    parent = None
    for _, turn_id, parent_id, _ in rows:
        if parent_id != parent:
            return None
        parent = turn_id
    return [(r[1], r[2], r[3]) for r in rows]


def _turn_rows(
    conn: Connection,
    cid: str,
    *,
    by: str,
    decoded: dict[str, Ahead] | None = None,
    cache: TurnCache | None = None,
) -> list[Sequence[Any]]:
    """Every turn row of the conversation, `(by, id, parent_id, payload)`, sorted by `by`.

    With `decoded`, where the rows can be streamed, each is decoded into it
    on arrival (`predecode`; a row the `cache` holds is kept as its node).
    """
    statement = _turn_rows_statement(by, sqlite=conn.dialect.name == "sqlite")
    params = {"cid": cid}
    if decoded is not None:
        streamed = stream(conn, statement, params)
        if streamed is not None:
            rows = []
            with contextlib.closing(streamed):
                for row in streamed:
                    rows.append(row)
                    predecode(row[1], row[2], row[3], into=decoded, cache=cache)
            return _in_order(rows)
    return _in_order(conn.execute(statement, params).all())


@functools.cache
def _turn_rows_statement(by: str, *, sqlite: bool) -> Select[Any]:
    """`(by, id, parent_id, payload)` of every turn of conversation `:cid` (built once, see `_head_statement`)."""
    return select(
        TURNS.c[by],
        TURNS.c.id,
        TURNS.c.parent_id,
        _payload(TURNS.c.payload, sqlite=sqlite),
    ).where(TURNS.c.conversation_id == _CID)


_R = TypeVar("_R", bound=Sequence[Any])


def _in_order(rows: Sequence[_R]) -> list[_R]:
    """`rows` sorted by their first column, as SQLite's `ORDER BY` would sort them.

    Loads sort in Python rather than in the database: SQLite, with no index in
    that order, copies every row, payload included, into a sort tree before
    returning the first (a quarter of a 5,000-turn scan), where sorting the
    rows' small keys here costs a millisecond. The columns hold integers, as
    the store writes them; a value a tampering hand stored under another
    storage class sorts where SQLite puts it (null, numbers, text, blobs).
    """
    try:
        return sorted(rows, key=_FIRST)
    except TypeError:
        return sorted(rows, key=_sqlite_order)


_FIRST = operator.itemgetter(0)


def _sqlite_order(row: Sequence[Any]) -> tuple[int, Any]:
    value = row[0]
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)  # code point order: the order of UTF-8 bytes
    return (3, bytes(value))


def _path_rows(
    conn: Connection, cid: str, head: str
) -> list[tuple[TurnId, TurnId | None, str | bytes]]:
    """The path to `head`, root first, by one recursive query (depth strictly decreasing)."""
    statement = _path_statement(sqlite=conn.dialect.name == "sqlite")
    rows = conn.execute(statement, {"cid": cid, "head": head}).all()
    return [(r[1], r[2], r[3]) for r in _in_order(rows)]


@functools.cache
def _path_statement(*, sqlite: bool) -> Select[Any]:
    """`(depth, id, parent_id, payload)` of the path to turn `:head` of conversation `:cid` (built once)."""
    anchor = (
        select(TURNS.c.id, TURNS.c.parent_id, TURNS.c.depth, TURNS.c.payload)
        .where(TURNS.c.conversation_id == _CID, TURNS.c.id == bindparam("head"))
        .cte("convo_path", recursive=True)
    )
    parent = TURNS.alias("convo_parent")
    path = anchor.union_all(
        select(parent.c.id, parent.c.parent_id, parent.c.depth, parent.c.payload).where(
            parent.c.conversation_id == _CID,
            parent.c.id == anchor.c.parent_id,
            parent.c.depth < anchor.c.depth,
            parent.c.depth >= literal(0),
        )
    )
    return select(
        path.c.depth,
        path.c.id,
        path.c.parent_id,
        _payload(path.c.payload, sqlite=sqlite),
    )


def load_graph(
    conn: Connection, *, tenant: str, cid: str, cache: TurnCache | None = None
) -> Conversation:
    """Every stored turn and branch of the conversation (collector paused, as `load`)."""
    row = _conversation(conn, tenant, cid, lock=False)
    with collector_paused(promote=_promoting(row.turn_count)):
        return _load_graph(conn, row, cid=cid, cache=cache)


def _load_graph(
    conn: Connection, row: Any, *, cid: str, cache: TurnCache | None
) -> Conversation:
    heads = _heads(conn, cid)
    rows = _turn_rows(conn, cid, by="seq")
    blobs = blobs_for(conn, cid, [r[3] for r in rows])
    graph = rebuild(((r[1], r[2], r[3]) for r in rows), blobs, cache=cache)
    try:
        return graph.with_heads(
            {name: head for name, (head, _) in sorted(heads.items())},
            active=row.active_branch,
        )
    except (LookupError, ValueError) as exc:
        raise corrupt("convo_heads", cid, str(exc)) from exc


_PATH = TURNS.alias("convo_head_turn")
_HEAD_COLUMNS = (
    HEADS.c.branch,
    HEADS.c.turn_id,
    HEADS.c.version.label("head_version"),
    *(_PATH.c[name] for name in PATH_LEDGER),
)


def _branch_info(row: Any, active: str) -> BranchInfo:
    return BranchInfo(
        name=row.branch,
        head=None if row.turn_id is None else TurnId(row.turn_id),
        version=row.head_version,
        active=row.branch == active,
        usage=usage_of(row._mapping[name] for name in PATH_LEDGER),
    )


def branches(
    conn: Connection,
    *,
    tenant: str,
    cid: str,
    limit: object = None,
    after: object = None,
) -> tuple[BranchInfo, ...]:
    """The conversation's branches sorted by name: all, or `limit` after the name `after`.

    One indexed range scan of the head rows (the primary key starts with the
    conversation id), so a page costs the same however many branches exist.
    """
    _id_form(cid)
    if limit is not None:
        _check_limit(limit, what="limit")
    if after is not None:
        check_key(after, what="branch name", where="after")
    stmt = (
        select(CONVERSATIONS.c.active_branch, *_HEAD_COLUMNS)
        .select_from(CONVERSATIONS)
        .join(HEADS, HEADS.c.conversation_id == CONVERSATIONS.c.id)
        .outerjoin(
            _PATH,
            and_(
                _PATH.c.conversation_id == HEADS.c.conversation_id,
                _PATH.c.id == HEADS.c.turn_id,
            ),
        )
        .where(
            CONVERSATIONS.c.id == cid,
            CONVERSATIONS.c.tenant == tenant,
            CONVERSATIONS.c.deleted_at.is_(None),
        )
        .order_by(HEADS.c.branch)
    )
    if after is not None:
        stmt = stmt.where(HEADS.c.branch > after)
    if limit is not None:
        stmt = stmt.limit(cast(int, limit))
    rows = conn.execute(stmt).all()
    if not rows:
        _conversation(conn, tenant, cid, lock=False)  # NotFound, or simply no more
    return tuple(_branch_info(r, r.active_branch) for r in rows)


def info(conn: Connection, *, tenant: str, cid: object) -> ConversationDetail:
    """Everything but the turns, in one query: one row per branch, no payload decoded."""
    if not (isinstance(cid, str) and _ID.fullmatch(cid)):
        raise _not_found("conversation", str(cid)[:80])
    rows = conn.execute(_info_statement(), {"cid": cid, "tenant": tenant}).all()
    if not rows:
        raise _not_found("conversation", str(cid)[:80])
    first = rows[0]
    return ConversationDetail(
        **_info_fields(first),
        branches=tuple(
            _branch_info(r, first.active_branch) for r in rows if r.branch is not None
        ),
    )


def tenant_usage(
    conn: Connection,
    *,
    tenant: str,
    since: object,
    until: object,
) -> UsageTotals:
    """Token sums of the tenant's turns stored in `[since, until)` (UTC, naive).

    A turn's own usage is its path ledger minus its parent's, so one query over
    the turns in range answers without decoding any of them.
    """
    for name, value in (("since", since), ("until", until)):
        if value is not None and not isinstance(value, dt.datetime):
            raise usage(
                f"{name} must be a datetime or None",
                name,
                value,
                "Pass a timezone-aware datetime.",
            )
    parent = TURNS.alias("convo_parent_turn")
    sums = [
        func.coalesce(func.sum(TURNS.c[name] - func.coalesce(parent.c[name], 0)), 0)
        for name in PATH_LEDGER
    ]
    stmt = (
        select(*sums)
        .select_from(TURNS)
        .join(CONVERSATIONS, CONVERSATIONS.c.id == TURNS.c.conversation_id)
        .outerjoin(
            parent,
            and_(
                parent.c.conversation_id == TURNS.c.conversation_id,
                parent.c.id == TURNS.c.parent_id,
            ),
        )
        .where(CONVERSATIONS.c.tenant == tenant, CONVERSATIONS.c.deleted_at.is_(None))
    )
    if isinstance(since, dt.datetime):
        stmt = stmt.where(TURNS.c.created_at >= _naive(since))
    if isinstance(until, dt.datetime):
        stmt = stmt.where(TURNS.c.created_at < _naive(until))
    row = conn.execute(stmt).one()
    return usage_of(int(v) for v in row)


def _naive(value: dt.datetime) -> dt.datetime:
    """UTC, naive, as the store keeps times (an aware time is converted)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


_CONVERSATION_COLUMNS = (
    CONVERSATIONS.c.id,
    CONVERSATIONS.c.title,
    # As stored: decoded here, so a damaged row is reported, not raised by the driver.
    type_coerce(CONVERSATIONS.c.metadata, Text).label("metadata"),
    CONVERSATIONS.c.active_branch,
    CONVERSATIONS.c.turn_count,
    # As stored too: SQLite's date parsing raised inside the fetch, for every row.
    type_coerce(CONVERSATIONS.c.created_at, Text).label("created_at"),
    type_coerce(CONVERSATIONS.c.updated_at, Text).label("updated_at"),
    CONVERSATIONS.c.version,
    *(CONVERSATIONS.c[name] for name in LEDGER),
)


def _metadata(raw: object) -> object:
    if isinstance(raw, str | bytes):
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            return None
    return raw


@functools.cache
def _info_statement() -> Any:
    """`info`'s one statement, built once (building it costs more than running it)."""
    return (
        select(*_CONVERSATION_COLUMNS, *_HEAD_COLUMNS)
        .select_from(CONVERSATIONS)
        .outerjoin(HEADS, HEADS.c.conversation_id == CONVERSATIONS.c.id)
        .outerjoin(
            _PATH,
            and_(
                _PATH.c.conversation_id == HEADS.c.conversation_id,
                _PATH.c.id == HEADS.c.turn_id,
            ),
        )
        .where(
            CONVERSATIONS.c.id == bindparam("cid"),
            CONVERSATIONS.c.tenant == bindparam("tenant"),
            CONVERSATIONS.c.deleted_at.is_(None),
        )
        .order_by(HEADS.c.branch)
    )


def _stored_time(row: Any, column: str) -> dt.datetime:
    """A conversation's `column` time: a datetime (PostgreSQL) or ISO text (SQLite)."""
    raw = row._mapping[column]
    if isinstance(raw, dt.datetime):
        return raw
    try:
        return dt.datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        raise corrupt(
            "convo_conversations", row.id, f"{column} is not a date", received=raw
        ) from None


def _info_fields(row: Any) -> dict[str, Any]:
    metadata = _metadata(row.metadata)
    if not isinstance(metadata, dict):
        raise corrupt(
            "convo_conversations",
            row.id,
            "metadata is not a JSON object",
            received=row.metadata,
        )
    return {
        "id": row.id,
        "title": row.title,
        "metadata": metadata,
        "active_branch": row.active_branch,
        "turn_count": row.turn_count,
        "created_at": _stored_time(row, "created_at"),
        "updated_at": _stored_time(row, "updated_at"),
        "version": row.version,
        "usage": usage_of(row._mapping[name] for name in LEDGER),
    }


def _check_limit(limit: object, *, what: str) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
        raise usage(
            f"The {what} must be an int from 1 to 1000",
            what,
            limit if isinstance(limit, str) else repr(limit)[:40],
            "Pass a page size from 1 to 1000.",
        )
    return limit


def _encode_cursor(created: dt.datetime, cid: str) -> str:
    raw = json.dumps([created.isoformat(), cid]).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


_CURSOR_CHARS = 256
"""Far above any cursor the store writes (about 100 characters)."""


def _decode_cursor(cursor: object) -> tuple[dt.datetime, str]:
    """The position a cursor names; anything the store did not write is refused."""
    try:
        if not isinstance(cursor, str) or len(cursor) > _CURSOR_CHARS:
            raise ValueError
        created, cid = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not (
            isinstance(created, str) and isinstance(cid, str) and _ID.fullmatch(cid)
        ):
            raise ValueError
        return dt.datetime.fromisoformat(created), cid
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        shown = cursor if isinstance(cursor, str) else f"<{type(cursor).__name__}>"
        raise InvalidContentError(
            "Not a cursor this store returned",
            path="cursor",
            received=shown[:80],
            fix="Pass the next_cursor of the previous page, or None.",
        ) from None


def _icontains(
    conn: Connection, column: ColumnElement[str | None], text: str
) -> ColumnElement[bool]:
    """`column` contains `text`, ignoring case in all of Unicode on both databases.

    PostgreSQL's ILIKE folds Unicode; SQLite's LIKE and lower() fold ASCII only,
    so there both sides go through `convo_lower` (Python's `str.lower`,
    registered on every connection by `convo.store._sqlite`).
    """
    if conn.dialect.name == "sqlite":
        folded: ColumnElement[str] = func.convo_lower(column)
        return folded.contains(text.lower(), autoescape=True)
    return column.icontains(text, autoescape=True)


def list_conversations(
    conn: Connection,
    *,
    tenant: str,
    limit: object,
    cursor: object,
    text: object,
) -> Page:
    """A page of the tenant's conversations, newest first, optionally matching `text`.

    `text` matches a title, or the search text of any stored turn (what a
    person wrote or read, see `_ledger.search_text`), ignoring case. A row
    whose metadata is not a JSON object is left out and named in `Page.skipped`.
    """
    _check_limit(limit, what="limit")
    stmt = select(*_CONVERSATION_COLUMNS).where(
        CONVERSATIONS.c.tenant == tenant, CONVERSATIONS.c.deleted_at.is_(None)
    )
    if cursor is not None:
        created, after = _decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                CONVERSATIONS.c.created_at < created,
                and_(CONVERSATIONS.c.created_at == created, CONVERSATIONS.c.id < after),
            )
        )
    if text is not None:
        if not isinstance(text, str):
            raise InvalidContentError(
                "Search text must be a string",
                path="text",
                received=f"<{type(text).__name__}>",
                fix="Pass the words to look for as a str.",
            )
        check_text(text, path="text")
    if text:
        needle = text.lower()
        stmt = stmt.where(
            or_(
                _icontains(conn, CONVERSATIONS.c.title, text),
                exists(
                    select(TURNS.c.id).where(
                        TURNS.c.conversation_id == CONVERSATIONS.c.id,
                        TURNS.c.search_text.contains(needle, autoescape=True),
                    )
                ),
            )
        )
    rows = conn.execute(
        stmt.order_by(
            CONVERSATIONS.c.created_at.desc(), CONVERSATIONS.c.id.desc()
        ).limit(cast(int, limit) + 1)
    ).all()
    shown = rows[: cast(int, limit)]
    items: list[ConversationInfo] = []
    skipped: list[str] = []
    for r in shown:
        try:
            items.append(ConversationInfo(**_info_fields(r)))
        except CorruptRecordError:
            skipped.append(r.id)
    next_cursor = None
    if len(rows) > len(shown):
        # After the last row whose time reads (a damaged row after it shows
        # again, skipped, on the next page); none on the page: refused.
        last = items[-1] if items else None
        if last is None:
            raise corrupt(
                "convo_conversations",
                shown[-1].id,
                "no conversation on this page has a readable created_at",
            )
        next_cursor = _encode_cursor(last.created_at, last.id)
    return Page(items=tuple(items), next_cursor=next_cursor, skipped=tuple(skipped))

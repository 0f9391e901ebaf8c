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
import datetime as dt
import json
from collections.abc import Mapping

import attrs
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
)

from convo._graph import Conversation
from convo._ids import TurnId
from convo._json import JSON, check_text
from convo.errors import InvalidContentError, message
from convo.store._cache import TurnCache
from convo.store._mapper import corrupt, rebuild
from convo.store._statements import (
    C,
    H,
    T,
    _blobs_for,
    _conversation,
    _heads,
    _not_found,
)

__all__ = [
    "BranchInfo",
    "ConversationInfo",
    "Page",
    "branches",
    "list_conversations",
    "load",
    "load_graph",
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


@attrs.frozen(kw_only=True)
class Page:
    """One page of a listing; pass `next_cursor` back to get the next one."""

    items: tuple[ConversationInfo, ...]
    next_cursor: str | None
    """None on the last page."""


@attrs.frozen(kw_only=True)
class BranchInfo:
    """A stored branch: its name, head turn, head version and whether it is active."""

    name: str
    head: TurnId | None
    version: int
    """Bumped by every move of the head (compare-and-set)."""
    active: bool


# ----------------------------------------------------------------- reading


def load(
    conn: Connection,
    *,
    tenant: str,
    cid: str,
    branch: str | None,
    cache: TurnCache | None = None,
) -> Conversation:
    """The path of `branch` (default: the active one), loaded by one recursive query."""
    row = _conversation(conn, tenant, cid, lock=False)
    name = row.active_branch if branch is None else branch
    head = conn.execute(
        select(H.c.turn_id).where(H.c.conversation_id == cid, H.c.branch == name)
    ).first()
    if head is None:
        raise _not_found("branch", name)
    if head.turn_id is None:
        return Conversation.new(branch=name)
    anchor = (
        select(T.c.id, T.c.parent_id, T.c.depth, T.c.payload)
        .where(T.c.conversation_id == cid, T.c.id == head.turn_id)
        .cte("convo_path", recursive=True)
    )
    parent = T.alias("convo_parent")
    path = anchor.union_all(
        select(parent.c.id, parent.c.parent_id, parent.c.depth, parent.c.payload).where(
            parent.c.conversation_id == cid,
            parent.c.id == anchor.c.parent_id,
            parent.c.depth < anchor.c.depth,
            parent.c.depth >= literal(0),
        )
    )
    rows = conn.execute(
        select(path.c.id, path.c.parent_id, path.c.payload).order_by(path.c.depth)
    ).all()
    if not rows or rows[0].parent_id is not None or rows[-1].id != head.turn_id:
        raise corrupt("convo_turns", head.turn_id, "the branch's path is broken")
    blobs = _blobs_for(conn, cid, (r.payload for r in rows))
    graph = rebuild(((r.id, r.parent_id, r.payload) for r in rows), blobs, cache=cache)
    try:
        return graph.with_heads({name: TurnId(head.turn_id)}, active=name)
    except (LookupError, ValueError) as exc:
        raise corrupt("convo_heads", name, str(exc)) from exc


def load_graph(
    conn: Connection, *, tenant: str, cid: str, cache: TurnCache | None = None
) -> Conversation:
    """Every stored turn and branch of the conversation."""
    row = _conversation(conn, tenant, cid, lock=False)
    heads = _heads(conn, cid)
    rows = conn.execute(
        select(T.c.id, T.c.parent_id, T.c.payload)
        .where(T.c.conversation_id == cid)
        .order_by(T.c.seq)
    ).all()
    blobs = _blobs_for(conn, cid, (r.payload for r in rows))
    graph = rebuild(((r.id, r.parent_id, r.payload) for r in rows), blobs, cache=cache)
    try:
        return graph.with_heads(
            {name: head for name, (head, _) in sorted(heads.items())},
            active=row.active_branch,
        )
    except (LookupError, ValueError) as exc:
        raise corrupt("convo_heads", cid, str(exc)) from exc


def branches(conn: Connection, *, tenant: str, cid: str) -> tuple[BranchInfo, ...]:
    """The conversation's branches, sorted by name."""
    row = _conversation(conn, tenant, cid, lock=False)
    return tuple(
        BranchInfo(
            name=name, head=head, version=version, active=name == row.active_branch
        )
        for name, (head, version) in sorted(_heads(conn, cid).items())
    )


def _encode_cursor(created: dt.datetime, cid: str) -> str:
    raw = json.dumps([created.isoformat(), cid]).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        created, cid = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        return dt.datetime.fromisoformat(created), str(cid)
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise InvalidContentError(
            message(
                "Not a cursor this store returned",
                where="cursor",
                received=cursor,
                fix="Pass the next_cursor of the previous page, or None.",
            ),
            path="cursor",
            received=cursor,
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
    cursor: str | None,
    text: str | None,
) -> Page:
    """A page of the tenant's conversations, newest first, optionally matching `text`."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
        msg = f"limit must be an int from 1 to 1000 (got {limit!r})."
        raise ValueError(msg)
    stmt = select(
        C.c.id,
        C.c.title,
        C.c.metadata,
        C.c.active_branch,
        C.c.turn_count,
        C.c.created_at,
        C.c.updated_at,
    ).where(C.c.tenant == tenant, C.c.deleted_at.is_(None))
    if cursor is not None:
        created, after = _decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                C.c.created_at < created,
                and_(C.c.created_at == created, C.c.id < after),
            )
        )
    if text:
        check_text(text, path="$.text")
        # Turns hold canonical JSON: look for the text as it appears escaped there.
        escaped = json.dumps(text, ensure_ascii=False)[1:-1]
        stmt = stmt.where(
            or_(
                _icontains(conn, C.c.title, text),
                exists(
                    select(T.c.id).where(
                        T.c.conversation_id == C.c.id,
                        _icontains(conn, T.c.payload, escaped),
                    )
                ),
            )
        )
    rows = conn.execute(
        stmt.order_by(C.c.created_at.desc(), C.c.id.desc()).limit(limit + 1)
    ).all()
    items = tuple(
        ConversationInfo(
            id=r.id,
            title=r.title,
            metadata=r.metadata or {},
            active_branch=r.active_branch,
            turn_count=r.turn_count,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows[:limit]
    )
    next_cursor = (
        _encode_cursor(items[-1].created_at, items[-1].id)
        if len(rows) > limit
        else None
    )
    return Page(items=items, next_cursor=next_cursor)

"""The store's statements that writes and reads run on every call, built once.

Building a SQLAlchemy statement and its cache key costs more than running it
(0.1 to 0.2 ms each, where a short conversation's load runs in about 0.2 ms on
SQLite), so the statements of the hot path are built here, once per process,
with every value bound as a parameter and never put into SQL text. The reads
of a load build theirs once too, by shape (`convo.store._queries`).
"""

from __future__ import annotations

from sqlalchemy import DateTime, Integer, String, bindparam, select, update

from convo.store._schema import CONVERSATIONS, HEADS, TURNS, USAGE_KINDS

__all__ = [
    "LEDGER",
    "PATH_LEDGER",
]

_LOCK_HEAD = (
    select(HEADS.c.version)
    .join(CONVERSATIONS, CONVERSATIONS.c.id == HEADS.c.conversation_id)
    .where(
        HEADS.c.conversation_id == bindparam("cid"),
        HEADS.c.branch == bindparam("branch"),
        HEADS.c.turn_id.is_not_distinct_from(bindparam("expected", type_=String)),
        CONVERSATIONS.c.tenant == bindparam("tenant"),
        CONVERSATIONS.c.deleted_at.is_(None),
    )
    .with_for_update(of=HEADS)
)
LEDGER = tuple(f"{kind}_tokens" for kind in USAGE_KINDS)
"""The conversation's ledger columns, in ledger order."""
_BUMP = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == bindparam("b_cid"))
    .values(
        {
            CONVERSATIONS.c.turn_count: CONVERSATIONS.c.turn_count
            + bindparam("b_added", type_=Integer),
            CONVERSATIONS.c.updated_at: bindparam("b_stamp", type_=DateTime),
            **{
                CONVERSATIONS.c[name]: CONVERSATIONS.c[name]
                + bindparam(f"b_{name}", type_=Integer)
                for name in LEDGER
            },
        }
    )
    .returning(CONVERSATIONS.c.turn_count)
)
"""An append's one update of its conversation: the count, the time, the ledger."""
PATH_LEDGER = tuple(f"path_{kind}_tokens" for kind in USAGE_KINDS)
"""A turn's path ledger columns, in ledger order."""
_FIND_TWO = select(
    TURNS.c.id,
    TURNS.c.parent_id,
    TURNS.c.role,
    TURNS.c.depth,
    *(TURNS.c[name] for name in PATH_LEDGER),
).where(
    TURNS.c.conversation_id == bindparam("cid"),
    TURNS.c.id.in_([bindparam("first"), bindparam("second")]),
)
"""The new turn (stored already?) and its parent, with the parent's path ledger."""
_ADD_USAGE = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == bindparam("u_cid"))
    .values(
        {
            CONVERSATIONS.c[name]: CONVERSATIONS.c[name] + bindparam(f"u_{name}")
            for name in LEDGER
        }
    )
)
_MOVE_HEAD = (
    update(HEADS)
    .where(
        HEADS.c.conversation_id == bindparam("b_cid"),
        HEADS.c.branch == bindparam("b_branch"),
        HEADS.c.version == bindparam("b_version"),
    )
    .values(
        turn_id=bindparam("b_head", type_=String), version=bindparam("b_next_version")
    )
)
_CONVERSATION = select(
    CONVERSATIONS.c.id, CONVERSATIONS.c.active_branch, CONVERSATIONS.c.turn_count
).where(
    CONVERSATIONS.c.id == bindparam("c_id"),
    CONVERSATIONS.c.tenant == bindparam("c_tenant"),
    CONVERSATIONS.c.deleted_at.is_(None),
)
_LOCK_CONVERSATION = _CONVERSATION.with_for_update()
_HEADS = select(HEADS.c.branch, HEADS.c.turn_id, HEADS.c.version).where(
    HEADS.c.conversation_id == bindparam("h_cid")
)
# Whether turn :new is on the path ending at turn :head: walk up from the head
# only while the depth stays at or above the new turn's own (stored) depth, so
# the walk is bounded by how far the head moved past it. One statement; when
# :new is not stored the floor is NULL and only the head row is looked at.
_floor = (
    select(TURNS.c.depth)
    .where(TURNS.c.conversation_id == bindparam("cid"), TURNS.c.id == bindparam("new"))
    .scalar_subquery()
)
_walk = (
    select(TURNS.c.id, TURNS.c.parent_id, TURNS.c.depth, _floor.label("floor"))
    .where(
        TURNS.c.conversation_id == bindparam("cid"),
        TURNS.c.id == bindparam("head"),
    )
    .cte("convo_walk", recursive=True)
)
_up = TURNS.alias("convo_up")
_walk = _walk.union_all(
    select(_up.c.id, _up.c.parent_id, _up.c.depth, _walk.c.floor).where(
        _up.c.conversation_id == bindparam("cid"),
        _up.c.id == _walk.c.parent_id,
        _up.c.depth < _walk.c.depth,
        _up.c.depth >= _walk.c.floor,
    )
)
_ON_PATH = select(_walk.c.id).where(_walk.c.id == bindparam("new")).limit(1)

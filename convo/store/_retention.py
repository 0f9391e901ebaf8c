"""Erasure and retention: removing conversations so that nothing of them remains.

`erase` deletes a conversation's every row: turns, heads, blobs (blobs are
keyed by conversation, so no other conversation ever uses them) and the
conversation row itself, tombstone included; a writer that loaded it earlier
then finds no conversation and gets `NotFoundError`.

Retention picks candidates with one read query and erases them in batches,
each its own short write transaction (the `Store` shell sizes the batches so
none holds the write lock long, see `Store.prune`). Every batch re-checks the
rule under the lock, so a conversation touched after it was picked survives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs
from sqlalchemy import (
    Connection,
    Text,
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    type_coerce,
)

from convo.errors import UsageError
from convo.store._args import check_key
from convo.store._statements import _ID, B, C, H, T, _lock_heads, _not_found

__all__ = ["PruneReport", "Rule", "erase", "erase_many", "prune_candidates"]


@attrs.frozen(kw_only=True)
class Rule:
    """Which conversations a prune removes (those matching any given part).

    `idle_before`: last changed before this time (UTC, naive).
    `keep_latest`: all but the newest N (by creation) of the tenant's live
    conversations, or of each value of metadata key `per_key` (conversations
    without it form one group). Deleted ones (tombstones) are not counted; an
    idle rule erases them once they are idle long enough.
    """

    idle_before: dt.datetime | None = None
    keep_latest: int | None = None
    per_key: str | None = None


@attrs.frozen(kw_only=True)
class PruneReport:
    """What a prune removed (or, in a dry run, would remove)."""

    conversation_ids: tuple[str, ...]
    dry_run: bool
    batches: int
    """Write transactions run (0 in a dry run)."""
    longest_batch_ms: float
    """The longest time one batch held the write lock, in milliseconds."""


def erase(conn: Connection, *, tenant: str, cid: object) -> None:
    """Delete every row of one conversation of this tenant (deleted ones too)."""
    if not isinstance(cid, str) or not _ID.fullmatch(cid):
        raise _not_found("conversation", str(cid)[:80])
    _lock_heads(conn, tenant, cid)
    found = conn.execute(
        select(C.c.id).where(C.c.id == cid, C.c.tenant == tenant).with_for_update()
    ).first()
    if found is None:
        raise _not_found("conversation", cid)
    _erase_rows(conn, [cid])


def _erase_rows(conn: Connection, cids: Sequence[str]) -> None:
    # Children first: foreign keys hold at every statement on both databases.
    conn.execute(delete(H).where(H.c.conversation_id.in_(cids)))
    conn.execute(delete(T).where(T.c.conversation_id.in_(cids)))
    conn.execute(delete(B).where(B.c.conversation_id.in_(cids)))
    conn.execute(delete(C).where(C.c.id.in_(cids)))


def _group_key(conn: Connection, key: str) -> Any:
    """The metadata value of `key` as text (NULL when absent or the row is damaged)."""
    raw = type_coerce(C.c.metadata, Text)
    if conn.dialect.name == "sqlite":
        return case(
            (
                func.json_valid(raw),
                func.json_extract(raw, literal("$." + _quoted(key))),
            ),
            else_=None,
        )
    return C.c.metadata[key].as_string()


def _quoted(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _matching(conn: Connection, tenant: str, rule: Rule) -> Any:
    """A select of the ids the rule removes (without order or limit)."""
    parts = []
    if rule.idle_before is not None:
        parts.append(C.c.updated_at < rule.idle_before)
    if rule.keep_latest is not None:
        partition = [C.c.tenant]
        if rule.per_key is not None:
            partition.append(_group_key(conn, rule.per_key))
        ranked = (
            select(
                C.c.id,
                func.row_number()
                .over(
                    partition_by=partition,
                    order_by=(C.c.created_at.desc(), C.c.id.desc()),
                )
                .label("rank"),
            )
            .where(C.c.tenant == tenant, C.c.deleted_at.is_(None))
            .subquery("convo_ranked")
        )
        parts.append(
            C.c.id.in_(select(ranked.c.id).where(ranked.c.rank > rule.keep_latest))
        )
    return select(C.c.id).where(C.c.tenant == tenant, or_(*parts))


def check_rule(rule: Rule) -> Rule:
    """`rule` if it names something to remove, with sane values."""
    if rule.idle_before is None and rule.keep_latest is None:
        msg = "prune needs idle= and/or keep_latest= (it would remove nothing)."
        raise UsageError(msg)
    keep: object = rule.keep_latest
    if keep is not None and (
        not isinstance(keep, int) or isinstance(keep, bool) or keep < 0
    ):
        msg = f"keep_latest must be a non-negative int (got {keep!r})."
        raise UsageError(msg)
    if rule.per_key is not None:
        check_key(rule.per_key, what="metadata key", where="per_key", limit=200)
        if rule.keep_latest is None:
            msg = "per_key needs keep_latest= (it groups the conversations kept)."
            raise UsageError(msg)
    return rule


def prune_candidates(
    conn: Connection, *, tenant: str, rule: Rule, after: str | None, limit: int
) -> tuple[str, ...]:
    """Up to `limit` ids the rule removes, in id order, after the id `after`."""
    stmt = _matching(conn, tenant, rule)
    if after is not None:
        stmt = stmt.where(C.c.id > after)
    return tuple(conn.scalars(stmt.order_by(C.c.id).limit(limit)))


def erase_many(
    conn: Connection, *, tenant: str, rule: Rule, cids: Sequence[str]
) -> tuple[str, ...]:
    """Erase those of `cids` the rule still removes, under the lock; the ids erased."""
    if not cids:
        return ()
    # Head rows before conversation rows, in the order every writer takes them.
    conn.execute(
        select(H.c.branch)
        .where(H.c.conversation_id.in_(cids))
        .order_by(H.c.conversation_id, H.c.branch)
        .with_for_update()
    ).all()
    locked = select(C.c.id).where(C.c.id.in_(cids), C.c.tenant == tenant)
    conn.execute(locked.order_by(C.c.id).with_for_update()).all()
    still = tuple(
        conn.scalars(_matching(conn, tenant, rule).where(and_(C.c.id.in_(cids))))
    )
    if still:
        _erase_rows(conn, still)
    return still

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

from convo.store._args import check_key, usage
from convo.store._statements import (
    _ID,
    BLOBS,
    CONVERSATIONS,
    HEADS,
    TURNS,
    _lock_heads,
    _not_found,
)

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
        select(CONVERSATIONS.c.id)
        .where(CONVERSATIONS.c.id == cid, CONVERSATIONS.c.tenant == tenant)
        .with_for_update()
    ).first()
    if found is None:
        raise _not_found("conversation", cid)
    _erase_rows(conn, [cid])


def _erase_rows(conn: Connection, cids: Sequence[str]) -> None:
    # Children first: foreign keys hold at every statement on both databases.
    conn.execute(delete(HEADS).where(HEADS.c.conversation_id.in_(cids)))
    conn.execute(delete(TURNS).where(TURNS.c.conversation_id.in_(cids)))
    conn.execute(delete(BLOBS).where(BLOBS.c.conversation_id.in_(cids)))
    conn.execute(delete(CONVERSATIONS).where(CONVERSATIONS.c.id.in_(cids)))


def _group_key(conn: Connection, key: str) -> Any:
    """The metadata value of `key` as text (NULL when absent or the row is damaged)."""
    raw = type_coerce(CONVERSATIONS.c.metadata, Text)
    if conn.dialect.name == "sqlite":
        return case(
            (
                func.json_valid(raw),
                func.json_extract(raw, literal("$." + _quoted(key))),
            ),
            else_=None,
        )
    return CONVERSATIONS.c.metadata[key].as_string()


def _quoted(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _matching(conn: Connection, tenant: str, rule: Rule) -> Any:
    """A select of the ids the rule removes (without order or limit)."""
    parts = []
    if rule.idle_before is not None:
        parts.append(CONVERSATIONS.c.updated_at < rule.idle_before)
    if rule.keep_latest is not None:
        partition = [CONVERSATIONS.c.tenant]
        if rule.per_key is not None:
            partition.append(_group_key(conn, rule.per_key))
        ranked = (
            select(
                CONVERSATIONS.c.id,
                func.row_number()
                .over(
                    partition_by=partition,
                    order_by=(
                        CONVERSATIONS.c.created_at.desc(),
                        CONVERSATIONS.c.id.desc(),
                    ),
                )
                .label("rank"),
            )
            .where(
                CONVERSATIONS.c.tenant == tenant, CONVERSATIONS.c.deleted_at.is_(None)
            )
            .subquery("convo_ranked")
        )
        parts.append(
            CONVERSATIONS.c.id.in_(
                select(ranked.c.id).where(ranked.c.rank > rule.keep_latest)
            )
        )
    return select(CONVERSATIONS.c.id).where(
        CONVERSATIONS.c.tenant == tenant, or_(*parts)
    )


def check_rule(rule: Rule) -> Rule:
    """`rule` if it names something to remove, with sane values."""
    if rule.idle_before is None and rule.keep_latest is None:
        raise usage(
            "prune needs idle= and/or keep_latest= (it would remove nothing)",
            "prune",
            "<neither>",
            "Pass idle=, keep_latest= or both.",
        )
    keep: object = rule.keep_latest
    if keep is not None and (
        not isinstance(keep, int) or isinstance(keep, bool) or not 0 <= keep < 2**31
    ):
        raise usage(
            "keep_latest must be a non-negative int (below 2**31)",
            "keep_latest",
            keep if isinstance(keep, str) else repr(keep)[:40],
            "Pass how many conversations to keep.",
        )
    if rule.per_key is not None:
        check_key(rule.per_key, what="metadata key", where="per_key", limit=200)
        if rule.keep_latest is None:
            raise usage(
                "per_key needs keep_latest= (it groups the conversations kept)",
                "per_key",
                rule.per_key,
                "Pass keep_latest= too.",
            )
    return rule


def prune_candidates(
    conn: Connection, *, tenant: str, rule: Rule, after: str | None, limit: int
) -> tuple[str, ...]:
    """Up to `limit` ids the rule removes, in id order, after the id `after`."""
    stmt = _matching(conn, tenant, rule)
    if after is not None:
        stmt = stmt.where(CONVERSATIONS.c.id > after)
    return tuple(conn.scalars(stmt.order_by(CONVERSATIONS.c.id).limit(limit)))


def erase_many(
    conn: Connection, *, tenant: str, rule: Rule, cids: Sequence[str]
) -> tuple[str, ...]:
    """Erase those of `cids` the rule still removes, under the lock; the ids erased."""
    if not cids:
        return ()
    # Head rows before conversation rows, in the order every writer takes them.
    conn.execute(
        select(HEADS.c.branch)
        .where(HEADS.c.conversation_id.in_(cids))
        .order_by(HEADS.c.conversation_id, HEADS.c.branch)
        .with_for_update()
    ).all()
    locked = select(CONVERSATIONS.c.id).where(
        CONVERSATIONS.c.id.in_(cids), CONVERSATIONS.c.tenant == tenant
    )
    conn.execute(locked.order_by(CONVERSATIONS.c.id).with_for_update()).all()
    still = tuple(
        conn.scalars(
            _matching(conn, tenant, rule).where(and_(CONVERSATIONS.c.id.in_(cids)))
        )
    )
    if still:
        _erase_rows(conn, still)
    return still

"""Changing what a conversation is, beside its turns: title, metadata and branches.

Same rules as `_statements` (tenant predicate everywhere, head rows locked
before the conversation row, the delete fence checked under the lock):
- title and metadata move together by compare-and-set on the conversation's
  `version`, like heads on theirs: a stale writer gets `ConflictError` and
  nothing is written;
- a branch is deleted or renamed under its head row's lock; the active branch
  (and so the last one) cannot be deleted. The turns only a deleted branch
  reached are kept: turns are immutable history, `load_graph` and `export`
  still show them, a fork at one of their ids still works, and `erase`
  removes them with the conversation.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, select, update

from convo._json import check_text
from convo.errors import ConflictError, InvalidConversationError
from convo.store._args import check_branch, usage
from convo.store._mapper import metadata_plain
from convo.store._statements import (
    CONVERSATIONS,
    HEADS,
    _conversation,
    _id_form,
    _not_found,
    _one_head,
    now,
)

__all__ = ["UNSET", "Unset", "delete_branch", "rename_branch", "update_conversation"]


class Unset(enum.Enum):
    """The marker of an attribute an update leaves as it is."""

    UNSET = "unset"


UNSET = Unset.UNSET


def update_conversation(
    conn: Connection,
    *,
    tenant: str,
    cid: str,
    title: object,
    metadata: Mapping[str, Any] | Unset,
    expected_version: object,
) -> int:
    """Set title and/or metadata if the version is still `expected_version`; the new version."""
    if not isinstance(expected_version, int) or isinstance(expected_version, bool):
        raise usage(
            "expected_version must be an int",
            "expected_version",
            expected_version,
            "Pass the version info() returned.",
        )
    values: dict[str, Any] = {}
    if title is not UNSET:
        if title is not None:
            if not isinstance(title, str):
                raise usage(
                    "title must be a str or None", "title", title, "Pass a str."
                )
            check_text(title, path="$.title")
        values["title"] = title
    if metadata is not UNSET:
        values["metadata"] = metadata_plain(metadata)
    _conversation(conn, tenant, cid, lock=True)
    current = conn.execute(
        select(CONVERSATIONS.c.version).where(CONVERSATIONS.c.id == cid)
    ).scalar_one()
    if current != expected_version:
        raise ConflictError(
            "The conversation's title or metadata changed since it was read; "
            "nothing was written",
            expected=expected_version,
            actual=current,
            received=f"version {current} (expected {expected_version})",
            fix="Read info() again and apply the change to what it shows.",
        )
    if not values:
        return int(current)
    conn.execute(
        update(CONVERSATIONS)
        .where(CONVERSATIONS.c.id == cid)
        .values(version=current + 1, updated_at=now(), **values)
    )
    return int(current) + 1


def _locked_head(conn: Connection, tenant: str, cid: str, name: str) -> Any:
    """Lock branch `name`'s head row, then the conversation row; both rows."""
    _id_form(cid)
    head = conn.execute(
        select(HEADS.c.turn_id, HEADS.c.version)
        .join(CONVERSATIONS, CONVERSATIONS.c.id == HEADS.c.conversation_id)
        .where(
            HEADS.c.conversation_id == cid,
            HEADS.c.branch == name,
            CONVERSATIONS.c.tenant == tenant,
            CONVERSATIONS.c.deleted_at.is_(None),
        )
        .with_for_update(of=HEADS)
    ).first()
    row = _conversation(conn, tenant, cid, lock=True)
    if head is None:
        raise _not_found("branch", name)
    return head, row


def delete_branch(conn: Connection, *, tenant: str, cid: str, name: str) -> None:
    """Remove branch `name` (never the active one); its turns stay stored."""
    check_branch(name, where="name")
    _, row = _locked_head(conn, tenant, cid, name)
    if row.active_branch == name:
        raise InvalidConversationError(
            f"Branch {name!r} is the active branch and cannot be deleted",
            path="name",
            received=name,
            fix="Switch to another branch first; a conversation keeps at "
            "least one branch.",
        )
    conn.execute(
        delete(HEADS).where(HEADS.c.conversation_id == cid, HEADS.c.branch == name)
    )
    conn.execute(
        update(CONVERSATIONS).where(CONVERSATIONS.c.id == cid).values(updated_at=now())
    )


def rename_branch(
    conn: Connection, *, tenant: str, cid: str, name: str, new_name: str
) -> None:
    """Give branch `name` the name `new_name` (which must be free); head and version stay."""
    check_branch(name, where="name")
    check_branch(new_name, where="new_name")
    _, row = _locked_head(conn, tenant, cid, name)
    if new_name == name:
        return
    taken = _one_head(conn, cid, new_name)
    if taken is not None:
        raise ConflictError(
            f"A branch named {new_name!r} exists already",
            expected=None,
            actual=taken.turn_id,
            where="new_name",
            received=new_name,
            fix="Pick another name, or delete that branch first.",
        )
    conn.execute(
        update(HEADS)
        .where(HEADS.c.conversation_id == cid, HEADS.c.branch == name)
        .values(branch=new_name)
    )
    extra = {"active_branch": new_name} if row.active_branch == name else {}
    conn.execute(
        update(CONVERSATIONS)
        .where(CONVERSATIONS.c.id == cid)
        .values(updated_at=now(), **extra)
    )

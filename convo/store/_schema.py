"""The tables of the store, as private typed SQLAlchemy rows.

Every table is named `convo_*` (the store shares a database with its host
application) and every constraint gets a deterministic name from the naming
convention, so migrations and SQLite batch mode can refer to it.

Invariants: turns are immutable and keyed by `(conversation_id, id)` where `id`
is the turn's content hash; branch heads are the only mutable rows and carry a
`version` bumped by every compare-and-set; image bytes live in `convo_blobs`,
keyed by their SHA-256, so listing and loading metadata never drag them along.
Domain values are never mapped here: `_mapper` converts rows to values.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["HEAD", "Base", "BlobRow", "ConversationRow", "HeadRow", "TurnRow"]

HEAD = "0002"
"""The newest revision this convo knows (a test checks it against the scripts)."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64
"""Conversation ids, tenants and branch names fit in this many characters (ids are 35)."""
TURN_ID_LENGTH = 67
"""`b2:` plus 64 hex digits."""


USAGE_KINDS = ("input", "cache_read", "cache_write", "output", "reasoning")
"""The ledger's token kinds, in the order `Usage` totals report them."""


def _tokens() -> Mapped[int]:
    return mapped_column(BigInteger, server_default=text("0"))


class Base(DeclarativeBase):
    """The declarative base of convo's rows (its own metadata, never the host's)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON}  # noqa: RUF012 - SQLAlchemy's API


class ConversationRow(Base):
    """One conversation of one tenant; `deleted_at` set means it is fenced off."""

    __tablename__ = "convo_conversations"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(ID_LENGTH))
    title: Mapped[str | None] = mapped_column(Text)
    # JSON (not JSONB) on PostgreSQL: the application's metadata comes back as written.
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    active_branch: Mapped[str] = mapped_column(String(200))
    # How many turns are stored; the next turn's `seq`. Bumped under the row lock.
    turn_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime())
    # A tombstone rather than a missing row: a writer that loaded before the
    # delete finds the fence under its row lock and writes nothing.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    # Bumped by every change of title or metadata (compare-and-set, like heads).
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    # The usage ledger: sums over every stored turn, kept in the append transaction.
    input_tokens: Mapped[int] = _tokens()
    cache_read_tokens: Mapped[int] = _tokens()
    cache_write_tokens: Mapped[int] = _tokens()
    output_tokens: Mapped[int] = _tokens()
    reasoning_tokens: Mapped[int] = _tokens()

    __table_args__ = (
        Index("ix_convo_conversations_tenant_created", "tenant", "created_at", "id"),
        Index("ix_convo_conversations_tenant_updated", "tenant", "updated_at", "id"),
    )


class TurnRow(Base):
    """One immutable turn: canonical JSON with image bytes replaced by blob references."""

    __tablename__ = "convo_turns"

    conversation_id: Mapped[str] = mapped_column(
        String(ID_LENGTH),
        ForeignKey("convo_conversations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    id: Mapped[str] = mapped_column(String(TURN_ID_LENGTH), primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(String(TURN_ID_LENGTH))
    role: Mapped[str] = mapped_column(String(16))
    depth: Mapped[int] = mapped_column(Integer)
    # Insertion order within the conversation: children load in the order added.
    seq: Mapped[int] = mapped_column(Integer)
    # Text, not JSON/JSONB: the canonical bytes must come back byte for byte.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime())
    # What search matches: the text a person wrote or read, lower-cased.
    search_text: Mapped[str] = mapped_column(Text, server_default=text("''"))
    # The ledger of the path ending here (this turn and its ancestors): a
    # branch's usage is its head's row, so forks and renames cost nothing.
    path_input_tokens: Mapped[int] = _tokens()
    path_cache_read_tokens: Mapped[int] = _tokens()
    path_cache_write_tokens: Mapped[int] = _tokens()
    path_output_tokens: Mapped[int] = _tokens()
    path_reasoning_tokens: Mapped[int] = _tokens()

    __table_args__ = (
        ForeignKeyConstraint(
            ["conversation_id", "parent_id"],
            ["convo_turns.conversation_id", "convo_turns.id"],
            name="fk_convo_turns_parent_convo_turns",
            ondelete="CASCADE",
        ),
        Index("ix_convo_turns_parent", "conversation_id", "parent_id"),
    )


class HeadRow(Base):
    """A branch head: the only mutable row, moved by compare-and-set on `version`."""

    __tablename__ = "convo_heads"

    conversation_id: Mapped[str] = mapped_column(
        String(ID_LENGTH),
        ForeignKey("convo_conversations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    branch: Mapped[str] = mapped_column(String(200), primary_key=True)
    turn_id: Mapped[str | None] = mapped_column(String(TURN_ID_LENGTH))
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        ForeignKeyConstraint(
            ["conversation_id", "turn_id"],
            ["convo_turns.conversation_id", "convo_turns.id"],
            name="fk_convo_heads_turn_convo_turns",
            ondelete="CASCADE",
        ),
    )


class BlobRow(Base):
    """Large binary content (image bytes), content-addressed within a conversation."""

    __tablename__ = "convo_blobs"

    conversation_id: Mapped[str] = mapped_column(
        String(ID_LENGTH),
        ForeignKey("convo_conversations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)

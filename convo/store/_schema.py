"""The tables of the store, declared with SQLAlchemy Core.

Every table is named `convo_*` (the store shares a database with its host
application) and every constraint gets a deterministic name from the naming
convention, so migrations and SQLite batch mode can refer to it.

Invariants: turns are immutable and keyed by `(conversation_id, id)` where `id`
is the turn's content hash; branch heads are the only mutable rows and carry a
`version` bumped by every compare-and-set; image bytes live in `convo_blobs`,
keyed by their SHA-256, so listing and loading metadata never drag them along.
Core tables, not ORM classes: nothing on the `import convo.store` path imports
`sqlalchemy.orm` (issue 18's import bound), and domain values are never mapped
here: `_mapper` converts rows to values.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

__all__ = ["BLOBS", "CONVERSATIONS", "HEAD", "HEADS", "METADATA", "TURNS"]

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

METADATA = MetaData(naming_convention=NAMING_CONVENTION)
"""convo's own metadata, never the host's (migrations compare against it)."""


def _tokens(prefix: str) -> list[Column[int]]:
    """One ledger column per token kind, each defaulting to 0 in the database."""
    return [
        Column(
            f"{prefix}{kind}_tokens",
            BigInteger,
            nullable=False,
            server_default=text("0"),
        )
        for kind in USAGE_KINDS
    ]


def _conversation_id() -> Column[str]:
    """The owning conversation: part of the key, gone with the conversation."""
    return Column(
        "conversation_id",
        String(ID_LENGTH),
        ForeignKey("convo_conversations.id", ondelete="CASCADE"),
        primary_key=True,
    )


CONVERSATIONS = Table(
    "convo_conversations",
    METADATA,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("tenant", String(ID_LENGTH), nullable=False),
    Column("title", Text, nullable=True),
    # JSON (not JSONB) on PostgreSQL: the application's metadata comes back as written.
    Column("metadata", JSON, nullable=False),
    Column("active_branch", String(200), nullable=False),
    # How many turns are stored; the next turn's `seq`. Bumped under the row lock.
    Column("turn_count", Integer, nullable=False),
    Column("created_at", DateTime(), nullable=False),
    Column("updated_at", DateTime(), nullable=False),
    # A tombstone rather than a missing row: a writer that loaded before the
    # delete finds the fence under its row lock and writes nothing.
    Column("deleted_at", DateTime(), nullable=True),
    # Bumped by every change of title or metadata (compare-and-set, like heads).
    Column("version", Integer, nullable=False, server_default=text("1")),
    # The usage ledger: sums over every stored turn, kept in the append transaction.
    *_tokens(""),
    Index("ix_convo_conversations_tenant_created", "tenant", "created_at", "id"),
    Index("ix_convo_conversations_tenant_updated", "tenant", "updated_at", "id"),
)
"""One conversation of one tenant; `deleted_at` set means it is fenced off."""

TURNS = Table(
    "convo_turns",
    METADATA,
    _conversation_id(),
    Column("id", String(TURN_ID_LENGTH), primary_key=True),
    Column("parent_id", String(TURN_ID_LENGTH), nullable=True),
    Column("role", String(16), nullable=False),
    Column("depth", Integer, nullable=False),
    # Insertion order within the conversation: children load in the order added.
    Column("seq", Integer, nullable=False),
    # Text, not JSON/JSONB: the canonical bytes must come back byte for byte.
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(), nullable=False),
    # What search matches: the text a person wrote or read, lower-cased.
    Column("search_text", Text, nullable=False, server_default=text("''")),
    # The ledger of the path ending here (this turn and its ancestors): a
    # branch's usage is its head's row, so forks and renames cost nothing.
    *_tokens("path_"),
    ForeignKeyConstraint(
        ["conversation_id", "parent_id"],
        ["convo_turns.conversation_id", "convo_turns.id"],
        name="fk_convo_turns_parent_convo_turns",
        ondelete="CASCADE",
    ),
    Index("ix_convo_turns_parent", "conversation_id", "parent_id"),
)
"""One immutable turn: canonical JSON with image bytes replaced by blob references."""

HEADS = Table(
    "convo_heads",
    METADATA,
    _conversation_id(),
    Column("branch", String(200), primary_key=True),
    Column("turn_id", String(TURN_ID_LENGTH), nullable=True),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(
        ["conversation_id", "turn_id"],
        ["convo_turns.conversation_id", "convo_turns.id"],
        name="fk_convo_heads_turn_convo_turns",
        ondelete="CASCADE",
    ),
)
"""A branch head: the only mutable row, moved by compare-and-set on `version`."""

BLOBS = Table(
    "convo_blobs",
    METADATA,
    _conversation_id(),
    Column("sha256", String(64), primary_key=True),
    Column("media_type", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
)
"""Large binary content (image bytes), content-addressed within a conversation."""

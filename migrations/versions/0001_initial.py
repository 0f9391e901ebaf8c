"""Initial convo schema: conversations, turns, branch heads and blobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the four convo tables."""
    op.create_table(
        "convo_conversations",
        sa.Column("id", sa.String(length=64), nullable=False),
        # The tenant scopes every query; another tenant's id looks missing.
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        # JSON, not JSONB: application metadata comes back as written.
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("active_branch", sa.String(length=200), nullable=False),
        # Next turn's seq; bumped under the conversation's row lock.
        sa.Column("turn_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        # The delete fence: set means gone, and late writers find it under the lock.
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_convo_conversations")),
    )
    with op.batch_alter_table("convo_conversations") as batch:
        batch.create_index(
            "ix_convo_conversations_tenant_created",
            ["tenant", "created_at", "id"],
            unique=False,
        )
    op.create_table(
        "convo_turns",
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        # The turn's content id (b2: + blake2b of parent and canonical turn).
        sa.Column("id", sa.String(length=67), nullable=False),
        sa.Column("parent_id", sa.String(length=67), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        # Canonical JSON text (images replaced by blob references), byte-exact.
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["convo_conversations.id"],
            name=op.f("fk_convo_turns_conversation_id_convo_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id", "parent_id"],
            ["convo_turns.conversation_id", "convo_turns.id"],
            name="fk_convo_turns_parent_convo_turns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "id", name=op.f("pk_convo_turns")),
    )
    with op.batch_alter_table("convo_turns") as batch:
        batch.create_index(
            "ix_convo_turns_parent", ["conversation_id", "parent_id"], unique=False
        )
    op.create_table(
        "convo_heads",
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("branch", sa.String(length=200), nullable=False),
        sa.Column("turn_id", sa.String(length=67), nullable=True),
        # Compare-and-set: every move of the head bumps it.
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["convo_conversations.id"],
            name=op.f("fk_convo_heads_conversation_id_convo_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id", "turn_id"],
            ["convo_turns.conversation_id", "convo_turns.id"],
            name="fk_convo_heads_turn_convo_turns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "conversation_id", "branch", name=op.f("pk_convo_heads")
        ),
    )
    op.create_table(
        "convo_blobs",
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["convo_conversations.id"],
            name=op.f("fk_convo_blobs_conversation_id_convo_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "conversation_id", "sha256", name=op.f("pk_convo_blobs")
        ),
    )


def downgrade() -> None:
    """Drop the four convo tables (and every stored conversation with them)."""
    op.drop_table("convo_blobs")
    op.drop_table("convo_heads")
    with op.batch_alter_table("convo_turns") as batch:
        batch.drop_index("ix_convo_turns_parent")
    op.drop_table("convo_turns")
    with op.batch_alter_table("convo_conversations") as batch:
        batch.drop_index("ix_convo_conversations_tenant_created")
    op.drop_table("convo_conversations")

"""Usage ledger, search text, attribute version and an index for retention.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

Adds, with defaults so existing rows stay valid:
- `convo_conversations`: `version` (compare-and-set of title and metadata), the
  five ledger sums, and an index on `(tenant, updated_at, id)` for pruning;
- `convo_turns`: `search_text` and the five ledger sums of the turn's path.
Then fills them from the stored payloads (plain JSON, read here and nowhere
else, so this script does not change when convo's code does). The whole step
runs in the migrator's one transaction: killed anywhere, it leaves 0001 intact.
The downgrade drops them again, column by column (no batch copy on SQLite:
see `downgrade`). On SQLite the migrator takes an online backup of the file
before either direction (see `convo.store._migrate`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("input", "cache_read", "cache_write", "output", "reasoning")
_USAGE_KEYS = (
    "prompt_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
)


def _tokens(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default=sa.text("0"))


def upgrade() -> None:
    """Add the columns and the index, then fill them from the stored turns."""
    op.add_column(
        "convo_conversations",
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )
    for kind in _KINDS:
        op.add_column("convo_conversations", _tokens(f"{kind}_tokens"))
    op.add_column(
        "convo_turns",
        sa.Column(
            "search_text", sa.Text(), nullable=False, server_default=sa.text("''")
        ),
    )
    for kind in _KINDS:
        op.add_column("convo_turns", _tokens(f"path_{kind}_tokens"))
    op.create_index(
        "ix_convo_conversations_tenant_updated",
        "convo_conversations",
        ["tenant", "updated_at", "id"],
        unique=False,
    )
    _backfill(op.get_bind())


def downgrade() -> None:
    """Drop what `upgrade` added (the ledger and search text are derived data).

    On SQLite each column goes with `ALTER TABLE ... DROP COLUMN` (SQLite 3.35+),
    never a batch copy: dropping the old copy of `convo_conversations` with
    foreign keys on would cascade into every head and turn row.
    """
    op.drop_index(
        "ix_convo_conversations_tenant_updated", table_name="convo_conversations"
    )
    for kind in reversed(_KINDS):
        _drop("convo_turns", f"path_{kind}_tokens")
    _drop("convo_turns", "search_text")
    for kind in reversed(_KINDS):
        _drop("convo_conversations", f"{kind}_tokens")
    _drop("convo_conversations", "version")


def _drop(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text(f'ALTER TABLE "{table}" DROP COLUMN "{column}"'))
    else:
        op.drop_column(table, column)


# ----------------------------------------------------------------- the backfill

_meta = sa.MetaData()
_turns = sa.Table(
    "convo_turns",
    _meta,
    sa.Column("conversation_id", sa.String(64)),
    sa.Column("id", sa.String(67)),
    sa.Column("parent_id", sa.String(67)),
    sa.Column("depth", sa.Integer()),
    sa.Column("payload", sa.Text()),
    sa.Column("search_text", sa.Text()),
    *(sa.Column(f"path_{kind}_tokens", sa.BigInteger()) for kind in _KINDS),
)
_conversations = sa.Table(
    "convo_conversations",
    _meta,
    sa.Column("id", sa.String(64)),
    *(sa.Column(f"{kind}_tokens", sa.BigInteger()) for kind in _KINDS),
)


def _backfill(conn: sa.Connection) -> None:
    cids = conn.scalars(sa.select(_turns.c.conversation_id).distinct()).all()
    for cid in cids:
        rows = conn.execute(
            sa.select(_turns.c.id, _turns.c.parent_id, _turns.c.payload)
            .where(_turns.c.conversation_id == cid)
            .order_by(_turns.c.depth)
        ).all()
        path: dict[str, tuple[int, ...]] = {}
        total = [0] * len(_KINDS)
        updates: list[dict[str, Any]] = []
        for row in rows:
            plain = _plain(row.payload)
            own = _usage(plain)
            above = path.get(row.parent_id or "", (0,) * len(_KINDS))
            mine = tuple(a + b for a, b in zip(above, own, strict=True))
            path[row.id] = mine
            total = [a + b for a, b in zip(total, own, strict=True)]
            values = {f"p_{kind}": v for kind, v in zip(_KINDS, mine, strict=True)}
            updates.append(
                {"b_cid": cid, "b_id": row.id, "b_text": _text(plain), **values}
            )
        if updates:
            conn.execute(
                sa.update(_turns)
                .where(
                    _turns.c.conversation_id == sa.bindparam("b_cid"),
                    _turns.c.id == sa.bindparam("b_id"),
                )
                .values(
                    search_text=sa.bindparam("b_text"),
                    **{
                        f"path_{kind}_tokens": sa.bindparam(f"p_{kind}")
                        for kind in _KINDS
                    },
                ),
                updates,
            )
        conn.execute(
            sa.update(_conversations)
            .where(_conversations.c.id == cid)
            .values(**{f"{k}_tokens": v for k, v in zip(_KINDS, total, strict=True)})
        )


def _plain(payload: object) -> dict[str, Any]:
    """The stored turn as JSON ({} for a row that does not parse: load reports it)."""
    try:
        plain = json.loads(payload) if isinstance(payload, str) else None
    except (ValueError, RecursionError):
        return {}
    return plain if isinstance(plain, dict) else {}


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _usage(plain: dict[str, Any]) -> tuple[int, ...]:
    usage = plain.get("usage")
    if not isinstance(usage, dict):
        return (0,) * len(_KINDS)
    return tuple(max(_count(usage.get(key)), 0) for key in _USAGE_KEYS)


def _text(plain: dict[str, Any]) -> str:
    """Text a person wrote or read, as `convo.store._ledger.search_text` takes it."""
    pieces: list[str] = []
    blocks = plain.get("blocks")
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "reasoning":
            parts = block.get("parts")
            pieces.append(
                "".join(
                    p["text"]
                    for p in (parts if isinstance(parts, list) else [])
                    if isinstance(p, dict)
                    and p.get("type") == "summary_text"
                    and isinstance(p.get("text"), str)
                )
            )
        elif kind == "tool_call":
            pieces.extend(
                v
                for v in (block.get("name"), block.get("arguments", "{}"))
                if isinstance(v, str)
            )
        elif kind == "tool_result":
            content = block.get("content")
            if isinstance(content, str):
                pieces.append(content)
            elif isinstance(content, list):
                pieces.append(
                    "".join(
                        c["text"]
                        for c in content
                        if isinstance(c, dict)
                        and c.get("type") == "text"
                        and isinstance(c.get("text"), str)
                    )
                )
        elif kind != "image" and isinstance(block.get("text"), str):
            pieces.append(block["text"])
    return "\n".join(p for p in pieces if p).lower()

"""Every writing operation (and the row helpers), written once as a function of a `Connection`.

`Store` runs these inside a transaction on a sync connection; `AsyncStore` runs
the very same functions through `AsyncConnection.run_sync`. There is no second
copy of any statement.

Invariants kept here:
- every statement on a conversation carries the tenant predicate, so another
  tenant's id answers exactly like a missing one (`NotFoundError`);
- every write locks what it changes, head rows first and then the conversation
  row (`FOR UPDATE` on PostgreSQL; SQLite writes hold the database write lock
  from `BEGIN IMMEDIATE`), and checks the delete fence under that lock, so a
  writer that loaded before a delete writes nothing;
- an append locks its head row only if it is still the expected one, so on
  PostgreSQL stale writers fail at once instead of queueing for the lock;
- heads move only by compare-and-set; a stale writer gets `ConflictError` and,
  because the check precedes every insert in the same transaction, nothing is written;
- an append is idempotent by content: a turn whose id (its content after
  `expected_head`) is already on the branch's path, at the head or below it,
  answers that id and writes nothing, so a retry after a lost acknowledgement
  never stores a turn twice, whatever was appended on top meanwhile;
- turns are insert-if-absent by content id (the same id is the same content);
- every writer takes head rows (in name order) before the conversation row, so
  writers never wait on each other in a cycle;
- an append does not re-verify the stored chain below its head: a damaged row
  anywhere on the path (not only the parent) would need the whole path decoded,
  making every append cost the conversation's length. Integrity is enforced
  where data leaves the store instead: `load` recomputes every id and refuses
  a damaged chain (`CorruptRecordError`), with or without turns on top, so a
  damaged row is never served; the appended turn's own id is still exact.

Reads live in `_queries`, under the same rules.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import immutables
from sqlalchemy import (
    Connection,
    delete,
    insert,
    select,
    update,
)

from convo._graph import Conversation, Node, check_turn, not_a_turn
from convo._ids import TurnId, compute_turn_id, is_turn_id
from convo._json import check_text
from convo._turns import Turn
from convo.errors import (
    ConflictError,
    InvalidConversationError,
    NotFoundError,
)
from convo.store._args import check_branch, check_expected_head, check_key
from convo.store._blobs import blobs_for
from convo.store._ledger import search_text, turn_usage
from convo.store._mapper import (
    Blob,
    corrupt,
    decode_payload,
    encode_turn,
    metadata_plain,
)
from convo.store._prepared import (
    _ADD_USAGE,
    _BUMP,
    _CONVERSATION,
    _FIND_TWO,
    _HEADS,
    _LOCK_CONVERSATION,
    _LOCK_HEAD,
    _MOVE_HEAD,
    _ON_PATH,
    LEDGER,
    PATH_LEDGER,
)
from convo.store._schema import BLOBS, CONVERSATIONS, HEADS, TURNS, USAGE_KINDS

__all__ = [
    "append",
    "check_key",
    "create",
    "delete_conversation",
    "fork",
    "new_conversation_id",
    "save",
    "switch",
]

_ID = re.compile(r"cv_[0-9a-f]{32}")

_EMPTY: immutables.Map[str, TurnId | None] = immutables.Map()
_CHUNK = 500


# ----------------------------------------------------------------- helpers


def now() -> dt.datetime:
    """The current UTC time, naive (both databases store it alike)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_conversation_id() -> str:
    """A fresh, unguessable conversation id."""
    return "cv_" + uuid.uuid4().hex


def _not_found(kind: str, key: str) -> NotFoundError:
    return NotFoundError(
        f"No such {kind}",
        kind=kind,
        key=key,
        received=key,
        fix="Check the id, and that it belongs to this store's tenant.",
    )


def _id_form(cid: object) -> str:
    """`cid` if it has the form of a conversation id, else `NotFoundError` (as unknown).

    Checked before a query: a lone surrogate or an int never reaches the driver.
    """
    if not (isinstance(cid, str) and _ID.fullmatch(cid)):
        raise _not_found("conversation", str(cid)[:80])
    return cid


def _conversation(conn: Connection, tenant: str, cid: object, *, lock: bool) -> Any:
    """The live conversation row of this tenant, locked for writing if `lock`."""
    cid = _id_form(cid)
    statement = _LOCK_CONVERSATION if lock else _CONVERSATION
    row = conn.execute(statement, {"c_id": cid, "c_tenant": tenant}).first()
    if row is None:
        raise _not_found("conversation", cid)
    return row


def _heads(conn: Connection, cid: str) -> dict[str, tuple[TurnId | None, int]]:
    rows = conn.execute(_HEADS, {"h_cid": cid})
    return {r.branch: (_tid(r.turn_id), r.version) for r in rows}


def _lock_heads(
    conn: Connection, tenant: str, cid: object
) -> dict[str, tuple[TurnId | None, int]]:
    """Lock every head row of the conversation (in name order) and return them."""
    if not (isinstance(cid, str) and _ID.fullmatch(cid)):
        raise _not_found("conversation", str(cid)[:80])
    rows = conn.execute(
        select(HEADS.c.branch, HEADS.c.turn_id, HEADS.c.version)
        .join(CONVERSATIONS, CONVERSATIONS.c.id == HEADS.c.conversation_id)
        .where(
            HEADS.c.conversation_id == cid,
            CONVERSATIONS.c.tenant == tenant,
            CONVERSATIONS.c.deleted_at.is_(None),
        )
        .order_by(HEADS.c.branch)
        .with_for_update(of=HEADS)
    )
    return {r.branch: (_tid(r.turn_id), r.version) for r in rows}


def _one_head(conn: Connection, cid: str, branch: str) -> Any:
    """The head row of one branch (cid already tenant-checked), or None."""
    return conn.execute(
        select(HEADS.c.turn_id, HEADS.c.version).where(
            HEADS.c.conversation_id == cid, HEADS.c.branch == branch
        )
    ).first()


def _tid(value: str | None) -> TurnId | None:
    return None if value is None else TurnId(value)


def _existing_ids(conn: Connection, cid: str, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found.update(
            conn.scalars(
                select(TURNS.c.id).where(
                    TURNS.c.conversation_id == cid, TURNS.c.id.in_(chunk)
                )
            )
        )
    return found


def _store_blobs(conn: Connection, cid: str, blobs: Iterable[Blob]) -> None:
    wanted = {b.sha256: b for b in blobs}
    if not wanted:
        return
    have = set(
        conn.scalars(
            select(BLOBS.c.sha256).where(
                BLOBS.c.conversation_id == cid, BLOBS.c.sha256.in_(list(wanted))
            )
        )
    )
    rows = [
        {
            "conversation_id": cid,
            "sha256": b.sha256,
            "media_type": b.media_type,
            "data": b.data,
        }
        for sha, b in wanted.items()
        if sha not in have
    ]
    if rows:
        conn.execute(insert(BLOBS), rows)


def _stored_paths(
    conn: Connection, cid: str, ids: Sequence[str]
) -> dict[str, tuple[int, ...]]:
    """The path ledger of stored turns `ids`."""
    found: dict[str, tuple[int, ...]] = {}
    columns = [TURNS.c[name] for name in PATH_LEDGER]
    for start in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            select(TURNS.c.id, *columns).where(
                TURNS.c.conversation_id == cid,
                TURNS.c.id.in_(ids[start : start + _CHUNK]),
            )
        )
        found.update({r[0]: tuple(r[1:]) for r in rows})
    return found


def add_usage(conn: Connection, cid: str, counts: Sequence[int]) -> None:
    """Add `counts` (ledger order) to the conversation's totals (under its row lock)."""
    if any(counts):
        conn.execute(
            _ADD_USAGE,
            {
                "u_cid": cid,
                **{f"u_{n}": c for n, c in zip(LEDGER, counts, strict=True)},
            },
        )


def _insert_nodes(
    conn: Connection,
    cid: str,
    nodes: Sequence[Node],
    *,
    first_seq: int,
    known: Mapping[str, tuple[int, ...]] | None = None,
    ledger: bool = True,
) -> int:
    """Insert `nodes` (parents before children) with their blobs; return how many.

    Each row gets its search text and its path ledger (its parent's plus its
    own usage), and the conversation's ledger grows by the rows' own usage
    (unless `ledger` is False: an append adds it in its `_BUMP`). The path
    ledgers of stored parents are read here, except those `known` already (an
    append read its parent's row anyway).
    """
    if not nodes:
        return 0
    stamp = now()
    rows: list[dict[str, Any]] = []
    blobs: list[Blob] = []
    zero = (0,) * len(USAGE_KINDS)
    paths = dict(known or {})
    batch = {node.id for node in nodes}
    outside = sorted(
        {n.parent for n in nodes if n.parent and n.parent not in batch} - paths.keys()
    )
    paths.update(_stored_paths(conn, cid, outside))
    total = list(zero)
    for i, node in enumerate(nodes):
        stored = encode_turn(node.turn)
        blobs.extend(stored.blobs)
        own = turn_usage(node.turn)
        above = zero if node.parent is None else paths.get(node.parent, zero)
        path = tuple(a + b for a, b in zip(above, own, strict=True))
        paths[node.id] = path
        total = [a + b for a, b in zip(total, own, strict=True)]
        rows.append(
            {
                "conversation_id": cid,
                "id": node.id,
                "parent_id": node.parent,
                "role": node.turn.role,
                "depth": node.depth,
                "seq": first_seq + i,
                "payload": stored.payload,
                "created_at": stamp,
                "search_text": search_text(node.turn),
                **dict(zip(PATH_LEDGER, path, strict=True)),
            }
        )
    _store_blobs(conn, cid, blobs)
    conn.execute(insert(TURNS), rows)
    if ledger:
        add_usage(conn, cid, total)
    return len(rows)


def _touch(conn: Connection, cid: str, *, turn_count: int, **values: Any) -> None:
    conn.execute(
        update(CONVERSATIONS)
        .where(CONVERSATIONS.c.id == cid)
        .values(updated_at=now(), turn_count=turn_count, **values)
    )


# ----------------------------------------------------------------- writing


def create(
    conn: Connection,
    *,
    tenant: str,
    cid: str,
    conversation: Conversation | None,
    title: str | None,
    metadata: Mapping[str, Any] | None,
) -> None:
    """Insert a conversation row and every turn and head of `conversation`."""
    graph = conversation if conversation is not None else Conversation.new()
    if title is not None:
        check_text(title, path="$.title")
    stamp = now()
    conn.execute(
        insert(CONVERSATIONS).values(
            id=cid,
            tenant=tenant,
            title=title,
            metadata=metadata_plain(metadata),
            active_branch=graph.active,
            turn_count=0,
            created_at=stamp,
            updated_at=stamp,
            deleted_at=None,
        )
    )
    count = _insert_nodes(conn, cid, list(graph.walk()), first_seq=0)
    if graph.heads:
        conn.execute(
            insert(HEADS),
            [
                {"conversation_id": cid, "branch": name, "turn_id": head, "version": 1}
                for name, head in graph.heads.items()
            ],
        )
    if count:
        _touch(conn, cid, turn_count=count)


def _missing_nodes(
    conn: Connection, cid: str, graph: Conversation
) -> tuple[list[Node], dict[TurnId, TurnId | None]]:
    """Nodes of `graph` not stored yet (parents first), and per leaf its newest stored ancestor.

    A stored turn's ancestors are all stored (foreign keys), so each walk up
    from a leaf stops at the first stored turn.
    """
    missing: dict[TurnId, Node] = {}
    stored_at: dict[TurnId, TurnId | None] = {}
    known: set[TurnId] = set()
    starts = set(graph.leaves()) | {h for h in graph.heads.values() if h is not None}
    for start in sorted(starts):
        current: TurnId | None = start
        batch: list[TurnId] = []
        boundary: TurnId | None = None
        while current is not None:
            if current in known:
                boundary = current
                break
            if current in missing:
                boundary = None
                break
            batch.append(current)
            current = graph.nodes[current].parent
            if len(batch) >= 64 or current is None or current in known:
                present = _existing_ids(conn, cid, batch)
                cut = next((i for i, t in enumerate(batch) if t in present), None)
                if cut is not None:
                    known.update(batch[cut:])
                    for t in batch[:cut]:
                        missing[t] = graph.nodes[t]
                    boundary = batch[cut]
                    current = None
                    batch = []
                    break
                for t in batch:
                    missing[t] = graph.nodes[t]
                batch = []
        stored_at[start] = boundary
    ordered = sorted(missing.values(), key=lambda n: n.depth)
    return ordered, stored_at


def save(
    conn: Connection,
    *,
    tenant: str,
    cid: str,
    conversation: Conversation,
    expected_heads: Mapping[str, TurnId | None] | None,
) -> None:
    """Store the turns not stored yet and fast-forward every branch head.

    A stored head may only move to a turn whose path runs through it. If it
    moved elsewhere since the caller loaded it (or differs from
    `expected_heads[name]`), `ConflictError` is raised and nothing is written.
    """
    stored = _lock_heads(conn, tenant, cid)
    row = _conversation(conn, tenant, cid, lock=True)
    nodes, _ = _missing_nodes(conn, cid, conversation)
    moves: list[tuple[str, TurnId | None, int]] = []
    fresh: list[tuple[str, TurnId | None]] = []
    for name, head in conversation.heads.items():
        have, version = stored.get(name, (None, 0))
        want = (expected_heads or {}).get(name, have)
        if name in stored and have not in (want, head):
            raise _conflict(name, want, have)
        if name not in stored:
            fresh.append((name, head))
        elif have != head:
            if have is not None and (
                head is None or have not in _path_ids(conversation, head)
            ):
                raise _conflict(name, head, have)
            moves.append((name, head, version))
    count = _insert_nodes(conn, cid, nodes, first_seq=row.turn_count)
    for name, head, version in moves:
        _move_head(conn, cid, name, head, version)
    if fresh:
        conn.execute(
            insert(HEADS),
            [
                {"conversation_id": cid, "branch": n, "turn_id": h, "version": 1}
                for n, h in fresh
            ],
        )
    if count or moves or fresh:
        _touch(conn, cid, turn_count=row.turn_count + count)


def _path_ids(conversation: Conversation, head: TurnId) -> set[TurnId]:
    return {n.id for n in conversation.ancestry(head)}


def _conflict(
    name: str, expected: TurnId | None, actual: TurnId | None
) -> ConflictError:
    return ConflictError(
        f"Branch {name!r} moved since it was loaded; nothing was written",
        expected=expected,
        actual=actual,
        received=f"head {actual} (expected {expected})",
        fix="Load the conversation again and re-apply only what it does "
        "not contain yet.",
    )


def _append_conflict(
    name: str, expected: TurnId | None, actual: TurnId | None
) -> ConflictError:
    """A stale append: the head moved and the turn is not on the branch's path."""
    return ConflictError(
        f"Branch {name!r} moved since it was loaded and the turn is not on it; "
        "nothing was written",
        expected=expected,
        actual=actual,
        received=f"head {actual} (expected {expected})",
        fix="Reload the branch: the turn is not stored on it. Append it after "
        "the new head (the error's .actual) only if it still applies.",
    )


def on_path(conn: Connection, cid: str, turn_id: TurnId, head: TurnId) -> bool:
    """Whether `turn_id` is `head` or one of its ancestors (cid already tenant-checked)."""
    if turn_id == head:
        return True
    found = conn.execute(_ON_PATH, {"cid": cid, "new": turn_id, "head": head}).first()
    return found is not None


def _move_head(
    conn: Connection, cid: str, branch: str, head: TurnId | None, version: int
) -> None:
    result = conn.execute(
        _MOVE_HEAD,
        {
            "b_cid": cid,
            "b_branch": branch,
            "b_version": version,
            "b_head": head,
            "b_next_version": version + 1,
        },
    )
    if result.rowcount != 1:  # only if the lock taken before was not kept
        raise ConflictError(
            f"Branch {branch!r} moved while it was being written; nothing was written",
            expected=head,
            actual=None,
            received=f"head version {version} no longer current",
            fix="Load the conversation again and re-apply only what it does "
            "not contain yet.",
        )


def _check_placement(conn: Connection, cid: str, parent: Any, turn: Turn) -> None:
    """Refuse a turn that could not stand after `parent` (the graph's own checks)."""
    if turn.role != "tool":
        check_turn(turn, where="$.turn", after=None if parent is None else parent.role)
        return
    # A tool turn answers the calls of the assistant turn before its tool
    # session: rebuild that chain and let the graph check the pairing.
    chain: list[Any] = []
    current = None if parent is None else _turn_row(conn, cid, parent.id, payload=True)
    while current is not None:
        chain.append(current)
        if current.role != "tool" or current.parent_id is None:
            break
        current = _turn_row(conn, cid, current.parent_id, payload=True)
    chain.reverse()
    blobs = blobs_for(conn, cid, [r.payload for r in chain])
    builder = Conversation(heads=_EMPTY).builder()
    previous: TurnId | None = None
    try:
        for r in chain:
            turn_in_chain = decode_payload(r.payload, blobs, key=r.id)
            previous = builder.attach(turn_in_chain, parent=previous).id
    except InvalidConversationError as exc:
        raise corrupt("convo_turns", chain[0].id, exc.message) from exc
    builder.attach(turn, parent=previous)


def _turn_row(
    conn: Connection, cid: str, turn_id: str, *, payload: bool = False
) -> Any:
    columns = [TURNS.c.id, TURNS.c.parent_id, TURNS.c.role, TURNS.c.depth]
    if payload:
        columns.append(TURNS.c.payload)
    return conn.execute(
        select(*columns).where(TURNS.c.conversation_id == cid, TURNS.c.id == turn_id)
    ).first()


def _head(conn: Connection, tenant: str, cid: str, branch: str) -> Any:
    """The head row of `branch`, tenant-checked through the conversation row."""
    return conn.execute(
        select(HEADS.c.turn_id, HEADS.c.version)
        .join(CONVERSATIONS, CONVERSATIONS.c.id == HEADS.c.conversation_id)
        .where(
            HEADS.c.conversation_id == cid,
            HEADS.c.branch == branch,
            CONVERSATIONS.c.tenant == tenant,
            CONVERSATIONS.c.deleted_at.is_(None),
        )
    ).first()


def append(
    conn: Connection,
    *,
    tenant: str,
    cid: str,
    turn: object,
    branch: str | None,
    expected_head: TurnId | None,
) -> TurnId:
    """Append `turn` to `branch` (None: the active one) if its head is still `expected_head`.

    Idempotent by content: if the turn's id (after `expected_head`) is already
    on the branch's path, that id is returned and nothing is written. Otherwise
    a moved head raises `ConflictError`, with nothing written.
    """
    if not isinstance(turn, Turn):
        raise not_a_turn(turn)
    check_expected_head(expected_head)
    if branch is None:
        branch = _conversation(conn, tenant, cid, lock=False).active_branch
    check_branch(branch)
    new_id = compute_turn_id(expected_head, turn)
    # Lock the head row only if it is still where the writer expects it. On
    # PostgreSQL a waiting writer re-checks the condition against the winner's
    # committed row, so a stale writer fails at once instead of taking the lock
    # just to find out (every loser would otherwise queue behind every other).
    head = conn.execute(
        _LOCK_HEAD,
        {"cid": cid, "branch": branch, "expected": expected_head, "tenant": tenant},
    ).first()
    if head is None:
        current = _head(conn, tenant, cid, branch)
        if current is None:
            _conversation(conn, tenant, cid, lock=False)  # NotFound: conversation
            raise _not_found("branch", branch)
        actual = _tid(current.turn_id)
        if actual is not None and on_path(conn, cid, new_id, actual):
            # The same append, retried after its commit (perhaps with turns
            # appended on top since): already done, nothing to write.
            return new_id
        raise _append_conflict(branch, expected_head, actual)
    found = {
        r.id: r
        for r in conn.execute(
            _FIND_TWO,
            {"cid": cid, "first": new_id, "second": expected_head or new_id},
        )
    }
    parent = None if expected_head is None else found.get(expected_head)
    if expected_head is not None and parent is None:
        raise corrupt("convo_heads", branch, "the head names no stored turn")
    _check_placement(conn, cid, parent, turn)
    added = 0 if new_id in found else 1
    # Takes the conversation row lock (after the head's: every writer locks
    # heads before the conversation row, so no two writers wait on each other).
    own = turn_usage(turn) if added else (0,) * len(LEDGER)
    total = conn.execute(
        _BUMP,
        {
            "b_cid": cid,
            "b_added": added,
            "b_stamp": now(),
            **{f"b_{name}": n for name, n in zip(LEDGER, own, strict=True)},
        },
    ).scalar_one()
    if added:
        node = Node(
            id=new_id,
            turn=turn,
            parent=expected_head,
            depth=0 if parent is None else parent.depth + 1,
        )
        known: dict[str, tuple[int, ...]] = {}
        if parent is not None:  # its path ledger came with its row
            known[parent.id] = tuple(getattr(parent, name) for name in PATH_LEDGER)
        _insert_nodes(conn, cid, [node], first_seq=total - 1, known=known, ledger=False)
    _move_head(conn, cid, branch, new_id, head.version)
    return new_id


def fork(
    conn: Connection,
    *,
    tenant: str,
    cid: str,
    name: str,
    at: TurnId | None,
    switch: bool,
) -> None:
    """Add branch `name` with head `at`; the same fork again is a no-op."""
    check_branch(name, where="name")
    row = _conversation(conn, tenant, cid, lock=True)
    if at is not None and (not is_turn_id(at) or not _existing_ids(conn, cid, [at])):
        raise _not_found("turn", str(at)[:80])
    # One indexed lookup, whatever the number of branches.
    existing = _one_head(conn, cid, name)
    if existing is not None:
        if existing.turn_id != at:
            raise ConflictError(
                f"A branch named {name!r} exists already with another head",
                expected=at,
                actual=_tid(existing.turn_id),
                received=existing.turn_id,
                fix="Pick another name.",
            )
    else:
        conn.execute(
            insert(HEADS).values(
                conversation_id=cid, branch=name, turn_id=at, version=1
            )
        )
    extra = {"active_branch": name} if switch else {}
    _touch(conn, cid, turn_count=row.turn_count, **extra)


def switch(conn: Connection, *, tenant: str, cid: str, branch: str) -> None:
    """Make `branch` the conversation's active branch."""
    check_branch(branch)
    row = _conversation(conn, tenant, cid, lock=True)
    if _one_head(conn, cid, branch) is None:
        raise _not_found("branch", branch)
    _touch(conn, cid, turn_count=row.turn_count, active_branch=branch)


def delete_conversation(conn: Connection, *, tenant: str, cid: str) -> None:
    """Remove every turn, head and blob and leave a fence that refuses late writers."""
    _lock_heads(conn, tenant, cid)
    _conversation(conn, tenant, cid, lock=True)
    conn.execute(delete(HEADS).where(HEADS.c.conversation_id == cid))
    conn.execute(delete(TURNS).where(TURNS.c.conversation_id == cid))
    conn.execute(delete(BLOBS).where(BLOBS.c.conversation_id == cid))
    stamp = now()
    conn.execute(
        update(CONVERSATIONS)
        .where(CONVERSATIONS.c.id == cid)
        .values(
            title=None, metadata={}, turn_count=0, updated_at=stamp, deleted_at=stamp
        )
    )

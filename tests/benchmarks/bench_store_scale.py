"""Store at scale: fork and branch pages at 10 vs 10,000 branches, info() vs one row, prune.

Run: `.venv/bin/python tests/benchmarks/bench_store_scale.py` (exits 1 if a bound breaks).

Bounds (issue 14), all on a SQLite file, figures from this run:
- a fork, and a page of `branches(limit=10)`, on a conversation with 10,000
  branches cost at most 1.3x the same on one with 10 branches;
- `info()` of a 5,000-turn conversation costs at most 2x a select of its one
  conversation row through the same engine (a pooled connection and a
  transaction, as every store call). Against a bare `sqlite3` select of that
  row it is reported without a bound: SQLAlchemy's connection and statement
  machinery alone costs tens of times a one-row select on SQLite;
- pruning 10,000 idle conversations never holds the write lock longer than
  100 ms at a time (`PruneReport.longest_batch_ms`, reported as a share of it).
Branches and idle conversations are bulk-inserted as rows (what 10,000 forks
or creates would leave), so the set-up stays quick.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


import convo
import convo.store
from convo import Conversation
from convo.store import Store
from convo.store._statements import CONVERSATIONS, HEADS, TURNS, now
from tests.benchmarks._report import Report


def per_call(fn: Callable[[], object], *, calls: int = 200, rounds: int = 7) -> float:
    """Median over rounds of the mean time of one call, in seconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def with_branches(store: Store, count: int) -> tuple[str, str]:
    conversation = Conversation.new().user("hi").assistant("hello")
    cid = store.create(conversation)
    head = conversation.head()
    assert head is not None
    with store.engine.begin() as conn:
        conn.execute(
            insert(HEADS),
            [
                {
                    "conversation_id": cid,
                    "branch": f"b{i:06d}",
                    "turn_id": head,
                    "version": 1,
                }
                for i in range(count - 1)
            ],
        )
    return cid, head


def forks(store: Store, cid: str, head: str) -> float:
    counter = iter(range(10**9))

    def fork() -> None:
        store.fork(cid, f"new-{next(counter)}", at=head)  # type: ignore[arg-type]

    return per_call(fork, calls=50)


def idle_conversations(store: Store, count: int) -> None:
    template = Conversation.new().user("old question").assistant("old answer")
    cid = store.create(template)
    stamp = now() - dt.timedelta(days=90)
    with store.engine.connect() as conn:
        turns = [
            dict(r._mapping)
            for r in conn.execute(TURNS.select().where(TURNS.c.conversation_id == cid))
        ]
    ids = [f"cv_{i:032x}" for i in range(count)]
    with store.engine.begin() as conn:
        conn.execute(
            insert(CONVERSATIONS),
            [
                {
                    "id": c,
                    "tenant": store.tenant,
                    "title": None,
                    "metadata": {},
                    "active_branch": "main",
                    "turn_count": 2,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "deleted_at": None,
                }
                for c in ids
            ],
        )
        conn.execute(
            insert(TURNS),
            [{**t, "conversation_id": c} for c in ids for t in turns],
        )
        conn.execute(
            insert(HEADS),
            [
                {
                    "conversation_id": c,
                    "branch": "main",
                    "turn_id": template.head(),
                    "version": 1,
                }
                for c in ids
            ],
        )


def main() -> int:
    report = Report("store at scale (SQLite file)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.db"
        url = f"sqlite:///{path}"
        convo.store.upgrade(url)
        with Store(url, tenant="bench") as store:
            small, small_head = with_branches(store, 10)
            large, large_head = with_branches(store, 10_000)
            page_small = per_call(lambda: store.branches(small, limit=10))
            page_large = per_call(lambda: store.branches(large, limit=10))
            report.ratio(
                "branches(limit=10): 10,000 / 10 branches",
                page_large / page_small,
                at_most=1.3,
            )
            fork_small = forks(store, small, small_head)
            fork_large = forks(store, large, large_head)
            report.ratio(
                "fork: 10,000 / 10 branches", fork_large / fork_small, at_most=1.3
            )

            long = Conversation.new()
            for i in range(2_500):
                long = long.user(f"question {i}").assistant(f"answer {i}")
            cid = store.create(long)
            raw = sqlite3.connect(path)
            one_row = per_call(
                lambda: raw.execute(
                    "SELECT * FROM convo_conversations WHERE id = ?", (cid,)
                ).fetchall()
            )
            raw.close()

            def row_through_the_engine() -> None:
                with store.engine.connect() as conn, conn.begin():
                    conn.execute(
                        select(CONVERSATIONS).where(CONVERSATIONS.c.id == cid)
                    ).all()

            engine_row = per_call(row_through_the_engine)
            info = per_call(lambda: store.info(cid))
            report.ratio(
                "info() of 5,000 turns / one-row select, same engine",
                info / engine_row,
                at_most=2.0,
            )
            report.ratio(
                "info() of 5,000 turns / raw sqlite3 one-row select", info / one_row
            )

            idle_conversations(store, 10_000)
            started = time.perf_counter()
            pruned = store.prune(idle=dt.timedelta(days=30))
            took = time.perf_counter() - started
            assert (
                len(pruned.conversation_ids) == 10_001 - 1
                or len(pruned.conversation_ids) >= 10_000
            )
            report.ratio(
                "prune 10,000 idle: longest lock hold / 100 ms",
                pruned.longest_batch_ms / 100,
                at_most=1.0,
            )
            print(
                f"  (prune: {len(pruned.conversation_ids)} erased in {pruned.batches} batches, "
                f"{took:.2f} s, longest hold {pruned.longest_batch_ms:.1f} ms; "
                f"fork {fork_small * 1e3:.3f} / {fork_large * 1e3:.3f} ms; "
                f"page {page_small * 1e3:.3f} / {page_large * 1e3:.3f} ms; "
                f"info {info * 1e6:.0f} us vs row {one_row * 1e6:.0f} us)"
            )
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())

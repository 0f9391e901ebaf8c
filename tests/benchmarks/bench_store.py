"""Store benchmark: append and load costs against raw sqlite3 floors, in one run.

Run: `.venv/bin/python tests/benchmarks/bench_store.py` (exits 1 if a bound breaks).

Floors, all timed in this run, on the same kind of file with the same pragmas
(WAL, synchronous, foreign keys) as the store. Appends and their floors run in
interleaved rounds of 200 fresh turns; each ratio is the median over seven
rounds of the ratio within a round, so a noisy neighbour slows both sides alike:

- "one insert": a bare `INSERT` + `COMMIT` of the same payload text into a
  two-column table (issue 5's floor). Reported: see below.
- "the same transaction by hand": the statements convo's append runs
  (`BEGIN IMMEDIATE`, insert the turn, compare-and-set the head, bump the
  conversation, `COMMIT`), on the same schema, from `sqlite3` with the ids and
  payloads computed before the clock starts. What is left over is convo's own
  cost: encoding the turn, hashing its id, the checks, the pooled connection.
- "one insert into convo_turns": the turn row alone, inserted and committed by
  hand into the real table (its keys, its indexes, its foreign keys). Reported:
  it shows that the turn row alone costs more than 2x "one insert".
- "select + json.loads": a bare `SELECT` of a conversation's rows plus
  `json.loads` of each payload (issue 5's load floor), of the 5,000-turn path
  and of a 10-turn one.

Bounds:
- the marginal cost of one append at depth 5,000 is at most 1.3x that at depth 100;
- one append costs at most 2x the same transaction by hand;
- loading a 5,000-turn path again (its turns decoded before: a backend
  serving a conversation on every request) costs at most 2x select + json.loads;
- a fork stores only the new turns.

Reported without a bound, with the reason in the README: an append against
"one insert" (the statements alone, issued by hand, cost well over 2x that
floor: three indexes, two foreign keys and two more rows change per append),
the first load of a path in a process (every row decoded strictly and its
id recomputed, several times the cost of `json.loads`), measured on a store
whose turn cache is off, and loading a 10-turn conversation again, what a
backend does on every request of a short chat (two statements in a pooled
connection's transaction: the per-call cost of SQLAlchemy and the transaction,
not the rows, is most of it).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, func, select

import convo
import convo.store
from convo import Conversation, ReasoningBlock, SummaryText, TextBlock
from convo._ids import TurnId, compute_turn_id
from convo.store import Store
from convo.store._ledger import search_text, turn_usage
from convo.store._mapper import encode_turn
from convo.store._schema import TURNS
from convo.store._sqlite_append import _BUMP, _INSERT, _MOVE_HEAD
from convo.store._statements import now

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks._report import Report

DEPTH_SHALLOW = 100
DEPTH_SHORT = 10
DEPTH_DEEP = 5_000
APPENDS = 200
ROUNDS = 7


def turn_pair(i: int) -> list[convo.Turn]:
    """A realistic exchange: a question, and an answer with signed reasoning."""
    question = convo.user(f"Question {i}: " + "how does this work? " * 20)
    answer = convo.assistant(
        [
            ReasoningBlock(
                parts=(SummaryText(text="Thinking " * 40, signature=f"sig{i}" * 20),)
            ),
            TextBlock(text=f"Answer {i}: " + "it works like this. " * 30),
        ]
    )
    return [question, answer]


def conversation_of(depth: int, salt: str) -> Conversation:
    conversation = Conversation.new().append(convo.system(f"system {salt}"))
    i = 0
    while len(conversation) < depth:
        for turn in turn_pair(i):
            conversation = conversation.append(turn)
        i += 1
    return conversation


class Fresh:
    """Fresh turns for every round: nothing encoded or hashed before the clock starts."""

    def __init__(self) -> None:
        self._next = 10_000

    def batch(self) -> list[convo.Turn]:
        out = [t for i in range(APPENDS // 2) for t in turn_pair(self._next + i)]
        self._next += APPENDS
        return out


def median(fn: Callable[[], float], rounds: int = ROUNDS) -> float:
    return statistics.median(fn() for _ in range(rounds))


def head_of(store: Store, cid: str) -> TurnId | None:
    (main,) = [b for b in store.branches(cid) if b.name == "main"]
    return main.head


def time_appends(store: Store, cid: str, turns: list[convo.Turn]) -> float:
    head = head_of(store, cid)
    started = time.perf_counter()
    for turn in turns:
        head = store.append(cid, turn, expected_head=head)
    return (time.perf_counter() - started) / len(turns)


def connect(path: Path, synchronous: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = WAL", f"synchronous = {synchronous}"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def floor_one_insert(path: Path, payloads: list[str], synchronous: str) -> float:
    """Per-turn cost of a bare INSERT + COMMIT of the same payload text."""
    connection = connect(path, synchronous)
    connection.execute(
        "CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, payload TEXT)"
    )
    started = time.perf_counter()
    for n, payload in enumerate(payloads):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "INSERT INTO t VALUES (?, ?)", (f"{time.perf_counter_ns()}-{n}", payload)
        )
        connection.execute("COMMIT")
    elapsed = (time.perf_counter() - started) / len(payloads)
    connection.close()
    return elapsed


def chain_rows(store: Store, cid: str, turns: list[convo.Turn]) -> list[dict[str, Any]]:
    """The bound rows of convo's append statements for `turns`, computed up front."""
    stamp = (
        DateTime()
        .dialect_impl(store.engine.dialect)
        .bind_processor(store.engine.dialect)
    )
    assert stamp is not None
    head = head_of(store, cid)
    rows = []
    for turn in turns:
        new_id = compute_turn_id(head, turn)
        rows.append(
            {
                "id": new_id,
                "parent": head,
                "role": turn.role,
                "payload": encode_turn(turn).payload,
                "stamp": stamp(now()),
                "cid": cid,
                "tenant": store.tenant,
                "branch": "main",
                "search": search_text(turn),
                **{f"u{i}": count for i, count in enumerate(turn_usage(turn))},
            }
        )
        head = new_id
    return rows


def floor_same_transaction(
    db: Path, rows: list[dict[str, Any]], synchronous: str
) -> float:
    """Per-turn cost of convo's own append statements, issued by hand."""
    connection = connect(db, synchronous)
    started = time.perf_counter()
    for row in rows:
        connection.execute("BEGIN IMMEDIATE")
        assert connection.execute(_INSERT, row).rowcount == 1
        assert connection.execute(_MOVE_HEAD, row).rowcount == 1
        connection.execute(_BUMP, row)
        connection.execute("COMMIT")
    elapsed = (time.perf_counter() - started) / len(rows)
    connection.close()
    return elapsed


def floor_turn_insert(db: Path, rows: list[dict[str, Any]], synchronous: str) -> float:
    """Per-turn cost of inserting and committing just the turn row, by hand."""
    connection = connect(db, synchronous)
    (depth,) = connection.execute(
        "SELECT coalesce(max(depth), -1) FROM convo_turns WHERE conversation_id = ?",
        (rows[0]["cid"],),
    ).fetchone()
    started = time.perf_counter()
    for i, row in enumerate(rows):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "INSERT INTO convo_turns (conversation_id, id, parent_id, role, depth, "
            "seq, payload, created_at) VALUES (:cid, :id, :parent, :role, :depth, "
            ":depth, :payload, :stamp)",
            {**row, "depth": depth + 1 + i},
        )
        connection.execute("COMMIT")
    elapsed = (time.perf_counter() - started) / len(rows)
    connection.close()
    return elapsed


def floor_load(db: Path, cid: str) -> float:
    """A bare sqlite3 SELECT of the same rows plus json.loads of each payload."""
    connection = sqlite3.connect(db)
    started = time.perf_counter()
    select_and_parse(connection, cid)
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def select_and_parse(connection: sqlite3.Connection, cid: str) -> None:
    rows = connection.execute(
        "SELECT id, parent_id, payload FROM convo_turns WHERE conversation_id = ? "
        "ORDER BY depth",
        (cid,),
    ).fetchall()
    for _id, _parent, payload in rows:
        json.loads(payload)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def timed_many(fn: Callable[[], object], calls: int = 200) -> float:
    """Seconds per call of `fn`, over `calls` calls (one call is too short to time)."""
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def turn_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(TURNS)) or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"])
    args = parser.parse_args(argv)
    sync = args.synchronous
    fresh = Fresh()
    report = Report("store")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        url = f"sqlite:///{db}"
        convo.store.upgrade(url)
        with Store(url, synchronous=sync) as store:
            shallow = store.create(conversation_of(DEPTH_SHALLOW, "shallow"))
            deep = store.create(conversation_of(DEPTH_DEEP, "deep"))
            loaded = store.create(conversation_of(DEPTH_DEEP, "loaded"))
            by_hand = store.create(conversation_of(DEPTH_SHALLOW, "by hand"))
            row_only = store.create(conversation_of(DEPTH_SHALLOW, "row only"))
            short = store.create(conversation_of(DEPTH_SHORT, "short"))

            runs: dict[str, Callable[[], float]] = {
                "shallow": lambda: time_appends(store, shallow, fresh.batch()),
                "deep": lambda: time_appends(store, deep, fresh.batch()),
                "one insert": lambda: floor_one_insert(
                    Path(tmp) / "floor.db",
                    [encode_turn(t).payload for t in fresh.batch()],
                    sync,
                ),
                "same transaction": lambda: floor_same_transaction(
                    db, chain_rows(store, by_hand, fresh.batch()), sync
                ),
                "turn insert": lambda: floor_turn_insert(
                    db, chain_rows(store, row_only, fresh.batch()), sync
                ),
            }
            rounds: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(ROUNDS):
                for name, run in runs.items():
                    rounds[name].append(run())
            shallow_cost, deep_cost, one_insert, same_transaction, turn_insert = (
                statistics.median(rounds[name]) for name in runs
            )

            def paired(top: str, bottom: str) -> float:
                """The median of the per-round ratios: each pair ran back to back."""
                return statistics.median(
                    a / b for a, b in zip(rounds[top], rounds[bottom], strict=True)
                )

            def cold_load() -> float:
                # A long-lived store that has not decoded these turns before.
                with Store(url, synchronous=sync, cache_chars=0) as cold:
                    cold.load(shallow)  # a warm connection, as in a running backend
                    return timed(lambda: cold.load(loaded))

            load_cold = median(cold_load)
            store.load(loaded)
            load_again = median(lambda: timed(lambda: store.load(loaded)))
            load_floor = median(lambda: floor_load(db, loaded))
            assert DEPTH_DEEP <= len(store.load(loaded).path()) <= DEPTH_DEEP + 1
            store.load(short)
            short_again = median(lambda: timed_many(lambda: store.load(short)))
            raw = sqlite3.connect(db)  # open throughout, as the store's pooled one
            short_floor = median(
                lambda: timed_many(lambda: select_and_parse(raw, short))
            )
            raw.close()

            before = turn_rows(store)
            at_turn = store.load(shallow).path_ids()[50]
            store.fork(shallow, "fork", at=at_turn)
            after_fork = turn_rows(store)
            store.append(
                shallow,
                convo.user("new on the fork"),
                branch="fork",
                expected_head=at_turn,
            )
            after_append = turn_rows(store)

    print(f"synchronous={sync}")
    for name, seconds in (
        (f"append at depth {DEPTH_SHALLOW}", shallow_cost),
        (f"append at depth {DEPTH_DEEP}", deep_cost),
        ("floor: one insert + commit", one_insert),
        ("floor: the same transaction by hand", same_transaction),
        ("floor: one insert into convo_turns + commit", turn_insert),
    ):
        print(f"  {name:<46} {seconds * 1e6:9.1f} us")
    for name, seconds in (
        (f"load a {DEPTH_DEEP}-turn path, first time", load_cold),
        (f"load a {DEPTH_DEEP}-turn path again", load_again),
        ("floor: select + json.loads", load_floor),
    ):
        print(f"  {name:<46} {seconds * 1e3:9.1f} ms")
    for name, seconds in (
        (f"load a {DEPTH_SHORT}-turn conversation again", short_again),
        ("floor: select + json.loads of its rows", short_floor),
    ):
        print(f"  {name:<46} {seconds * 1e6:9.1f} us")

    report.ratio(
        "append at depth 5000 / depth 100", paired("deep", "shallow"), at_most=1.3
    )
    report.ratio(
        "append / the same transaction by hand",
        paired("shallow", "same transaction"),
        at_most=2,
    )
    report.ratio(
        "append / one insert + commit (issue 5 floor)", paired("shallow", "one insert")
    )
    report.ratio(
        "the same transaction by hand / one insert + commit",
        paired("same transaction", "one insert"),
    )
    report.ratio(
        "one insert into convo_turns by hand / one insert + commit",
        paired("turn insert", "one insert"),
    )
    report.ratio(
        "append / one insert into convo_turns + commit",
        paired("shallow", "turn insert"),
    )
    report.ratio(
        "load 5000-turn path again / select + json.loads",
        load_again / load_floor,
        at_most=2,
    )
    report.ratio(
        "load 5000-turn path, first time / select + json.loads", load_cold / load_floor
    )
    report.ratio(
        "load 10-turn conversation again / select + json.loads",
        short_again / short_floor,
    )
    report.ratio("turn rows a fork stores", float(after_fork - before), at_most=0)
    report.ratio(
        "turn rows one append on the fork stores",
        float(after_append - after_fork),
        at_most=1,
    )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

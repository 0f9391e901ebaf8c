"""Store benchmark: append and load costs against raw sqlite3 floors, in one run.

Run: `.venv/bin/python tests/benchmarks/bench_store.py` (exits 1 if a bound breaks).

Bounds (issue 5):
- the marginal cost of one append at depth 5,000 is at most 1.3x that at depth 100;
- one append costs at most 2x a raw sqlite3 insert + commit of the same bytes;
- loading a 5,000-turn path costs at most 2x a raw select of the same rows + json.loads;
- a fork stores only the new turns.

Floors are measured in the same run, on the same kind of file, with the same
pragmas (WAL, synchronous) as the store. Each measurement is the median of
several rounds.
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

from sqlalchemy import func, select

import convo
import convo.store
from convo import Conversation, ReasoningBlock, SummaryText, TextBlock
from convo.store import Store
from convo.store._mapper import encode_turn
from convo.store._schema import TurnRow

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks._report import Report

DEPTH_SHALLOW = 100
DEPTH_DEEP = 5_000
APPENDS = 200
ROUNDS = 5


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


def median(fn: Callable[[], float], rounds: int = ROUNDS) -> float:
    return statistics.median(fn() for _ in range(rounds))


def time_appends(store: Store, cid: str, turns: list[convo.Turn]) -> float:
    head = _head(store, cid)
    started = time.perf_counter()
    for turn in turns:
        head = store.append(cid, turn, expected_head=head)
    return (time.perf_counter() - started) / len(turns)


def _head(store: Store, cid: str) -> convo.TurnId | None:
    (main,) = [b for b in store.branches(cid) if b.name == "main"]
    return main.head


def raw_floor_append(path: Path, payloads: list[str], synchronous: str) -> float:
    """Per-turn cost of a bare sqlite3 INSERT + COMMIT of the same payload text."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {synchronous}")
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


def raw_floor_load(db: Path, cid: str) -> float:
    """A bare sqlite3 SELECT of the same rows plus json.loads of each payload."""
    connection = sqlite3.connect(db)
    started = time.perf_counter()
    rows = connection.execute(
        "SELECT id, parent_id, payload FROM convo_turns WHERE conversation_id = ? ORDER BY depth",
        (cid,),
    ).fetchall()
    for _id, _parent, payload in rows:
        json.loads(payload)
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"])
    args = parser.parse_args(argv)
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        url = f"sqlite:///{db}"
        convo.store.upgrade(url)
        with Store(url, synchronous=args.synchronous) as store:
            shallow = store.create(conversation_of(DEPTH_SHALLOW, "shallow"))
            deep = store.create(conversation_of(DEPTH_DEEP, "deep"))
            extra = [t for i in range(APPENDS * ROUNDS) for t in turn_pair(10_000 + i)]
            batches = [
                extra[k * APPENDS : (k + 1) * APPENDS] for k in range(ROUNDS * 2)
            ]

            def at(cid: str) -> Callable[[], float]:
                def run() -> float:
                    return time_appends(store, cid, batches.pop())

                return run

            shallow_cost = median(at(shallow))
            deep_cost = median(at(deep))
            payloads = [encode_turn(t).payload for t in extra[:APPENDS]]
            floor_append = median(
                lambda: raw_floor_append(
                    Path(tmp) / "floor.db", payloads, args.synchronous
                )
            )

            load_cost = median(lambda: _timed(lambda: store.load(deep)))
            floor_load = median(lambda: raw_floor_load(db, deep))
            assert len(store.load(deep).path()) >= DEPTH_DEEP

            with store.engine.connect() as conn:
                before = conn.scalar(select(func.count()).select_from(TurnRow))
            graph = store.load(shallow)
            at_turn = graph.path_ids()[50]
            store.fork(shallow, "fork", at=at_turn)
            with store.engine.connect() as conn:
                after_fork = conn.scalar(select(func.count()).select_from(TurnRow))
            store.append(
                shallow,
                convo.user("new on the fork"),
                branch="fork",
                expected_head=at_turn,
            )
            with store.engine.connect() as conn:
                after_append = conn.scalar(select(func.count()).select_from(TurnRow))

    ratios = {
        "append at depth 5000 / depth 100": (deep_cost / shallow_cost, 1.3),
        "append / raw sqlite3 insert+commit": (shallow_cost / floor_append, 2.0),
        "load 5000-turn path / raw select+json.loads": (load_cost / floor_load, 2.0),
    }
    print(f"synchronous={args.synchronous}")
    print(f"append at depth {DEPTH_SHALLOW}: {shallow_cost * 1e6:9.1f} us")
    print(f"append at depth {DEPTH_DEEP}: {deep_cost * 1e6:9.1f} us")
    print(f"raw insert+commit floor: {floor_append * 1e6:9.1f} us")
    print(f"load {DEPTH_DEEP}-turn path: {load_cost * 1e3:9.1f} ms")
    print(f"raw select+json.loads floor: {floor_load * 1e3:9.1f} ms")
    report = Report("store")
    for name, (ratio, bound) in ratios.items():
        report.ratio(name, ratio, at_most=bound)
        verdict = "ok" if ratio <= bound else "BREACH"
        print(f"{name}: {ratio:6.2f}x (bound {bound}x) {verdict}")
        if ratio > bound:
            failures.append(name)
    fork_rows = (after_fork or 0) - (before or 0)
    append_rows = (after_append or 0) - (after_fork or 0)
    print(
        f"fork stored {fork_rows} turn rows; one append on the fork stored {append_rows}"
    )
    report.ratio("turn rows a fork stores", float(fork_rows), at_most=0)
    report.ratio(
        "turn rows one append on the fork stores", float(append_rows), at_most=1
    )
    if fork_rows != 0 or append_rows != 1:
        failures.append("fork stores only new turns")
    report.finish()
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    return 0


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())

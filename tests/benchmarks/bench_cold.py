"""Cold resume (issue 18): open + load, and the first request, each in a fresh process.

Run: `.venv/bin/python tests/benchmarks/bench_cold.py` (exits 1 if a bound breaks).
PostgreSQL figures need `CONVO_TEST_POSTGRES_URL` (skipped, and said so, without it).

The conversation is the issue's realistic one: 5,000 turns, a user turn of
about 200 characters, an answer of about 1 KB of signed reasoning and 500
characters of text, a tool call every fifth answer with a result of about 400
characters. Every figure is timed in its own fresh interpreter (imports done
before the clock starts, since they are reported separately), and each ratio is
the median over rounds of the ratio within a round. On SQLite the clock is the
process's CPU time (`time.process_time`): everything happens in the process,
and on a machine shared by several jobs wall time measured mostly the
neighbours (floors varied 3x between rounds). On PostgreSQL half the work is
the server's, so that clock is wall time. Floors and peers run in the same
rounds:

- floor "select + json.loads": a bare `sqlite3` (or `psycopg`) connection, the
  same `SELECT id, parent_id, payload ... ORDER BY depth` and `json.loads` of
  each payload;
- floor "select, sorted in Python, + json.loads" (SQLite, reported beside the
  bound): the way convo's store reads the rows, `ORDER BY` left out and the
  rows sorted by depth in Python (SQLite, with no index in depth order, would
  copy every payload into a sort tree first). The bound is on the first floor,
  the raw select a trusting peer writes; this one shows what the same trick
  gives a raw reader, so the ratio against it says how much of the gap is
  convo's own work;
- peer "openai-agents SQLiteSession" (stand-in: the package is not installed
  here): its documented layout, one table of JSON items per session, read by
  `SELECT message_data FROM agent_messages WHERE session_id = ? ORDER BY id`
  and `json.loads` per row; its payload is that list of items, serialised with
  `json.dumps` as its client sends it. The items are the chat-completions
  messages convo sends for the same turns.

Bounds:
- cold load (open a `Store`, `load` the 5,000-turn path, every row verified)
  at most 2x select + json.loads, on SQLite and on PostgreSQL;
- resume to first request (open + load + the request body of the default
  policies, encoded) at most the peer's open + load + payload;
- `import convo`, `import convo.store`, `import convo.client` each at most
  150 ms of CPU time in a fresh interpreter (median), printed beside the
  floors `import sqlalchemy` and `import httpx` of the same run;
- peak traced memory of the cold load (tracemalloc) reported in MiB, at most
  26 (the figure before issue 18).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TURNS = 5_000
ROUNDS = 11
IMPORT_ROUNDS = 5
WORDS = "the quick brown fox jumps over the lazy dog while convo keeps state "
MODEL = "databricks-claude-sonnet-4-5"


def realistic(n: int) -> Any:
    """The issue's realistic conversation of `n` turns."""
    from convo import (
        Conversation,
        Provenance,
        ReasoningBlock,
        SummaryText,
        TextBlock,
        ToolCallBlock,
        ToolResultBlock,
        Turn,
    )

    prov = Provenance(provider="anthropic", family="claude", model=MODEL)
    turns = [Turn(role="system", blocks=(TextBlock(text=WORDS * 3),))]
    i = 0
    while len(turns) < n:
        turns.append(Turn(role="user", blocks=(TextBlock(text=f"{i} " + WORDS * 3),)))
        reasoning = ReasoningBlock(
            parts=(SummaryText(text=WORDS * 10, signature="S" * 320 + str(i)),),
            provenance=prov,
        )
        if i % 5 == 4:
            call = ToolCallBlock(id=f"call_{i}", name="lookup", arguments='{"q":"fox"}')
            turns.append(Turn(role="assistant", blocks=(reasoning, call)))
            turns.append(
                Turn(
                    role="tool",
                    blocks=(ToolResultBlock(call_id=call.id, content=WORDS * 6),),
                )
            )
        turns.append(
            Turn(role="assistant", blocks=(reasoning, TextBlock(text=WORDS * 7)))
        )
        i += 1
    conversation = Conversation.new()
    for turn in turns[:n]:
        conversation = conversation.append(turn)
    return conversation


# ----------------------------------------------------------------- children
# Each child prints one JSON line: seconds (and, for memory, bytes).


def _child_floor_sqlite(
    url: str, cid: str, *, sort_in_python: bool = False
) -> dict[str, float]:
    import operator
    import sqlite3

    path = url.removeprefix("sqlite:///")
    started = time.process_time()
    connection = sqlite3.connect(path)
    if sort_in_python:
        rows = sorted(
            connection.execute(
                "SELECT depth, id, parent_id, payload FROM convo_turns "
                "WHERE conversation_id = ?",
                (cid,),
            ).fetchall(),
            key=operator.itemgetter(0),
        )
    else:
        rows = connection.execute(
            "SELECT id, parent_id, payload FROM convo_turns "
            "WHERE conversation_id = ? ORDER BY depth",
            (cid,),
        ).fetchall()
    for row in rows:
        json.loads(row[-1])
    elapsed = time.process_time() - started
    assert len(rows) == TURNS
    return {"seconds": elapsed}


def _child_floor_sqlite_sorted(url: str, cid: str) -> dict[str, float]:
    return _child_floor_sqlite(url, cid, sort_in_python=True)


def _child_floor_postgres(url: str, cid: str) -> dict[str, float]:
    import psycopg

    dsn, schema = _pg_dsn(url)
    started = time.perf_counter()
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            f'SELECT id, parent_id, payload FROM "{schema}".convo_turns '  # noqa: S608
            "WHERE conversation_id = %s ORDER BY depth",
            (cid,),
        ).fetchall()
        for _id, _parent, payload in rows:
            json.loads(payload)
        elapsed = time.perf_counter() - started
    assert len(rows) == TURNS
    return {"seconds": elapsed}


def _child_peer(url: str, cid: str) -> dict[str, float]:
    import sqlite3

    path = url.removeprefix("sqlite:///") + ".agents"
    started = time.process_time()
    connection = sqlite3.connect(path)
    rows = connection.execute(
        "SELECT message_data FROM agent_messages WHERE session_id = ? ORDER BY id",
        (cid,),
    ).fetchall()
    items = [json.loads(data) for (data,) in rows]
    body = json.dumps({"model": MODEL, "messages": items}).encode()
    elapsed = time.process_time() - started
    assert len(items) >= TURNS
    assert body
    return {"seconds": elapsed}


def _import_dialect(url: str) -> None:
    """Import the SQLAlchemy dialect of `url` and its driver, as an engine does on first use.

    Every figure here leaves imports out (they are reported on their own, in
    `import_cost`), as the floors do: they import `sqlite3`, `psycopg` and
    `json` before their clocks start.
    """
    if url.startswith("sqlite"):
        import sqlite3  # noqa: F401 - the driver the dialect imports on first use

        import sqlalchemy.dialects.sqlite.pysqlite
    else:
        import psycopg  # noqa: F401 - the driver the dialect imports on first use
        import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401


def _child_load(url: str, cid: str) -> dict[str, float]:
    from convo.store import Store

    clock = time.process_time if url.startswith("sqlite") else time.perf_counter
    _import_dialect(url)
    started = clock()
    with Store(url) as store:
        conversation = store.load(cid)
        elapsed = clock() - started
    assert len(conversation) == TURNS
    return {"seconds": elapsed}


def _child_resume(url: str, cid: str) -> dict[str, float]:
    from convo import get_target
    from convo._chat._core import prepare
    from convo.store import Store
    from convo.wire.chat import encode_request_bytes

    target = get_target(MODEL)
    _import_dialect(url)
    started = time.process_time()
    with Store(url) as store:
        conversation = store.load(cid)
        view = prepare(conversation, target=target, tools=(), policies=None)
        body = encode_request_bytes(view.turns, target=target)
        elapsed = time.process_time() - started
    assert body
    return {"seconds": elapsed}


def _child_memory(url: str, cid: str) -> dict[str, float]:
    import tracemalloc

    from convo.store import Store

    with Store(url) as store:
        tracemalloc.start()
        conversation = store.load(cid)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert len(conversation) == TURNS
    return {"bytes": float(peak)}


CHILDREN = {
    "floor-sqlite": _child_floor_sqlite,
    "floor-sqlite-sorted": _child_floor_sqlite_sorted,
    "floor-postgres": _child_floor_postgres,
    "peer": _child_peer,
    "load": _child_load,
    "resume": _child_resume,
    "memory": _child_memory,
}


def _pg_dsn(url: str) -> tuple[str, str]:
    """A libpq DSN and the schema from a `postgresql+psycopg://...#schema` URL."""
    base, _, schema = url.partition("#")
    return base.replace("postgresql+psycopg://", "postgresql://"), schema


# ----------------------------------------------------------------- parent


def fresh(kind: str, url: str, cid: str) -> dict[str, float]:
    """Run child `kind` in a fresh interpreter and return what it measured."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, url, cid],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def import_cost(module: str) -> float:
    """CPU seconds of `import <module>` in a fresh interpreter (median of rounds).

    CPU time of the importing process, for the reason given above: wall time
    on this shared machine measures the neighbours too. The interpreter may
    write and read bytecode caches (in a private `PYTHONPYCACHEPREFIX`, warmed
    by one uncounted run), as an installed package always has them: with
    `PYTHONDONTWRITEBYTECODE` set, as on these machines, every import would
    compile convo's sources again and the figure would time the compiler.
    """
    code = (
        "import time; started = time.process_time(); "
        f"import {module}; print(time.process_time() - started)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache

        def run() -> float:
            out = subprocess.run(
                [sys.executable, "-c", code],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            ).stdout
            return float(out.strip())

        run()  # writes the caches
        return statistics.median(run() for _ in range(IMPORT_ROUNDS))


def seed_sqlite(tmp: Path) -> tuple[str, str]:
    import sqlite3

    import convo.store
    from convo.store import Store
    from convo.wire.chat import encode_turn_messages

    url = f"sqlite:///{tmp / 'cold.db'}"
    convo.store.upgrade(url)
    conversation = realistic(TURNS)
    with Store(url) as store:
        cid = store.create(conversation)
    from convo import get_target

    target = get_target(MODEL)
    peer = sqlite3.connect(str(tmp / "cold.db") + ".agents")
    peer.execute(
        "CREATE TABLE agent_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "session_id TEXT NOT NULL, message_data TEXT NOT NULL, "
        "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
    )
    peer.execute(
        "CREATE INDEX idx_agent_messages_session_id ON agent_messages (session_id, id)"
    )
    peer.executemany(
        "INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
        [
            (cid, json.dumps(message))
            for turn in conversation.path()
            for message in encode_turn_messages(turn, target=target)
        ],
    )
    peer.commit()
    peer.close()
    return url, cid


def seed_postgres(base: str) -> tuple[str, str, str]:
    import uuid

    import psycopg

    import convo.store
    from convo.store import Store

    schema = f"bench_cold_{uuid.uuid4().hex[:8]}"
    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{base}?options=-csearch_path%3D{schema}"
    convo.store.upgrade(url)
    with Store(url) as store:
        cid = store.create(realistic(TURNS))
    return url, f"{base}#{schema}", cid


def drop_postgres(base: str, schema: str) -> None:
    import psycopg

    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> int:
    from tests.benchmarks._report import Report

    report = Report("cold")
    with tempfile.TemporaryDirectory() as tmp:
        url, cid = seed_sqlite(Path(tmp))
        rounds: dict[str, list[float]] = {
            "floor": [],
            "sorted": [],
            "load": [],
            "peer": [],
            "resume": [],
        }
        for _ in range(ROUNDS):
            rounds["floor"].append(fresh("floor-sqlite", url, cid)["seconds"])
            rounds["sorted"].append(fresh("floor-sqlite-sorted", url, cid)["seconds"])
            rounds["load"].append(fresh("load", url, cid)["seconds"])
            rounds["peer"].append(fresh("peer", url, cid)["seconds"])
            rounds["resume"].append(fresh("resume", url, cid)["seconds"])
        peak = statistics.median(fresh("memory", url, cid)["bytes"] for _ in range(3))
    for name, samples in rounds.items():
        print(f"  sqlite {name:<8} {statistics.median(samples) * 1e3:8.1f} ms")

    def paired(top: list[float], bottom: list[float]) -> float:
        return statistics.median(a / b for a, b in zip(top, bottom, strict=True))

    report.ratio(
        "cold load 5000 turns / select + json.loads (sqlite)",
        paired(rounds["load"], rounds["floor"]),
        at_most=2,
    )
    report.ratio(
        "cold load / select sorted in Python + json.loads (sqlite)",
        paired(rounds["load"], rounds["sorted"]),
    )
    report.ratio(
        "resume to first request / peer open + load + payload (sqlite)",
        paired(rounds["resume"], rounds["peer"]),
        at_most=1,
    )
    report.ratio(
        "peer open + load + payload / select + json.loads (sqlite)",
        paired(rounds["peer"], rounds["floor"]),
    )
    report.ratio("cold load peak traced memory, MiB", peak / 2**20, at_most=26)

    base = os.environ.get("CONVO_TEST_POSTGRES_URL")
    if base:
        pg_url, child_url, pg_cid = seed_postgres(base)
        try:
            floor_pg: list[float] = []
            load_pg: list[float] = []
            for _ in range(ROUNDS):
                floor_pg.append(fresh("floor-postgres", child_url, pg_cid)["seconds"])
                load_pg.append(fresh("load", pg_url, pg_cid)["seconds"])
        finally:
            drop_postgres(base, child_url.partition("#")[2])
        print(f"  postgres floor    {statistics.median(floor_pg) * 1e3:8.1f} ms")
        print(f"  postgres load     {statistics.median(load_pg) * 1e3:8.1f} ms")
        report.ratio(
            "cold load 5000 turns / select + json.loads (postgres)",
            paired(load_pg, floor_pg),
            at_most=2,
        )
    else:
        print("  postgres: skipped (CONVO_TEST_POSTGRES_URL is not set)")

    costs = {}
    for module in ("convo", "convo.store", "convo.client"):
        costs[module] = cost = import_cost(module)
        print(f"  import {module:<13} {cost * 1e3:8.1f} ms")
        report.ratio(f"import {module}, ms of CPU time", cost * 1e3, at_most=150)
    # The floors under the store and the client, in the same run: what any
    # user of SQLAlchemy or httpx pays before convo adds anything.
    for module, over in (("sqlalchemy", "convo.store"), ("httpx", "convo.client")):
        floor = import_cost(module)
        print(f"  import {module:<13} {floor * 1e3:8.1f} ms (floor)")
        report.ratio(f"import {over} / import {module}", costs[over] / floor)
    return report.finish()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, child_url, child_cid = sys.argv[2:5]
        print(json.dumps(CHILDREN[kind](child_url, child_cid)))
        sys.exit(0)
    sys.exit(main())

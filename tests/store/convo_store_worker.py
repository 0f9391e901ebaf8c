"""Code that store tests run in other processes (spawned, so it must be importable),
and the parent's helpers for watching them.

Each worker reports through a file it appends lines to with `os.write` on an
`O_APPEND` descriptor: a line is in the page cache the moment `os.write`
returns, so it survives the worker being SIGKILLed right after.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from typing import Any

from sqlalchemy import create_engine, make_url, text

import convo
import convo.store
from convo import (
    ImageBlock,
    Provenance,
    ReasoningBlock,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo.errors import ConflictError, ConvoError

BACKOFF = False


class Report:
    """Append-only lines to a file, each durable once written."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def line(self, text: str) -> None:
        os.write(self.fd, (text + "\n").encode())


def migrate(url: str, barrier: Any, report_path: str) -> None:
    """Wait for every sibling, then upgrade; report whether this process applied it."""
    report = Report(report_path)
    barrier.wait()
    try:
        applied = convo.store.upgrade(url)
    except ConvoError as exc:
        report.line(f"error {type(exc).__name__} {exc}")
        raise
    report.line("applied" if applied else "noop")


def append_many(
    url: str,
    tenant: str,
    cid: str,
    worker: int,
    count: int,
    barrier: Any,
    report_path: str,
) -> None:
    """Append `count` turns to main, retrying on conflict from the head it reports."""
    report = Report(report_path)
    with convo.store.Store(url, tenant=tenant) as store:
        (main,) = [b for b in store.branches(cid) if b.name == "main"]
        head = main.head
        barrier.wait()
        conflicts = 0
        rng = random.Random(worker)
        for i in range(count):
            turn = convo.user(f"worker {worker} turn {i}")
            streak = 0
            while True:
                try:
                    head = store.append(cid, turn, expected_head=head)
                    break
                except ConflictError as exc:
                    conflicts += 1
                    streak += 1
                    head = exc.actual  # type: ignore[assignment]
                    # Jittered backoff, as a real client retries: fewer wasted attempts.
                    time.sleep(rng.uniform(0, 0.001 * min(streak, 8)) if BACKOFF else 0)
                except ConvoError as exc:
                    report.line(f"error {type(exc).__name__} {exc}")
                    raise
            report.line(f"ack {head}")
        report.line(f"done {conflicts}")


def append_with_lost_acks(
    url: str,
    tenant: str,
    cid: str,
    worker: int,
    count: int,
    barrier: Any,
    report_path: str,
) -> None:
    """Append `count` turns to main; every other acknowledgement is "lost".

    A lost acknowledgement is what a client sees when the commit landed but the
    reply never arrived: it forgets the id and retries the very same call
    (same turn, same `expected_head`) after a pause in which other workers
    append. The retry must answer the stored id; only a `ConflictError` (the
    turn is not on the branch) sends the worker to the new head. Reports how
    many retries found the head moved past their turn.
    """
    report = Report(report_path)
    rng = random.Random(worker)
    with convo.store.Store(url, tenant=tenant) as store:
        (main,) = [b for b in store.branches(cid) if b.name == "main"]
        head = main.head
        barrier.wait()
        overtaken = 0
        for i in range(count):
            turn = convo.user(f"worker {worker} turn {i}")
            while True:
                try:
                    landed = store.append(cid, turn, expected_head=head)
                    if i % 2 == 0:  # the acknowledgement is lost: call again
                        time.sleep(rng.uniform(0.002, 0.01))
                        now = [b.head for b in store.branches(cid) if b.name == "main"]
                        if now != [landed]:
                            overtaken += 1  # another writer appended in between
                        again = store.append(cid, turn, expected_head=head)
                        if again != landed:
                            report.line(f"error Mismatch {landed} {again}")
                            raise AssertionError("a retry answered another id")
                    head = landed
                    break
                except ConflictError as exc:
                    head = exc.actual  # type: ignore[assignment]
                except ConvoError as exc:
                    report.line(f"error {type(exc).__name__} {exc}")
                    raise
            report.line(f"ack {head}")
        report.line(f"done {overtaken}")


def first_write(
    url: str, tenant: str, worker: int, barrier: Any, report_path: str
) -> None:
    """On a brand-new database: open with create=True, create and append at once."""
    report = Report(report_path)
    barrier.wait()
    try:
        with convo.store.Store(url, tenant=tenant, create=True) as store:
            cid = store.create(title=f"worker {worker}")
            turn_id = store.append(
                cid, convo.user(f"hello from {worker}"), expected_head=None
            )
    except ConvoError as exc:
        report.line(f"error {type(exc).__name__} {exc}")
        raise
    report.line(f"ack {cid} {turn_id}")


def exchange_turns(n: int, rng: random.Random) -> list[convo.Turn]:
    """A user turn with a 200 KB image, an assistant tool call with reasoning, a tool result."""
    image = ImageBlock(
        media_type="image/png", data=b"\x89PNG\r\n\x1a\n" + rng.randbytes(200_000)
    )
    reasoning = ReasoningBlock(
        parts=(SummaryText(text=f"thinking {n}", signature=f"sig-{n}"),),
        provenance=Provenance(provider="anthropic", family="claude"),
    )
    return [
        convo.user([TextBlock(text=f"look at picture {n}"), image]),
        convo.assistant(
            [
                reasoning,
                TextBlock(text="let me check"),
                ToolCallBlock(id=f"call{n}", name="inspect", arguments=f'{{"n": {n}}}'),
            ]
        ),
        convo.tool_results(ToolResultBlock(call_id=f"call{n}", content=f"result {n}")),
    ]


def crash_child(url: str, tenant: str, cid: str, seed: int, report_path: str) -> None:
    """Append multi-block turns until killed; report each id after its commit."""
    report = Report(report_path)
    rng = random.Random(seed)
    with convo.store.Store(url, tenant=tenant) as store:
        head = next(b.head for b in store.branches(cid) if b.name == "main")
        report.line("ready")
        n = 0
        while True:
            for turn in exchange_turns(seed * 10_000 + n, rng):
                head = store.append(cid, turn, expected_head=head)
                report.line(f"ack {head}")
            n += 1


def migrate_back_and_forth(url: str, report_path: str) -> None:
    """Upgrade to head and downgrade to base over and over, until killed."""
    report = Report(report_path)
    report.line("ready")
    while True:
        convo.store.upgrade(url)
        report.line("head")
        convo.store.downgrade(url, revision="base")
        report.line("base")


def wait_for_server_rollback(url: str, application: str) -> None:
    """Wait until PostgreSQL has noticed the killed client and ended its session.

    Until then a COMMIT the client sent just before dying may still land, which
    is correct but would race with the checks below.
    """
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                alive = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"
                    ),
                    {"a": application},
                ).scalar()
            if not alive:
                return
            time.sleep(0.02)
        raise AssertionError("the killed client's PostgreSQL session never ended")
    finally:
        engine.dispose()


def named(url: str, application: str) -> str:
    """`url` with a PostgreSQL application name, so its sessions can be found (SQLite: as is)."""
    if not url.startswith("postgresql"):
        return url
    return (
        make_url(url)
        .update_query_dict({"application_name": application})
        .render_as_string(hide_password=False)
    )


def context() -> Any:
    """A multiprocessing context whose children start fast and share no state.

    Children fork from a clean, single-threaded server that imported convo once
    (no inherited connections), which keeps many short-lived workers cheap.
    """
    ctx = multiprocessing.get_context("forkserver")
    # Modules importable from anywhere (the server may not see tests/store on its path).
    ctx.set_forkserver_preload(
        [
            "convo.store",
            "alembic.command",
            "sqlalchemy.dialects.postgresql.psycopg",
            "sqlalchemy.dialects.sqlite.pysqlite",
        ]
    )
    return ctx


def run(
    target: Any, args_list: list[tuple[Any, ...]], *, timeout: float
) -> list[int | None]:
    """Start one process per argument tuple, wait for all, return their exit codes."""
    ctx = context()
    processes = [ctx.Process(target=target, args=args) for args in args_list]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout)
    for p in processes:
        if p.is_alive():
            p.kill()
            p.join()
    return [p.exitcode for p in processes]

"""A writer killed with SIGKILL at random moments never leaves a half-written turn."""

from __future__ import annotations

import os
import random
import secrets
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, make_url, select, text

import convo.store
from convo.store import Store
from convo.store._mapper import blob_refs
from convo.store._schema import BlobRow, TurnRow

sys.path.insert(0, str(Path(__file__).parent))
import convo_store_worker as worker  # type: ignore[import-not-found]

KILLS = int(os.environ.get("CONVO_TEST_CRASH_KILLS", "20"))

BOTH = pytest.mark.parametrize("empty_url", ["sqlite", "postgresql"], indirect=True)


def wait_for(path: Path, word: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and word in path.read_text():
            return
        time.sleep(0.01)
    pytest.fail(f"worker never reported {word!r}")


def acknowledged(path: Path) -> list[str]:
    return [
        line.split()[1]
        for line in path.read_text().splitlines()
        if line.startswith("ack ")
    ]


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
        pytest.fail("the killed client's PostgreSQL session never ended")
    finally:
        engine.dispose()


def check_consistent(url: str, tenant: str, cid: str, acked: list[str]) -> int:
    """Integrity, every acknowledged turn present, no half-written turn; return turns."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        raw = sqlite3.connect(path)
        try:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            raw.close()
    with Store(url, tenant=tenant) as store:
        graph = store.load_graph(cid)  # decodes every row and verifies every id
        path_ids = graph.path_ids()
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(func.count()).where(TurnRow.conversation_id == cid)
            ).scalar()
            payloads = conn.scalars(
                select(TurnRow.payload).where(TurnRow.conversation_id == cid)
            ).all()
            blobs = set(
                conn.scalars(
                    select(BlobRow.sha256).where(BlobRow.conversation_id == cid)
                )
            )
    assert rows == len(graph)
    assert set(acked) <= set(path_ids)
    assert len(path_ids) == len(graph)  # one chain: nothing orphaned or forked
    referenced = set().union(*(blob_refs(p) for p in payloads)) if payloads else set()
    assert blobs == referenced  # no blob without its turn, no turn without its blob
    return len(graph)


@pytest.mark.slow
class TestCrash:
    @BOTH
    def test_sigkill_at_random_moments_loses_no_acknowledged_turn(
        self, empty_url, tmp_path
    ):
        """Crash consistency (R3): atomic turns, acknowledged means stored."""
        convo.store.upgrade(empty_url)
        tenant = "t-" + secrets.token_hex(4)
        with Store(empty_url, tenant=tenant) as store:
            cid = store.create(title="crashy")
        application = "convo-crash-" + secrets.token_hex(4)
        child_url = empty_url
        if empty_url.startswith("postgresql"):
            child_url = (
                make_url(empty_url)
                .update_query_dict({"application_name": application})
                .render_as_string(hide_password=False)
            )
        rng = random.Random(20261122)
        ctx = worker.context()
        acked: list[str] = []
        stored = 0
        for kill in range(KILLS):
            report = tmp_path / f"report-{kill}.txt"
            child = ctx.Process(
                target=worker.crash_child,
                args=(child_url, tenant, cid, kill, str(report)),
            )
            child.start()
            try:
                wait_for(report, "ready", timeout=30)
                time.sleep(rng.uniform(0.0, 0.15))
            finally:
                os.kill(child.pid, signal.SIGKILL)
                child.join(30)
            assert child.exitcode == -signal.SIGKILL
            acked.extend(acknowledged(report))
            wait_for_server_rollback(empty_url, application)
            stored = check_consistent(empty_url, tenant, cid, acked)
        assert len(acked) > 0
        assert stored >= len(acked)

"""A writer killed with SIGKILL at random moments never leaves a half-written turn."""

from __future__ import annotations

import os
import random
import secrets
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

import convo.store
from convo.store import Store
from convo.store._mapper import blob_refs
from convo.store._schema import BLOBS, TURNS

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
                select(func.count()).where(TURNS.c.conversation_id == cid)
            ).scalar()
            payloads = conn.scalars(
                select(TURNS.c.payload).where(TURNS.c.conversation_id == cid)
            ).all()
            blobs = set(
                conn.scalars(
                    select(BLOBS.c.sha256).where(BLOBS.c.conversation_id == cid)
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
        child_url = worker.named(empty_url, application)
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
            worker.wait_for_server_rollback(empty_url, application)
            stored = check_consistent(empty_url, tenant, cid, acked)
        assert len(acked) > 0
        assert stored >= len(acked)


@pytest.mark.slow
class TestPostgresBackendKills:
    """R3 on the server side: pg_terminate_backend at random moments, many times."""

    @pytest.mark.parametrize("empty_url", ["postgresql"], indirect=True)
    def test_killed_backends_lose_no_acknowledged_turn_and_the_store_recovers(
        self, empty_url
    ):
        convo.store.upgrade(empty_url)
        tenant = "t-" + secrets.token_hex(4)
        application = "convo-kill-" + secrets.token_hex(4)
        url = worker.named(empty_url, application)
        rng = random.Random(20261203)
        outcome = Appends()
        with Store(url, tenant=tenant) as store:
            cid = store.create(title="killed backends")
            writer = threading.Thread(
                target=outcome.run, args=(store, cid, rng.random())
            )
            writer.start()
            try:
                for _ in range(KILLS * 3):
                    time.sleep(rng.uniform(0.0, 0.02))
                    outcome.kills += terminate(empty_url, application)
            finally:
                outcome.stop.set()
                writer.join(60)
            assert not writer.is_alive()
            # The store that watched its connections die keeps working.
            head = store.append(
                cid, convo.user("after the storm"), expected_head=outcome.head
            )
            assert store.load(cid).head() == head
        assert outcome.unexpected == []
        assert outcome.kills > 0
        assert len(outcome.acked) > 0
        stored = check_consistent(empty_url, tenant, cid, outcome.acked)
        # Every append landed exactly once: retries after a lost commit were idempotent.
        assert stored == len(set(outcome.acked)) + 1


def terminate(url: str, application: str) -> int:
    """End every PostgreSQL session of `application`; return how many."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) "
                        "FROM pg_stat_activity WHERE application_name = :a"
                    ),
                    {"a": application},
                ).scalar()
                or 0
            )
    finally:
        engine.dispose()


class TestPostgresIdleDisconnects:
    @pytest.mark.parametrize("empty_url", ["postgresql"], indirect=True)
    def test_a_connection_the_server_dropped_while_idle_is_replaced_silently(
        self, empty_url
    ):
        convo.store.upgrade(empty_url)
        application = "convo-idle-" + secrets.token_hex(4)
        url = worker.named(empty_url, application)
        with Store(url, tenant="t-idle") as store:
            cid = store.create(title="idle")
            head = store.append(cid, convo.user("hi"), expected_head=None)
            assert terminate(empty_url, application) >= 1  # the pooled connection
            assert store.load(cid).head() == head
            store.append(cid, convo.assistant("hello"), expected_head=head)


class Appends:
    """A writer that retries each append (same turn, same expected head) until it lands."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.acked: list[str] = []
        self.store_errors = 0
        self.unexpected: list[BaseException] = []
        self.kills = 0
        self.head: convo.TurnId | None = None

    def run(self, store: Store, cid: str, seed: float) -> None:
        rng = random.Random(seed)
        n = 0
        try:
            while not self.stop.is_set():
                for turn in worker.exchange_turns(n, rng):
                    self.head = self._land(store, cid, turn)
                    self.acked.append(self.head)
                n += 1
        except BaseException as exc:  # noqa: BLE001 - asserted empty by the test
            self.unexpected.append(exc)

    def _land(self, store: Store, cid: str, turn: convo.Turn) -> convo.TurnId:
        for _ in range(100):
            try:
                return store.append(cid, turn, expected_head=self.head)
            except convo.errors.StoreError as exc:
                if isinstance(
                    exc, convo.errors.ConflictError | convo.errors.NotFoundError
                ):
                    raise
                # The connection died: the append may or may not have committed.
                # The same append again is idempotent either way.
                self.store_errors += 1
        raise AssertionError("an append never landed in 100 attempts")

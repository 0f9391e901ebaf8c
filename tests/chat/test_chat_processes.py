"""Many processes sending on one conversation: no answer lost, none duplicated, no orphan."""

from __future__ import annotations

import multiprocessing
import secrets
import sys
from collections import Counter
from pathlib import Path

import pytest

from convo import Conversation
from convo.store import Store

sys.path.insert(0, str(Path(__file__).parent))
import convo_chat_worker as worker  # type: ignore[import-not-found]

WORKERS = 4
SENDS = 25


@pytest.mark.slow
class TestManyProcessesOnOneConversation:
    def test_four_processes_sending_25_times_lose_duplicate_and_orphan_nothing(
        self, chat_db_url: str, tmp_path: Path
    ):
        tenant = "procs-" + secrets.token_hex(4)
        with Store(chat_db_url, tenant=tenant) as store:
            cid = store.create(Conversation.new())
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(WORKERS)
        report = tmp_path / "report.txt"
        processes = [
            ctx.Process(
                target=worker.send_many,
                args=(chat_db_url, tenant, cid, k, SENDS, barrier, str(report)),
            )
            for k in range(WORKERS)
        ]
        for p in processes:
            p.start()
        for p in processes:
            p.join(120)
        for p in processes:
            if p.is_alive():
                p.kill()
                p.join()
        assert [p.exitcode for p in processes] == [0] * WORKERS

        lines = [line.split(" ") for line in report.read_text().splitlines()]
        stored = [parts[1] for parts in lines if parts[0] in ("answer", "conflict")]
        paid = sum(int(parts[1]) for parts in lines if parts[0] == "paid")
        assert len(stored) == WORKERS * SENDS
        assert paid == len(stored), "every 200 answer is reported exactly once"

        with Store(chat_db_url, tenant=tenant) as store:
            graph = store.load_graph(cid)
        main_ids = set(graph.path_ids("main"))
        for parts in lines:  # 0 answers lost: each is on main or on its side branch
            if parts[0] == "answer":
                assert parts[1] in main_ids
            elif parts[0] == "conflict":
                assert parts[1] in set(graph.path_ids(parts[2]))
        main = graph.path("main")
        roles = [t.role for t in main]
        assert roles == ["user", "assistant"] * (len(roles) // 2), (
            "no orphan user turn anywhere on the path"
        )
        texts = Counter(t.text for t in main if t.role == "user")
        assert len(texts) == WORKERS * SENDS
        assert set(texts.values()) == {1}, "no duplicated turn"

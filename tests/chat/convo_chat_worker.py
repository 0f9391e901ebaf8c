"""Code that chat tests run in other processes (spawned, so it must be importable).

A worker sends messages on one shared conversation with its own `Chat`, its own
`Store` and its own in-process fake endpoint (every fake signs with the same
default secret, so each accepts the others' reasoning), and reports each
outcome as one line appended to a file.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from convo import Chat, RequestParams, ThinkingBudget, get_target
from convo.client import Client
from convo.errors import AnswerConflictError, ConflictError, PendingTurnError
from convo.store import Store
from convo.testing.fake import FakeEndpoint

PARAMS = RequestParams(max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048))


def _line(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (text + "\n").encode())
    finally:
        os.close(fd)


def send_many(
    url: str, tenant: str, cid: str, worker: int, sends: int, barrier: Any, report: str
) -> None:
    """Send `sends` messages, waiting while another worker's turn is pending."""
    rng = random.Random(worker)
    endpoint = FakeEndpoint(seed=worker)
    with (
        Store(url, tenant=tenant) as store,
        Client(
            host="https://fake.convo.invalid",
            token="test-token",
            transport=endpoint.transport(),
            sleep=lambda _seconds: None,
        ) as client,
    ):
        chat = Chat(
            store=store,
            client=client,
            target=get_target("databricks-claude-sonnet-4-5"),
            params=PARAMS,
        )
        barrier.wait()
        done = 0
        while done < sends:
            text = f"worker {worker} message {done}"
            try:
                reply = chat.send(cid, text)
            except AnswerConflictError as exc:
                _line(report, f"conflict {exc.turn_id} {exc.branch}")
            except (PendingTurnError, ConflictError):
                time.sleep(rng.uniform(0.0005, 0.003))
                continue
            else:
                _line(report, f"answer {reply.turn_id} main")
            done += 1
        ok = sum(1 for r in endpoint.responses if r.status == 200)
        _line(report, f"paid {ok} {worker}")

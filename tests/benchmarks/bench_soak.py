"""Benchmark of the conversation soak (issue 11): requests per second through the whole stack.

One seeded soak of 200 exchanges per target on SQLite (tool rounds, streamed
and whole answers mixed, regenerations, edits, injected faults resumed with
`complete()`), timed end to end: load, policies, encoding, client, the fake
endpoint, decoding, storing. The floor, measured in the same run: a fresh fake
endpoint answering the very same request bodies directly through its httpx
transport with a bare `httpx.Client` (no convo on either side). The ratio is
the whole stack's requests per second over the floor's; it must stay above the
bound. The soak's own checks (no refusal, reasoning byte-exact, reload equal)
run after the timing and fail the benchmark when broken.

Run: `.venv/bin/python tests/benchmarks/bench_soak.py`; exits 1 when a bound breaks.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import convo.store
from convo import Chat, get_target
from convo.client import Client
from convo.store import Store
from convo.testing.fake import FakeEndpoint
from tests.benchmarks._report import Report
from tests.chat._soak import TOOLS, Ledger, Soak, params_for

EXCHANGES = 200
TARGETS = ("databricks-claude-sonnet-4-5", "databricks-gpt-oss-120b")


def soak(directory: Path, target_name: str, seed: int) -> tuple[float, FakeEndpoint]:
    """Run the soak; return its wall time and the endpoint that answered it."""
    url = f"sqlite:///{directory / (target_name + '.db')}"
    convo.store.upgrade(url)
    target = get_target(target_name)
    endpoint = FakeEndpoint(seed=seed)
    with (
        Store(url, tenant="bench") as store,
        Client(
            host="https://fake.convo.invalid",
            token="bench",
            transport=endpoint.transport(),
            sleep=lambda _seconds: None,
        ) as client,
    ):
        chat = Chat(
            store=store,
            client=client,
            target=target,
            params=params_for(target.family),
            tools=TOOLS,
        )
        run = Soak(chat=chat, endpoint=endpoint, rng=random.Random(seed), mode="mixed")
        start = time.perf_counter()
        cid = run.run(EXCHANGES)
        elapsed = time.perf_counter() - start
        ledger = Ledger(needs_reasoning=target.family == "claude")
        problems = ledger.record(endpoint) + run.stats.reload_problems(store, cid)
    if problems:
        print(f"FAIL {target_name} seed {seed}:\n" + "\n".join(problems[:20]))
        raise SystemExit(1)
    print(f"  {target_name}: {run.stats}".split(", answers=")[0] + ")")
    return elapsed, endpoint


def floor(endpoint: FakeEndpoint, seed: int) -> float:
    """The same request bodies answered by a fresh fake through a bare httpx client."""
    fresh = FakeEndpoint(seed=seed)
    requests = [
        (r.path, r.body)
        for r, answer in zip(endpoint.requests, endpoint.responses, strict=True)
        if answer.status == 200 and answer.drop_after is None
    ]
    with httpx.Client(
        transport=fresh.transport(), base_url="https://fake.convo.invalid"
    ) as http:
        start = time.perf_counter()
        for path, body in requests:
            response = http.post(
                path,
                content=body,
                headers={
                    "authorization": "Bearer bench",
                    "content-type": "application/json",
                },
            )
            response.read()
        elapsed = time.perf_counter() - start
    statuses = {r.status for r in fresh.responses}
    if statuses != {200}:
        print(f"FAIL the floor's replay was refused: {statuses}")
        raise SystemExit(1)
    return elapsed / len(requests)


def main() -> int:
    report = Report("soak")
    with tempfile.TemporaryDirectory() as tmp:
        for seed, target_name in enumerate(TARGETS):
            elapsed, endpoint = soak(Path(tmp), target_name, seed)
            count = len(endpoint.requests)
            stack_rps = count / elapsed
            floor_rps = 1 / min(floor(endpoint, seed) for _ in range(3))
            print(
                f"  {target_name}: {count} requests, {stack_rps:.0f} req/s through "
                f"the stack, {floor_rps:.0f} req/s fake endpoint alone"
            )
            short = target_name.removeprefix("databricks-")
            report.share(
                f"{short} {EXCHANGES} exchanges: stack req/s / fake-only req/s",
                stack_rps / floor_rps,
                at_least=0.1,
            )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

"""Prompt-cache efficiency of the default policies over a 100-turn conversation.

Runs `Chat` against the fake endpoint's simulated prompt cache (Claude rules:
at most 4 breakpoints, 1,024-token minimum, 5-minute ttl) and reports the share
of input tokens read from cache. The ceiling is everything but each request's
new tokens; the aim is at least 90%.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import convo.store
from convo import Chat, RequestParams, get_target
from convo.client import Client
from convo.store import Store
from convo.testing.fake import FakeEndpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks._report import Report

SYSTEM = "You are a support assistant for a large product. " + " ".join(
    f"Policy {i}: be precise, cite the manual section, keep answers short."
    for i in range(300)
)


def main() -> int:
    report = Report("cache")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'cache.db'}"
        convo.store.upgrade(url)
        endpoint = FakeEndpoint()
        with (
            Store(url) as store,
            Client(
                host="https://fake.convo.invalid",
                token="bench",
                transport=endpoint.transport(),
            ) as client,
        ):
            chat = Chat(
                store=store,
                client=client,
                target=get_target("databricks-claude-sonnet-4-5"),
                params=RequestParams(max_tokens=1024),
            )
            cid = chat.start(system_prompt=SYSTEM)
            prompt = read = written = 0
            for i in range(50):  # 50 exchanges: 100 turns after the system turn
                reply = chat.send(cid, f"Question {i}: how do I reset setting {i}?")
                usage = reply.usage
                assert usage is not None
                # Claude reports uncached input, cache reads and cache writes
                # apart; the request's whole input is their sum.
                read += usage.cache_read_tokens or 0
                written += usage.cache_write_tokens or 0
                prompt += (
                    (usage.prompt_tokens or 0)
                    + (usage.cache_read_tokens or 0)
                    + (usage.cache_write_tokens or 0)
                )
    rejected = [r for r in endpoint.responses if r.status != 200]
    report.share("input tokens read from cache", read / prompt, at_least=0.90)
    report.share("input tokens written to cache", written / prompt)
    report.ratio("requests refused by the endpoint", float(len(rejected)), at_most=0)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

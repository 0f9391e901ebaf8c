"""A long conversation inside a small context window: `fit`, then compaction.

The fake Databricks endpoint here serves Claude with a 6,000-token window and
answers any request over it with the provider's 400. First a chat keeps every
request inside it with the `fit` policy (old tool results shrunk to a preview,
then the oldest exchanges dropped, in steps so cached prefixes hold); then a
second chat compacts instead: a summary turn on the branch stands in for the
history, which stays stored. Offline, persisted to SQLite.

Run: python examples/long_conversation.py
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs

import convo.store
from convo import Chat, RequestParams, Tool, ToolResultBlock, Turn, get_target
from convo.client import Client
from convo.policies import default_policies, fit, is_summary
from convo.store import Store
from convo.testing.fake import FakeEndpoint, default_models

WINDOW = 6_000
WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
REPORT = "Hourly: " + "; ".join(f"{h:02d}:00 3 C wind 12 km/h" for h in range(24))


def talk(chat: Chat, cid: str, exchanges: int) -> None:
    """Small talk, with a tool loop every third exchange."""
    for n in range(exchanges):
        if n % 3:
            chat.send(cid, f"Note {n}: " + "please remember this. " * 15)
            continue
        reply = chat.send(cid, f"What is the weather in City{n}?")
        while reply.tool_calls:
            results = [
                ToolResultBlock(call_id=c.id, content=REPORT) for c in reply.tool_calls
            ]
            reply = chat.submit_tool_results(cid, results)


def summarize(turns: Sequence[Turn]) -> str:
    """A stand-in summarizer (by default `Chat.compact` asks the model itself)."""
    return f"{len(turns)} earlier turns; the user shared notes and asked for weather."


def main(directory: Path) -> None:
    url = f"sqlite:///{directory / 'long.db'}"
    convo.store.upgrade(url)
    target = attrs.evolve(
        get_target("databricks-claude-sonnet-4-5"), context_window=WINDOW
    )
    models = [attrs.evolve(m, context_window=WINDOW) for m in default_models()]
    endpoint = FakeEndpoint(models=models)
    params = RequestParams(max_tokens=1500)
    with (
        Store(url) as store,
        Client(
            host="https://fake.invalid", token="demo", transport=endpoint.transport()
        ) as client,
    ):
        # 1. fit: the request view is cut to window - max_tokens - tools - margin.
        policies = default_policies(
            target, fit=fit(max_output=1500, shrink_tool_results=True)
        )
        fitted = Chat(
            store=store,
            client=client,
            target=target,
            params=params,
            tools=(WEATHER,),
            policies=policies,
        )
        cid = fitted.start(system_prompt="You are a weather assistant.")
        talk(fitted, cid, 60)
        print(f"fit: {len(store.load(cid).path())} turns stored, all requests accepted")

        # 2. compaction: a summary turn whenever a request would pass 3,000 tokens.
        compacting = Chat(
            store=store,
            client=client,
            target=target,
            params=params,
            tools=(WEATHER,),
            compact_at=3_000,
            compact_summarizer=summarize,
        )
        cid = compacting.start(system_prompt="You are a weather assistant.")
        talk(compacting, cid, 60)
        path = store.load(cid).path()
        summaries = sum(1 for t in path if is_summary(t))
        print(
            f"compaction: {len(path)} turns stored, {summaries} summaries on the branch"
        )
    refused = [r for r in endpoint.responses if r.status != 200]
    assert not refused, refused


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))

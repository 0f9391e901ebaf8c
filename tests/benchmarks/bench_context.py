"""Context windows: how good the token count is, and what compaction costs the cache.

A 200-exchange `Chat` with Claude (Sonnet 4.5) against the fake endpoint with a
window of 30,000 tokens, every third exchange a tool loop, compacted by a
summarizer whenever the next request would pass half the window. Before each
request its view is counted with `count_view` (the exact count of the prefix
already sent, from the stored usage, plus the chars / 4 estimate of the rest)
and with the estimate alone; both are compared with the input tokens the fake
then reports. Reported: the median and worst relative error of each, the share
of input tokens read from the prompt cache over the chat (aim: at least 0.85),
and the requests refused for the window (must be 0).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs

import convo.store
from convo import (
    Chat,
    RequestParams,
    ThinkingBudget,
    Tool,
    ToolResultBlock,
    Turn,
    get_target,
    user,
)
from convo._chat._core import plan
from convo.client import Client
from convo.policies import count_view, estimate_tokens, reported_input_tokens
from convo.policies._trim import estimate_tool_tokens
from convo.store import Store
from convo.testing.fake import FakeEndpoint, default_models

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks._report import Report

NAME = "databricks-claude-sonnet-4-5"
WINDOW = 30_000
EXCHANGES = 200
SYSTEM = "You are a support assistant for a large product. " + " ".join(
    f"Policy {i}: be precise, cite the manual section, keep answers short."
    for i in range(300)
)
WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
REPORT = "Hourly: " + "; ".join(f"{h:02d}:00 3 C wind 12 km/h" for h in range(24))


def summarize(turns: Sequence[Turn]) -> str:
    return "Earlier: " + " / ".join(t.text[:50] for t in turns[-6:] if t.text)


def main() -> int:
    report = Report("context")
    target = attrs.evolve(get_target(NAME), context_window=WINDOW)
    models = [attrs.evolve(m, context_window=WINDOW) for m in default_models()]
    endpoint = FakeEndpoint(models=models)
    params = RequestParams(
        max_tokens=2048, reasoning=ThinkingBudget(budget_tokens=1024)
    )
    learned: list[float] = []
    guessed: list[float] = []
    read = total = compactions = 0
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'context.db'}"
        convo.store.upgrade(url)
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
                target=target,
                params=params,
                tools=(WEATHER,),
            )
            cid = chat.start(system_prompt=SYSTEM)

            def measure(turn: Turn) -> tuple[int, int]:
                view = plan(
                    store.load(cid),
                    turn,
                    target=target,
                    tools=chat.tools,
                    policies=None,
                    params=params,
                    stream=False,
                ).view
                count = count_view(view.turns, target=target, tools=view.tools)
                alone = sum(estimate_tokens(t) for t in view.turns)
                return count.total, alone + estimate_tool_tokens(view.tools)

            def record(estimates: tuple[int, int], usage: object) -> None:
                nonlocal read, total
                reported = reported_input_tokens(usage, target)  # type: ignore[arg-type]
                assert reported is not None
                learned.append(abs(estimates[0] - reported) / reported)
                guessed.append(abs(estimates[1] - reported) / reported)
                total += reported
                read += usage.cache_read_tokens or 0  # type: ignore[attr-defined]

            for n in range(EXCHANGES):
                text = (
                    f"What is the weather in City{n}?"
                    if n % 3 == 0
                    else f"Question {n}: how do I reset setting {n}? "
                    + "Details. " * 20
                )
                if measure(user(text))[0] > WINDOW // 2:
                    chat.compact(cid, summarizer=summarize, keep_last=1)
                    compactions += 1
                estimates = measure(user(text))
                reply = chat.send(cid, text)
                record(estimates, reply.usage)
                while reply.tool_calls:
                    results = [
                        ToolResultBlock(
                            call_id=c.id, content=f"{json.loads(c.arguments)}: {REPORT}"
                        )
                        for c in reply.tool_calls
                    ]
                    turn = Turn(role="tool", blocks=tuple(results))
                    estimates = measure(turn)
                    reply = chat.submit_tool_results(cid, results)
                    record(estimates, reply.usage)
    refused = [r for r in endpoint.responses if r.rule == "window"]
    report.share("count_view error, median", statistics.median(learned))
    report.share("count_view error, worst", max(learned))
    report.share("chars/4 estimate error, median", statistics.median(guessed))
    report.share("chars/4 estimate error, worst", max(guessed))
    report.share(
        "input tokens read from cache (compaction on)", read / total, at_least=0.85
    )
    report.ratio("compactions", float(compactions))
    report.ratio("requests refused for the window", float(len(refused)), at_most=0)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

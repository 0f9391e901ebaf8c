"""Long chats inside a window-sized fake: fit and compaction keep every request in.

Per Claude, GPT OSS and Gemini target, a `Chat` on SQLite holds a conversation
of many exchanges, every third one a tool loop with a large result, against a
fake endpoint whose context window is a few thousand tokens (the fake answers a
request over it with its provider's 400, rule `window`). With `fit` in the
policy chain, and with automatic compaction, no request is ever over the
window. `CONVO_LONG_EXCHANGES` sets the length (default 200; the issue's
figure is 1,000).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest

import convo.store
from convo import (
    Chat,
    RequestParams,
    ThinkingBudget,
    Tool,
    ToolResultBlock,
    Turn,
    get_target,
)
from convo.client import Client
from convo.errors import BadRequestError
from convo.policies import default_policies, fit, is_summary
from convo.store import Store
from convo.testing.fake import FakeEndpoint, default_models

EXCHANGES = int(os.environ.get("CONVO_LONG_EXCHANGES", "200"))
WINDOW = 6_000
MAX_TOKENS = 1_500
TARGETS = (
    "databricks-claude-sonnet-4-5",
    "databricks-gpt-oss-120b",
    "databricks-gemini-3-pro",
)
WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
REPORT = "Hourly observations: " + "; ".join(
    f"{h:02d}:00 3 C wind 12 km/h gusts 30 humidity 81%" for h in range(24)
)


def params(target: str) -> RequestParams:
    if "claude" in target:
        return RequestParams(
            max_tokens=MAX_TOKENS, reasoning=ThinkingBudget(budget_tokens=1024)
        )
    return RequestParams(max_tokens=MAX_TOKENS)


def small_endpoint() -> FakeEndpoint:
    models = [
        attrs.evolve(m, context_window=WINDOW)
        for m in default_models()
        if m.name in TARGETS
    ]
    return FakeEndpoint(models=models)


def last_lines(turns: Sequence[Turn]) -> str:
    """A user summarizer: what the last few turns said, briefly."""
    return " / ".join(t.text[:60] for t in turns[-4:] if t.text)


@attrs.frozen
class Outcome:
    requests: int
    over_window: int
    fitted: int
    summaries: int
    seconds: float


def converse(target_name: str, mode: str, url: str, exchanges: int) -> Outcome:
    target = attrs.evolve(get_target(target_name), context_window=WINDOW)
    endpoint = small_endpoint()
    started = time.perf_counter()
    fitted = 0
    with (
        Store(url, tenant="long-" + secrets.token_hex(4)) as store,
        Client(
            host="https://fake.convo.invalid",
            token="test-token",
            transport=endpoint.transport(),
            sleep=lambda _s: None,
        ) as client,
    ):
        if mode == "fit":
            chain = default_policies(
                target, fit=fit(max_output=MAX_TOKENS, shrink_tool_results=True)
            )
            chat = Chat(
                store=store,
                client=client,
                target=target,
                params=params(target_name),
                tools=(WEATHER,),
                policies=chain,
            )
        else:
            chat = Chat(
                store=store,
                client=client,
                target=target,
                params=params(target_name),
                tools=(WEATHER,),
                compact_at=WINDOW // 2 if mode == "compact" else None,
                compact_summarizer=last_lines,
            )
        cid = chat.start(system_prompt="You are a careful weather assistant.")
        for n in range(exchanges):
            if n % 3 == 0:
                reply = chat.send(cid, f"What is the weather in City{n} today?")
                while reply.tool_calls:
                    results = [
                        ToolResultBlock(
                            call_id=c.id, content=f"{json.loads(c.arguments)}: {REPORT}"
                        )
                        for c in reply.tool_calls
                    ]
                    reply = chat.submit_tool_results(cid, results)
                    fitted += any(note.policy == "fit" for note in reply.notes)
            else:
                reply = chat.send(cid, f"Note number {n}: " + "remember this. " * 20)
            fitted += any(note.policy == "fit" for note in reply.notes)
        path = store.load(cid).path()
    return Outcome(
        requests=len(endpoint.requests),
        over_window=sum(1 for r in endpoint.responses if r.rule == "window"),
        fitted=fitted,
        summaries=sum(1 for t in path if is_summary(t)),
        seconds=time.perf_counter() - started,
    )


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("long") / "long.db"
    url = f"sqlite+pysqlite:///{path}"
    convo.store.upgrade(url)
    return url


class TestLongChatsStayInsideTheWindow:
    @pytest.mark.parametrize("target", TARGETS)
    def test_with_fit_no_request_is_ever_over_the_window(
        self, target: str, sqlite_url: str
    ) -> None:
        outcome = converse(target, "fit", sqlite_url, EXCHANGES)
        print(f"\n{target} fit: {outcome}")
        assert outcome.over_window == 0
        assert outcome.fitted > 0

    @pytest.mark.parametrize("target", TARGETS)
    def test_with_compaction_no_request_is_ever_over_the_window(
        self, target: str, sqlite_url: str
    ) -> None:
        outcome = converse(target, "compact", sqlite_url, EXCHANGES)
        print(f"\n{target} compaction: {outcome}")
        assert outcome.over_window == 0
        assert outcome.summaries > 0

    def test_the_fake_refuses_the_same_chat_without_either(
        self, sqlite_url: str
    ) -> None:
        with pytest.raises(BadRequestError, match=r"prompt is too long|context limit"):
            converse(TARGETS[0], "none", sqlite_url, EXCHANGES)

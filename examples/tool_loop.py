"""A tool loop with reasoning: the model calls tools, the backend runs them, and
the reasoning of the tool session goes back to the model byte-exact (rule R2).

The tool call comes in the second exchange, after a greeting, as in a real
chat: the loop must be accepted wherever it starts in the conversation.

Runs offline against the fake Databricks endpoint, which signs its reasoning and
refuses any replay whose reasoning or signature changed; persisted to SQLite.

Run: python examples/tool_loop.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import convo.store
from convo import (
    Chat,
    RequestParams,
    ThinkingBudget,
    Tool,
    ToolCallBlock,
    ToolResultBlock,
    get_target,
)
from convo.client import Client
from convo.store import Store
from convo.testing.fake import FakeEndpoint

WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
FORECASTS = {"Oslo": "3 C, light snow", "Lima": "19 C, overcast"}


def run_tool(call: ToolCallBlock) -> ToolResultBlock:
    """Run one tool call; a bad call becomes an error result the model can read."""
    try:
        city = str(call.parsed_arguments().get("city", ""))
    except convo.ConvoError as exc:
        return ToolResultBlock(call_id=call.id, content=str(exc), is_error=True)
    forecast = FORECASTS.get(city, f"no station for {city!r}")
    return ToolResultBlock(call_id=call.id, content=forecast)


def main(directory: Path) -> None:
    url = f"sqlite:///{directory / 'tools.db'}"
    convo.store.upgrade(url)
    endpoint = FakeEndpoint()
    with (
        Store(url) as store,
        Client(
            host="https://fake.convo.invalid",
            token="offline",
            transport=endpoint.transport(),
        ) as client,
    ):
        chat = Chat(
            store=store,
            client=client,
            target=get_target("databricks-claude-sonnet-4-5"),
            params=RequestParams(
                max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048)
            ),
            tools=(WEATHER,),
        )
        cid = chat.start(system_prompt="Answer briefly.")
        greeting = chat.send(cid, "Hello!")
        print("greeting:", greeting.text)
        reply = chat.send(cid, "Please use get_weather for Oslo.")
        assert reply.tool_calls, "the second exchange calls the tool"
        steps = 0
        while reply.tool_calls and steps < 5:
            steps += 1
            for call in reply.tool_calls:
                print(f"model calls {call.name}({call.arguments})")
            reply = chat.submit_tool_results(
                cid, [run_tool(c) for c in reply.tool_calls]
            )
        print("answer:", reply.text)

        sent = endpoint.requests[-1].json()["messages"]
        calling = next(m for m in sent if m.get("tool_calls"))
        replayed = calling["content"][0]
        print("replayed reasoning block:", json.dumps(replayed)[:120], "...")
        statuses = [r.status for r in endpoint.responses]
        print("endpoint statuses:", statuses)
        assert statuses == [200] * len(statuses), "every request was accepted"


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))

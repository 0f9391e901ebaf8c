"""One conversation on three routes: chat completions, Open Responses, and back.

A backend may start a conversation on a model's chat-completions endpoint and
continue it on Databricks' Open Responses route (or the OpenAI Responses route,
or the Unity AI Gateway). The target picks the route; the reasoning each route
signs goes back only to that route, and convo drops the rest with a note.

Runs offline against the fake Databricks endpoint, which serves every route and
answers each broken replay rule with the 400 the real service gives; persisted
to SQLite.

Run: python examples/responses_routes.py
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
    ToolResultBlock,
    get_target,
)
from convo.client import Client
from convo.store import Store
from convo.targets import route_target
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


def tool_loop(chat: Chat, cid: str, text: str) -> str:
    """One user message, its tool calls answered until the model answers in text."""
    reply = chat.send(cid, text)
    notes = [n.reason for n in reply.notes if n.action == "drop_reasoning"]
    while reply.tool_calls:
        results = [
            ToolResultBlock(call_id=c.id, content="4 C") for c in reply.tool_calls
        ]
        reply = chat.submit_tool_results(cid, results)
    for note in notes:
        print("  note:", note)
    return reply.text


def main(directory: Path) -> None:
    url = f"sqlite:///{directory / 'routes.db'}"
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
        on_chat = Chat(
            store=store,
            client=client,
            target=get_target("databricks-claude-sonnet-4-5"),
            params=RequestParams(
                max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048)
            ),
            tools=(WEATHER,),
        )
        open_responses = route_target("open-responses", "databricks-claude-sonnet-4-5")
        on_open = Chat(
            store=store,
            client=client,
            target=open_responses,
            # The same parameters: the budget goes to Open Responses as an effort.
            params=RequestParams(
                max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048)
            ),
            tools=(WEATHER,),
        )
        cid = on_chat.start(system_prompt="Answer briefly.")
        print("chat:", tool_loop(on_chat, cid, "Please use get_weather for Oslo."))
        print("open-responses:", tool_loop(on_open, cid, "Now get_weather for Lima."))
        print("chat again:", tool_loop(on_chat, cid, "And get_weather for Riga?"))

    paths = sorted({r.path for r in endpoint.requests})
    statuses = {r.status for r in endpoint.responses}
    print("routes used:", json.dumps(paths))
    assert paths == [
        "/serving-endpoints/databricks-claude-sonnet-4-5/invocations",
        "/serving-endpoints/open-responses",
    ]
    assert statuses == {200}, "the fake endpoint refused a request"


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))

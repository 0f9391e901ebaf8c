"""A conversation moves chat completions → Open Responses → chat completions, through `Chat`.

Specification: each route gets what it can carry and nothing else. Reasoning
signed on the chat route (Claude signatures) is dropped, with a note, on Open
Responses, whose server cannot verify it; Open Responses reasoning
(`encrypted_content` bound to its route) is dropped, with a note, back on the
chat route; text, tool calls and tool results travel everywhere. Tool loops,
streamed and not, on SQLite and PostgreSQL; the fake refuses nothing.
"""

from __future__ import annotations

import json

import pytest

from convo import (
    Chat,
    RequestParams,
    Target,
    ThinkingBudget,
    Tool,
    ToolResultBlock,
    get_target,
)
from convo._events import Finished
from convo.client import Client
from convo.store import Store
from convo.targets import route_target
from convo.testing.fake import FakeEndpoint

WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
CHAT = get_target("databricks-claude-sonnet-4-5")
OPEN = route_target("open-responses", "databricks-claude-sonnet-4-5")
CHAT_PARAMS = RequestParams(
    max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048)
)
OPEN_PARAMS = CHAT_PARAMS
"""The same parameters on both routes: the budget goes to Open Responses as an effort."""


def _exchange(chat: Chat, cid: str, text: str, *, stream: bool) -> list[str]:
    """One user message and its tool loop; returns the notes of the replies."""
    notes: list[str] = []
    if stream:
        events = list(chat.stream(cid, text))
        last = events[-1]
        assert isinstance(last, Finished)
        assert last.turn is not None
        calls = last.turn.tool_calls
    else:
        reply = chat.send(cid, text)
        notes += [f"{n.policy}:{n.action}:{n.reason}" for n in reply.notes]
        calls = reply.tool_calls
    while calls:
        results = [ToolResultBlock(call_id=c.id, content="4 C") for c in calls]
        reply = chat.submit_tool_results(cid, results)
        notes += [f"{n.policy}:{n.action}:{n.reason}" for n in reply.notes]
        calls = reply.tool_calls
    return notes


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_conversation_moves_chat_to_open_responses_and_back(
    stream: bool, chat_db_url: str, tenant: str
) -> None:
    endpoint = FakeEndpoint()
    with (
        Client(
            host="https://fake.convo.invalid",
            token="test-token",
            transport=endpoint.transport(),
            sleep=lambda _seconds: None,
        ) as client,
        Store(chat_db_url, tenant=tenant) as store,
    ):

        def chat_for(target: Target, params: RequestParams) -> Chat:
            return Chat(
                store=store,
                client=client,
                target=target,
                params=params,
                tools=(WEATHER,),
            )

        on_chat = chat_for(CHAT, CHAT_PARAMS)
        on_open = chat_for(OPEN, OPEN_PARAMS)
        cid = on_chat.start(system_prompt="Answer briefly.")
        _exchange(on_chat, cid, "Please use get_weather for Oslo.", stream=stream)
        chat_requests = len(endpoint.requests)

        moved = _exchange(on_open, cid, "Now use get_weather for Lima.", stream=False)
        _exchange(on_open, cid, "And get_weather for Quito?", stream=stream)
        open_requests = len(endpoint.requests)

        back = _exchange(
            on_chat, cid, "Thanks. Use get_weather for Riga.", stream=False
        )
        _exchange(on_chat, cid, "Last one: get_weather for Hanoi.", stream=stream)

        assert [r.status for r in endpoint.responses] == [200] * len(endpoint.responses)
        assert any("drop_foreign_reasoning:drop_reasoning" in n for n in moved)
        assert any("drop_foreign_reasoning:drop_reasoning" in n for n in back)
        assert any("'open-responses' route" in n for n in moved)

        on_open_bodies = [
            r.json() for r in endpoint.requests[chat_requests:open_requests]
        ]
        assert all(
            r.path == "/serving-endpoints/open-responses"
            for r in endpoint.requests[chat_requests:open_requests]
        )
        for body in on_open_bodies:
            assert '"signature"' not in json.dumps(body)
        back_bodies = [r.json() for r in endpoint.requests[open_requests:]]
        for body in back_bodies:
            assert "encrypted_content" not in json.dumps(body)
            assert "rs_" not in json.dumps(body)

        path = store.load(cid).path()
        assert sum(1 for t in path if t.role == "user") == 5
        assert sum(len(t.tool_calls) for t in path) >= 5

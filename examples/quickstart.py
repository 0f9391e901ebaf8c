"""The convo demo: a persisted multi-turn chat with reasoning, a tool call and a branch.

Offline by default: it talks to convo's fake Databricks endpoint (which signs
reasoning, verifies it on replay and answers every provider-rule violation with
the 400 Databricks gives), and persists to SQLite. Set DATABRICKS_HOST and
DATABRICKS_TOKEN to talk to a real workspace instead, and CONVO_DATABASE_URL to
choose the database (default: sqlite:///convo-demo.db).

Run: .venv/bin/python examples/quickstart.py
"""

from __future__ import annotations

import os

import convo
import convo.store
from convo import (
    Chat,
    Reply,
    RequestParams,
    ThinkingBudget,
    Tool,
    ToolCallBlock,
    ToolResultBlock,
    render_tree,
)
from convo.client import Client
from convo.store import Store
from convo.testing.fake import FakeEndpoint

TARGET = "databricks-claude-sonnet-4-5"
WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
STATIONS = {"Oslo": "3 C, light snow", "Lima": "19 C, overcast"}


def run_tool(call: ToolCallBlock) -> ToolResultBlock:
    """Our side of the tool call: look the city up."""
    city = str(call.parsed_arguments().get("city", ""))
    return ToolResultBlock(call_id=call.id, content=STATIONS.get(city, "no station"))


def answer(chat: Chat, cid: str, reply: Reply) -> Reply:
    """Run the tool loop until the model answers in words."""
    for _ in range(5):
        if not reply.tool_calls:
            break
        for call in reply.tool_calls:
            print(f"   tool call: {call.name}({call.arguments})")
        reply = chat.submit_tool_results(cid, [run_tool(c) for c in reply.tool_calls])
    return reply


def client_for_environment() -> tuple[Client, str]:
    """A client for the workspace in the environment, or for the offline fake."""
    if os.environ.get("DATABRICKS_HOST") and os.environ.get("DATABRICKS_TOKEN"):
        return Client(), os.environ["DATABRICKS_HOST"]
    endpoint = FakeEndpoint()
    client = Client(
        host="https://fake.convo.invalid",
        token="offline",
        transport=endpoint.transport(),
    )
    return client, "the offline fake endpoint"


def main() -> None:
    url = os.environ.get("CONVO_DATABASE_URL", "sqlite:///convo-demo.db")
    convo.store.upgrade(url)
    client, where = client_for_environment()
    print(f"convo demo: {TARGET} via {where}, persisted to {url}\n")
    with Store(url, tenant="demo") as store, client:
        chat = Chat(
            store=store,
            client=client,
            target=convo.get_target(TARGET),
            params=RequestParams(
                max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048)
            ),
            tools=(WEATHER,),
        )
        cid = chat.start(system_prompt="Answer briefly.", title="Weather demo")

        print("you: What is the weather in Oslo? Use get_weather.")
        reply = answer(
            chat, cid, chat.send(cid, "What is the weather in Oslo? Use get_weather.")
        )
        print(f"assistant: {reply.text}\n")

        print("you: Should I bring an umbrella?")
        reply = chat.send(cid, "Should I bring an umbrella?")
        print(f"assistant: {reply.text}")
        usage = reply.usage
        if usage is not None:
            print(f"   usage: {usage.prompt_tokens} in, {usage.completion_tokens} out")
        for note in reply.notes:
            print(f"   policy {note.policy}: {note.action} {note.path}")
        print()

        first_question = store.load(cid).path_ids()[1]
        print("(edit the first question on a new branch 'lima')")
        print("you: What is the weather in Lima? Use get_weather.")
        edited = chat.edit(
            cid,
            first_question,
            "What is the weather in Lima? Use get_weather.",
            branch="lima",
        )
        reply = answer(chat, cid, edited)
        print(f"assistant: {reply.text}\n")

        print("The conversation, every branch (* marks the active one):")
        print(render_tree(store.load_graph(cid)))
        print(
            f"\nStored as {cid}. Look again with: convo show {cid} --url {url} --tenant demo"
        )


if __name__ == "__main__":
    main()

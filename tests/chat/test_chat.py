"""Chat end to end: store, policies, wire format, client and the fake endpoint."""

from __future__ import annotations

import asyncio
import json

import pytest

from convo import (
    AsyncChat,
    Chat,
    RequestParams,
    ThinkingBudget,
    Tool,
    ToolResultBlock,
    get_target,
)
from convo._events import Finished, TextDelta
from convo.client import AsyncClient, Client
from convo.errors import APIError, ServerError, StreamError
from convo.store import AsyncStore, Store
from convo.testing.fake import FakeEndpoint, Fault

CLAUDE = "databricks-claude-sonnet-4-5"
# A system prompt long enough to be cacheable (over 1,024 estimated tokens).
SYSTEM = "You are a careful weather assistant. " + " ".join(
    f"Rule {i}: answer in metric units and cite the station." for i in range(140)
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
PARAMS = RequestParams(max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048))


def make_chat(store: Store, client: Client) -> Chat:
    return Chat(
        store=store,
        client=client,
        target=get_target(CLAUDE),
        params=PARAMS,
        tools=(WEATHER,),
    )


def answer_calls(reply_calls: tuple[object, ...]) -> list[ToolResultBlock]:
    return [
        ToolResultBlock(call_id=call.id, content=f"{json.loads(call.arguments)}: 3 C")  # type: ignore[attr-defined]
        for call in reply_calls
    ]


class TestChatToolLoop:
    def test_a_tool_loop_with_reasoning_is_accepted_and_reads_the_cache(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start(system_prompt=SYSTEM)
            first = chat.send(cid, "What does get_weather say for Oslo?")
            assert first.tool_calls, "the fake endpoint calls a tool it is asked about"
            assert first.turn.reasoning
            assert first.turn.reasoning[0].is_signed
            second = chat.submit_tool_results(cid, answer_calls(first.tool_calls))
            assert "3 C" in second.text
            third = chat.send(cid, "Thanks, and what should I wear?")
            assert third.text

            statuses = [r.status for r in endpoint.responses]
            assert statuses == [200, 200, 200], [r.rule for r in endpoint.responses]
            usages = [r.usage for r in (first, second, third)]
            assert all(u is not None for u in usages)
            assert all((u.cache_read_tokens or 0) > 0 for u in usages[1:] if u)

            stored = store.load(cid)
            assert [t.role for t in stored.path()] == [
                "system",
                "user",
                "assistant",
                "tool",
                "assistant",
                "user",
                "assistant",
            ]
            answers = [t for t in stored.path() if t.role == "assistant"]
            assert all(t.generated_from for t in answers)

    def test_signed_reasoning_of_the_tool_session_is_replayed_byte_exact(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start()
            first = chat.send(cid, "Use get_weather for Lima please")
            chat.submit_tool_results(cid, answer_calls(first.tool_calls))
            replayed = endpoint.requests[-1].json()["messages"]
            assistant = next(m for m in replayed if m["role"] == "assistant")
            block = assistant["content"][0]
            part = first.turn.reasoning[0].parts[0]
            assert block["type"] == "reasoning"
            assert block["summary"][0]["text"] == part.text  # type: ignore[union-attr]
            assert block["summary"][0]["signature"] == part.signature  # type: ignore[union-attr]


class TestChatFailures:
    def test_the_user_turn_is_stored_before_sending_and_no_answer_after_a_failure(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        endpoint.inject(Fault.server_error(times=10))
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start()
            with pytest.raises(ServerError):
                chat.send(cid, "Hello?")
            assert [t.role for t in store.load(cid).path()] == ["user"]
            endpoint.reset()
            reply = chat.complete(cid)
            assert [t.role for t in store.load(cid).path()] == ["user", "assistant"]
            assert reply.text

    def test_a_retried_request_stores_exactly_one_answer(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        endpoint.inject(Fault.rate_limited(retry_after=1))
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start()
            reply = chat.send(cid, "Hi there")
            assert reply.attempts == 2
            assert [t.role for t in store.load(cid).path()] == ["user", "assistant"]

    def test_a_stream_cut_mid_answer_stores_no_answer(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start()
            endpoint.inject(Fault.drop(after_parts=3))
            with pytest.raises((StreamError, APIError)):
                list(chat.stream(cid, "Tell me a story"))
            assert [t.role for t in store.load(cid).path()] == ["user"]


class TestChatStreamingAndBranches:
    def test_streaming_yields_text_and_saves_the_answer_at_the_end(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start()
            events = list(chat.stream(cid, "Hello streaming world"))
            text = "".join(e.text for e in events if isinstance(e, TextDelta))
            last = events[-1]
            assert isinstance(last, Finished)
            assert last.turn is not None
            assert last.turn.text == text
            assert store.load(cid).path()[-1] == last.turn

    def test_regenerate_and_edit_put_answers_on_new_active_branches(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start()
            chat.send(cid, "First question")
            chat.regenerate(cid, branch="again")
            user_id = store.load(cid).last_user_id()
            assert user_id is not None
            edited = chat.edit(cid, user_id, "A better question", branch="edited")
            graph = store.load_graph(cid)
            assert set(graph.heads) == {"main", "again", "edited"}
            assert graph.active == "edited"
            assert edited.conversation.path()[0].text == "A better question"


class TestAsyncChat:
    def test_the_async_chat_runs_the_same_tool_loop(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint
    ):
        async def scenario() -> list[str]:
            async with (
                AsyncStore(chat_db_url, tenant=tenant) as store,
                AsyncClient(
                    host="https://fake.convo.invalid",
                    token="test-token",
                    transport=endpoint.async_transport(),
                ) as client,
            ):
                chat = AsyncChat(
                    store=store,
                    client=client,
                    target=get_target(CLAUDE),
                    params=PARAMS,
                    tools=(WEATHER,),
                )
                cid = await chat.start(system_prompt=SYSTEM)
                first = await chat.send(cid, "Ask get_weather about Oslo")
                await chat.submit_tool_results(cid, answer_calls(first.tool_calls))
                events = [e async for e in chat.stream(cid, "And tomorrow?")]
                assert isinstance(events[-1], Finished)
                path = (await store.load(cid)).path()
                return [t.role for t in path]

        roles = asyncio.run(scenario())
        assert roles == [
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
            "assistant",
        ]
        assert [r.status for r in endpoint.responses] == [200, 200, 200]

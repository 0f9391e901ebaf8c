"""Chat.compact: a summary turn on the branch, by the model or a summarizer."""

from __future__ import annotations

import asyncio
import json

import pytest

from convo import (
    COMPACT_PROMPT,
    AsyncChat,
    Chat,
    RequestParams,
    ThinkingBudget,
    Tool,
    get_target,
)
from convo.client import AsyncClient, Client
from convo.errors import NothingPendingError
from convo.policies import is_summary
from convo.store import AsyncStore, Store
from convo.testing.fake import FakeEndpoint, ScriptedReply

CLAUDE = "databricks-claude-sonnet-4-5"
WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
PARAMS = RequestParams(max_tokens=4000, reasoning=ThinkingBudget(budget_tokens=1024))


def make_chat(store: Store, client: Client) -> Chat:
    return Chat(
        store=store,
        client=client,
        target=get_target(CLAUDE),
        params=PARAMS,
        tools=(WEATHER,),
    )


def texts(body: dict[str, object]) -> list[str]:
    out = []
    for message in body["messages"]:  # type: ignore[attr-defined]
        content = message.get("content")
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out.append("".join(p.get("text", "") for p in content))
    return out


class TestCompact:
    def test_the_model_writes_a_summary_that_stands_in_for_the_history(
        self, chat_db_url: str, tenant: str, client: Client, endpoint: FakeEndpoint
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start(system_prompt="Be brief.")
            chat.send(cid, "My name is Ada.")
            chat.send(cid, "I live in Oslo.")
            endpoint.add_script(
                ScriptedReply(text="The user is Ada, who lives in Oslo.")
            )
            summary_id = chat.compact(cid)
            sent = endpoint.requests[-1].json()
            assert sent["messages"][-1]["content"].startswith(COMPACT_PROMPT)
            assert "My name is Ada." in sent["messages"][-1]["content"]
            chat.send(cid, "Where do I live?")
            body = endpoint.requests[-1].json()
            assert texts(body) == [
                "Be brief.",
                "[Summary of the earlier conversation]\n"
                "The user is Ada, who lives in Oslo.Where do I live?",
            ]
            graph = store.load_graph(cid)
            path = graph.path()
            assert len(path) == 8  # nothing deleted: 5 turns, the summary, 2 more
            assert is_summary(graph.turn(summary_id))
            exported = json.loads(store.export(cid))
            assert "convo.summary" in json.dumps(exported)

    def test_the_prefix_stays_fixed_after_compaction_so_the_cache_is_read(
        self, chat_db_url: str, tenant: str, client: Client, endpoint: FakeEndpoint
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start(system_prompt="Be brief. " * 600)
            for n in range(3):
                chat.send(cid, f"Fact {n}: " + "detail " * 50)
            chat.compact(cid, summarizer=lambda turns: f"{len(turns)} turns of facts")
            first = chat.send(cid, "Next one.")
            second = chat.send(cid, "And another.")
            before = texts(endpoint.requests[-2].json())
            after = texts(endpoint.requests[-1].json())
            assert after[: len(before)] == before
            assert first.usage is not None
            assert second.usage is not None
            assert (second.usage.cache_read_tokens or 0) > 0

    def test_keeps_the_last_exchanges_verbatim_and_other_branches_unaffected(
        self, chat_db_url: str, tenant: str, client: Client, endpoint: FakeEndpoint
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start(system_prompt="Be brief.")
            chat.send(cid, "one")
            chat.send(cid, "two")
            at = store.load(cid).head()
            store.fork(cid, "side", at=at, switch=False)
            chat.compact(cid, summarizer=lambda turns: "said one", keep_last=1)
            chat.send(cid, "three")
            assert texts(endpoint.requests[-1].json())[1].startswith(
                "[Summary of the earlier conversation]\nsaid one"
            )
            assert "two" in texts(endpoint.requests[-1].json())[1]
            chat.send(cid, "four", branch="side")
            assert texts(endpoint.requests[-1].json())[1] == "one"

    def test_refuses_while_a_tool_session_is_open_and_stores_nothing(
        self, chat_db_url: str, tenant: str, client: Client
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client)
            cid = chat.start()
            reply = chat.send(cid, "What is the weather in Paris?")
            assert reply.tool_calls
            before = store.load(cid).head()
            with pytest.raises(NothingPendingError, match="tool session"):
                chat.compact(cid, summarizer=lambda turns: "x")
            assert store.load(cid).head() == before


class TestAsyncCompact:
    def test_the_async_chat_compacts_by_the_model_and_on_its_threshold(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint
    ) -> None:
        async def scenario() -> tuple[int, list[str]]:
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
                    compact_at=400,
                    compact_keep_last=0,
                )
                cid = await chat.start(system_prompt="Be brief.")
                for n in range(6):
                    endpoint.add_script(
                        ScriptedReply(text=f"Answer {n}. " + "words " * 60)
                    )
                    await chat.send(cid, f"Question {n}: " + "detail " * 60)
                path = (await store.load(cid)).path()
                return sum(1 for t in path if is_summary(t)), texts(
                    endpoint.requests[-1].json()
                )

        summaries, last = asyncio.run(scenario())
        assert summaries >= 1
        assert last[1].startswith("[Summary of the earlier conversation]\n")

"""One way to report an incomplete answer, end to end against the fake endpoint.

An answer that did not arrive whole is raised, never returned: a stream cut
or ended before its finish raises `StreamInterruptedError`, an error event
mid-stream raises `StreamError`, and either way `.partial` is the
`PartialTurn` that arrived. `Finished` always holds a whole, stored turn.
Nothing is stored for an incomplete answer; the question stays stored, so
`complete()` asks again. A non-streamed answer is whole or not at all: a cut
body is retried, then raised as `APIConnectionError` with nothing stored.

Tool results are spelt the same way on both paths: `submit_tool_results(cid,
results)` and `stream_tool_results(cid, results)`.
"""

from __future__ import annotations

import asyncio

import pytest

from convo import AsyncChat, Chat, Finished, PartialTurn, ToolResultBlock, get_target
from convo.client import AsyncClient, Client
from convo.errors import APIConnectionError, StreamError, StreamInterruptedError
from convo.store import AsyncStore, Store
from convo.testing.fake import FakeEndpoint, Fault, ScriptedCall, ScriptedReply

CLAUDE = "databricks-claude-sonnet-4-5"
WEATHER = ScriptedReply(
    text="Let me look.",
    tool_calls=(ScriptedCall(name="get_weather", arguments={"city": "Oslo"}),),
)


def _roles(store: Store, cid: str) -> list[str]:
    return [t.role for t in store.load(cid).path()]


class TestAStreamThatIsCut:
    def test_it_raises_with_the_partial_and_stores_only_the_question(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            cid = chat.start()
            endpoint.inject(Fault.drop(after_parts=3))
            seen: list[object] = []
            with pytest.raises(StreamInterruptedError) as info:
                seen.extend(chat.stream(cid, "Tell me a story"))
            assert not any(isinstance(e, Finished) for e in seen)
            partial = info.value.partial
            assert isinstance(partial, PartialTurn)
            assert partial.missing
            assert partial.turn.role == "assistant"
            assert _roles(store, cid) == ["user"]

            answer = chat.complete(cid)
            assert answer.turn.text.startswith(partial.turn.text)
            assert _roles(store, cid) == ["user", "assistant"]

    def test_an_error_event_mid_stream_is_reported_the_same_way(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            cid = chat.start()
            endpoint.inject(Fault.error_event(after_parts=3))
            with pytest.raises(StreamError) as info:
                list(chat.stream(cid, "Tell me a story"))
            assert isinstance(info.value.partial, PartialTurn)
            assert _roles(store, cid) == ["user"]

    def test_the_async_chat_reports_it_the_same_way(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint
    ) -> None:
        async def scenario() -> tuple[object, list[object]]:
            async with (
                AsyncStore(chat_db_url, tenant=tenant) as store,
                AsyncClient(
                    host="https://fake.convo.invalid",
                    token="test-token",
                    transport=endpoint.async_transport(),
                ) as client,
            ):
                chat = AsyncChat(store=store, client=client, target=get_target(CLAUDE))
                cid = await chat.start()
                endpoint.inject(Fault.drop(after_parts=3))
                with pytest.raises(StreamInterruptedError) as info:
                    async for _event in chat.stream(cid, "Tell me a story"):
                        pass
                roles: list[object] = [t.role for t in (await store.load(cid)).path()]
                return info.value.partial, roles

        partial, roles = asyncio.run(scenario())
        assert isinstance(partial, PartialTurn)
        assert roles == ["user"]


class TestAWholeStream:
    def test_it_ends_with_finished_holding_the_stored_turn(
        self, chat_db_url: str, tenant: str, client: Client
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            cid = chat.start()
            last = list(chat.stream(cid, "Hello"))[-1]
            assert isinstance(last, Finished)
            assert last.turn == store.load(cid).path()[-1]


class TestANonStreamedAnswer:
    def test_a_cut_body_is_retried_and_the_whole_answer_stored(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            cid = chat.start()
            endpoint.inject(Fault.drop(after_parts=1))
            chat.send(cid, "Hello")
            assert _roles(store, cid) == ["user", "assistant"]

    def test_a_body_cut_every_time_stores_no_answer(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            cid = chat.start()
            endpoint.inject(Fault.drop(after_parts=1, times=50))
            with pytest.raises(APIConnectionError):
                chat.send(cid, "Hello")
            assert _roles(store, cid) == ["user"]


class TestToolResultsAreSpeltTheSameWayOnBothPaths:
    @pytest.mark.parametrize("stream", [False, True], ids=["submit", "stream"])
    def test_results_continue_the_tool_loop(
        self,
        chat_db_url: str,
        tenant: str,
        endpoint: FakeEndpoint,
        client: Client,
        stream: bool,
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            cid = chat.start()
            endpoint.add_script(WEATHER)
            (call,) = chat.send(cid, "Weather in Oslo?").turn.tool_calls
            results = [ToolResultBlock(call_id=call.id, content="3 °C")]
            if stream:
                last = list(chat.stream_tool_results(cid, results))[-1]
                assert isinstance(last, Finished)
            else:
                chat.submit_tool_results(cid, results)
            assert _roles(store, cid) == ["user", "assistant", "tool", "assistant"]

    def test_stream_takes_no_results_keyword(self) -> None:
        import inspect

        assert "results" not in inspect.signature(Chat.stream).parameters
        assert "results" not in inspect.signature(AsyncChat.stream).parameters
        for cls in (Chat, AsyncChat):
            submit = inspect.signature(cls.submit_tool_results).parameters
            streamed = inspect.signature(cls.stream_tool_results).parameters
            assert list(submit) == list(streamed)

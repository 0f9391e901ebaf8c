"""Chat keeps its promises: refused requests store nothing, heads say what may
come next, a paid-for answer survives a concurrent writer, edit edits user turns."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from convo import (
    AsyncChat,
    Chat,
    Effort,
    RequestParams,
    ThinkingBudget,
    assistant,
    get_target,
)
from convo._cli import main
from convo._json import canonical_bytes
from convo.client import AsyncClient, Client
from convo.errors import (
    AnswerConflictError,
    ConflictError,
    InvalidContentError,
    NothingPendingError,
    PendingTurnError,
    RequestRejectedError,
    RoleOrderError,
    ServerError,
    StreamInterruptedError,
)
from convo.store import AsyncStore, Store, upgrade
from convo.testing.fake import FakeEndpoint, Fault

CLAUDE = "databricks-claude-sonnet-4-5"
GPT_OSS = "databricks-gpt-oss-120b"
BUDGET = RequestParams(max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048))


class Meddling(httpx.BaseTransport):
    """Runs `before` once, just before the first request reaches the endpoint."""

    def __init__(self, inner: Any, before: Callable[[], None]) -> None:
        self.inner = inner
        self.before: Callable[[], None] | None = before

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        hook, self.before = self.before, None
        if hook is not None:
            hook()
        response: httpx.Response = self.inner.handle_request(request)
        return response


class AsyncMeddling(httpx.AsyncBaseTransport):
    """The asyncio twin of `Meddling` (the hook is a coroutine function)."""

    def __init__(self, inner: Any, before: Callable[[], Any]) -> None:
        self.inner = inner
        self.before: Callable[[], Any] | None = before

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        hook, self.before = self.before, None
        if hook is not None:
            await hook()
        response: httpx.Response = await self.inner.handle_async_request(request)
        return response


def fake_client(transport: object) -> Client:
    return Client(
        host="https://fake.convo.invalid",
        token="test-token",
        transport=transport,  # type: ignore[arg-type]
        sleep=lambda _seconds: None,
    )


class TestRefusedParametersStoreNothing:
    def test_a_reasoning_style_the_target_refuses_fails_at_construction(
        self, chat_db_url: str, tenant: str, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            with pytest.raises(RequestRejectedError) as exc:
                Chat(
                    store=store,
                    client=client,
                    target=get_target(GPT_OSS),
                    params=BUDGET,
                )
            assert exc.value.rule == "R15"

    def test_a_budget_equal_to_max_tokens_fails_at_construction(
        self, chat_db_url: str, tenant: str, client: Client
    ):
        params = RequestParams(
            max_tokens=2048, reasoning=ThinkingBudget(budget_tokens=2048)
        )
        with Store(chat_db_url, tenant=tenant) as store:
            with pytest.raises(RequestRejectedError) as exc:
                Chat(
                    store=store, client=client, target=get_target(CLAUDE), params=params
                )
            assert exc.value.rule == "R14"

    def test_max_tokens_below_one_is_refused_when_the_parameters_are_built(self):
        with pytest.raises(InvalidContentError, match=r"\$\.params\.max_tokens"):
            RequestParams(max_tokens=0)

    def test_parameters_broken_after_construction_store_nothing_and_fixing_them_sends_one_user_turn(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        target = get_target(GPT_OSS)
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=target)
            cid = chat.start(system_prompt="Be brief.")
            before = store.load_graph(cid)
            chat.params = BUDGET
            for _ in range(3):
                with pytest.raises(RequestRejectedError):
                    chat.send(cid, "Hello?")
            assert store.load_graph(cid) == before
            assert not endpoint.requests
            chat.params = RequestParams(max_tokens=500, reasoning=Effort(level="low"))
            chat.send(cid, "Hello?")
            sent = endpoint.requests[-1].json()
            assert [m["role"] for m in sent["messages"]] == ["system", "user"]

    def test_the_cli_refuses_a_thinking_budget_before_creating_a_conversation(
        self, tmp_path, capsys
    ):
        url = f"sqlite:///{tmp_path / 'chat.db'}"
        code = main(["chat", "--url", url, "--target", GPT_OSS, "--thinking", "2048"])
        assert code == 1
        assert "R15" in capsys.readouterr().err
        assert not (tmp_path / "chat.db").exists()


class TestHeadsSayWhatComesNext:
    def test_send_on_an_unanswered_question_is_refused_and_names_complete(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            cid = chat.start()
            endpoint.inject(Fault.server_error(times=10))
            with pytest.raises(ServerError):
                chat.send(cid, "First?")
            endpoint.reset()
            before = store.load_graph(cid)
            with pytest.raises(PendingTurnError, match=r"complete\(\)"):
                chat.send(cid, "Second?")
            assert store.load_graph(cid) == before
            chat.complete(cid)
            assert [t.role for t in store.load(cid).path()] == ["user", "assistant"]

    def test_complete_on_an_answered_head_sends_and_stores_nothing(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            cid = chat.start()
            chat.send(cid, "Hi")
            sent = len(endpoint.requests)
            before = store.load_graph(cid)
            for _ in range(2):
                with pytest.raises(NothingPendingError, match="regenerate"):
                    chat.complete(cid)
            assert len(endpoint.requests) == sent
            assert store.load_graph(cid) == before

    def test_complete_on_an_empty_branch_is_refused(
        self, chat_db_url: str, tenant: str, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            with pytest.raises(NothingPendingError):
                chat.complete(chat.start())

    def test_a_stream_that_ends_without_its_answer_raises_with_the_partial_turn(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            cid = chat.start()
            endpoint.inject(Fault.drop(after_parts=3))
            with pytest.raises(StreamInterruptedError) as exc:
                list(chat.stream(cid, "Tell me a story"))
            assert exc.value.partial is not None
            assert [t.role for t in store.load(cid).path()] == ["user"]


class TestAnswersSurviveAConcurrentWriter:
    def test_an_answer_that_lost_the_head_is_stored_on_a_side_branch(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint
    ):
        with (
            Store(chat_db_url, tenant=tenant) as store,
            Store(chat_db_url, tenant=tenant) as other,
        ):
            holder: dict[str, str] = {}

            def second_writer() -> None:
                head = other.load(holder["cid"]).head()
                other.append(holder["cid"], assistant("Theirs."), expected_head=head)

            with fake_client(Meddling(endpoint.transport(), second_writer)) as client:
                chat = Chat(store=store, client=client, target=get_target(CLAUDE))
                cid = holder["cid"] = chat.start()
                with pytest.raises(AnswerConflictError) as exc:
                    chat.send(cid, "Who answers?")
        error = exc.value
        assert isinstance(error, ConflictError)
        assert error.branch.startswith("conflict-")
        assert error.branch in str(error)
        assert "do not send it again" in str(error)
        with Store(chat_db_url, tenant=tenant) as store:
            graph = store.load_graph(cid)
            main_path = graph.path("main")
            side_path = graph.path(error.branch)
        assert [t.text for t in main_path] == ["Who answers?", "Theirs."]
        assert side_path[0] == main_path[0]
        assert side_path[-1] == error.reply.turn
        assert graph.head(error.branch) == error.turn_id == error.reply.turn_id
        answers = [n for n in graph.walk() if n.turn.text == error.reply.turn.text]
        assert len(answers) == 1
        assert error.reply.conversation.path() == side_path

    def test_the_async_chat_stores_a_conflicting_answer_on_a_side_branch(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint
    ):
        async def scenario() -> tuple[AnswerConflictError, list[str]]:
            async with AsyncStore(chat_db_url, tenant=tenant) as store:
                holder: dict[str, str] = {}

                async def second_writer() -> None:
                    head = (await store.load(holder["cid"])).head()
                    await store.append(
                        holder["cid"], assistant("Theirs."), expected_head=head
                    )

                async with AsyncClient(
                    host="https://fake.convo.invalid",
                    token="test-token",
                    transport=AsyncMeddling(endpoint.async_transport(), second_writer),
                ) as client:
                    chat = AsyncChat(
                        store=store, client=client, target=get_target(CLAUDE)
                    )
                    cid = holder["cid"] = await chat.start()
                    with pytest.raises(AnswerConflictError) as exc:
                        await chat.send(cid, "Who answers?")
                    side = await store.load(cid, branch=exc.value.branch)
                    return exc.value, [t.text for t in side.path()]

        error, side = asyncio.run(scenario())
        assert side == ["Who answers?", error.reply.turn.text]


class TestEditEditsUserTurnsOnly:
    @pytest.mark.parametrize("index", [0, 2], ids=["system", "assistant"])
    def test_editing_a_turn_that_is_not_a_user_message_is_refused(
        self,
        chat_db_url: str,
        tenant: str,
        endpoint: FakeEndpoint,
        client: Client,
        index: int,
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(store=store, client=client, target=get_target(CLAUDE))
            cid = chat.start(system_prompt="Be brief.")
            reply = chat.send(cid, "Hi")
            turn_id = reply.conversation.path_ids()[index]
            before = store.load_graph(cid)
            sent = len(endpoint.requests)
            with pytest.raises(RoleOrderError, match="Only a user message"):
                chat.edit(cid, turn_id, "Changed", branch="edited")
            assert store.load_graph(cid) == before
            assert len(endpoint.requests) == sent


class TestPreview:
    def test_the_preview_is_byte_for_byte_what_complete_posts(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(
                store=store, client=client, target=get_target(CLAUDE), params=BUDGET
            )
            cid = chat.start(system_prompt="Be brief.")
            endpoint.inject(Fault.server_error(times=10))
            with pytest.raises(ServerError):
                chat.send(cid, "Pending?")
            endpoint.reset()
            before = store.load_graph(cid)
            preview = chat.preview(cid)
            assert store.load_graph(cid) == before
            assert not endpoint.requests
            chat.complete(cid)
        assert endpoint.requests[-1].body == canonical_bytes(preview)
        assert preview["thinking"] == {"type": "enabled", "budget_tokens": 2048}

    def test_the_payload_command_prints_what_the_next_complete_posts(
        self, tmp_path, endpoint: FakeEndpoint, client: Client, capsysbinary
    ):
        url = f"sqlite:///{tmp_path / 'p.db'}"
        upgrade(url)
        with Store(url) as store:
            chat = Chat(
                store=store, client=client, target=get_target(CLAUDE), params=BUDGET
            )
            cid = chat.start(system_prompt="Be brief.")
            chat.send(cid, "One")
            endpoint.inject(Fault.server_error(times=10))
            with pytest.raises(ServerError):
                chat.send(cid, "Two")
            endpoint.reset()
            argv = ["payload", cid, "--url", url, "--target", CLAUDE]
            argv += ["--max-tokens", "8000", "--thinking", "2048"]
            assert main(argv) == 0
            printed = capsysbinary.readouterr().out
            chat.complete(cid)
        assert printed == endpoint.requests[-1].body + b"\n"

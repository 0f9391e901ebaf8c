"""A backend serving many conversations at once: every request is its own conversation's.

A store builds the statements of a load once per process and binds each
call's tenant, conversation id, branch and head to them
(`convo.store._queries`). A backend interleaves the requests of many
conversations, of several tenants, on several branches: here three
conversations of two tenants take turns through `Chat` against the fake
endpoint, on each database, with tool loops in exchanges of each of them,
answers streamed and not, and one conversation regenerated onto a new branch
(whose loads then take the recursive path query). After every request, the
body the endpoint received must hold exactly that conversation's system prompt
and questions; at the end every stored path must, and no tenant may load
another's conversation, and every usage ledger (per conversation and per
branch, kept by the appends) must be the sum of the stored answers' usage.
A fresh store without a cache (a restarted backend) then loads every graph
exactly as the warm one holds it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

import pytest

from convo import (
    Chat,
    RequestParams,
    ThinkingBudget,
    ToolResultBlock,
    Turn,
    get_target,
)
from convo.client import Client
from convo.errors import NotFoundError
from convo.store import Store, UsageTotals
from convo.testing.fake import FakeEndpoint, ScriptedCall, ScriptedReply
from convo.wire import _canonical_fast as fast

CLAUDE = "databricks-claude-sonnet-4-5"
THINKING = RequestParams(max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048))
EXCHANGES = 15
TOOL_EXCHANGES = frozenset({0, 4, 5, 8, 13})
"""A tool loop in each of the three conversations (exchange n goes to conversation n % 3)."""
REGENERATED_AFTER = 7
"""After this exchange, conversation B's last answer is regenerated on branch `retry`."""


def _texts(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def _seen(endpoint: FakeEndpoint) -> tuple[str, list[str]]:
    """The system prompt and the user questions of the last request the endpoint received."""
    messages = endpoint.requests[-1].json()["messages"]
    system = [_texts(m["content"]) for m in messages if m["role"] == "system"]
    questions = [_texts(m["content"]) for m in messages if m["role"] == "user"]
    return "".join(system), questions


def _ledger(turns: Iterable[Turn]) -> UsageTotals:
    """What the ledger should hold for `turns`: the sum of their reported usage."""
    total = UsageTotals()
    for turn in turns:
        if (usage := turn.usage) is not None:
            total += UsageTotals(
                input_tokens=usage.prompt_tokens or 0,
                cache_read_tokens=usage.cache_read_tokens or 0,
                cache_write_tokens=usage.cache_write_tokens or 0,
                output_tokens=usage.completion_tokens or 0,
                reasoning_tokens=usage.reasoning_tokens or 0,
            )
    return total


class TestInterleavedConversations:
    def test_every_request_and_every_stored_path_is_its_own_conversation(
        self,
        chat_db_url: str,
        endpoint: FakeEndpoint,
        client: Client,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        suffix = secrets.token_hex(4)
        first, second = f"first-{suffix}", f"second-{suffix}"
        with (
            Store(chat_db_url, tenant=first) as one,
            Store(chat_db_url, tenant=second) as two,
        ):
            target = get_target(CLAUDE)
            chats = {
                first: Chat(store=one, client=client, target=target, params=THINKING),
                second: Chat(store=two, client=client, target=target, params=THINKING),
            }
            conversations = []
            for tenant, label in ((first, "A"), (first, "B"), (second, "C")):
                cid = chats[tenant].start(system_prompt=f"You are assistant {label}.")
                conversations.append((tenant, cid, label))
            asked: dict[str, list[str]] = {cid: [] for _, cid, _ in conversations}

            def check(cid: str, label: str) -> None:
                assert _seen(endpoint) == (f"You are assistant {label}.", asked[cid])

            for n in range(EXCHANGES):
                tenant, cid, label = conversations[n % 3]
                chat = chats[tenant]
                streamed = (n // 3) % 2 == 1
                question = f"{label}: question {n}"
                if n in TOOL_EXCHANGES:
                    call = ScriptedCall(name="lookup", arguments={"about": label})
                    endpoint.add_script(
                        ScriptedReply(text="Let me look.", tool_calls=(call,))
                    )
                if streamed:
                    list(chat.stream(cid, question))
                else:
                    chat.send(cid, question)
                asked[cid].append(question)
                check(cid, label)
                if n in TOOL_EXCHANGES:
                    (pending,) = chat.store.load(cid).path()[-1].tool_calls
                    results = [ToolResultBlock(call_id=pending.id, content=label)]
                    if streamed:
                        list(chat.stream_tool_results(cid, results))
                    else:
                        chat.submit_tool_results(cid, results)
                    check(cid, label)
                if n == REGENERATED_AFTER:
                    _, b_cid, _ = conversations[1]
                    chats[first].regenerate(b_cid, branch="retry")
                    check(b_cid, "B")

            for tenant, cid, label in conversations:
                store = chats[tenant].store
                loaded = store.load(cid)
                path = loaded.path()
                assert path[0].text == f"You are assistant {label}."
                assert [t.text for t in path if t.role == "user"] == asked[cid]
                assert path[-1].role == "assistant"
                stranger = two if tenant == first else one
                with pytest.raises(NotFoundError):
                    stranger.load(cid)
                graph = store.load_graph(cid)
                detail = store.info(cid)
                assert detail.usage == _ledger(n.turn for n in graph.walk())
                assert detail.usage.output_tokens > 0
                for branch in detail.branches:
                    assert branch.usage == _ledger(graph.path(branch.name))
            # A restarted backend: a fresh store with no cache decodes every
            # row again (through the C decoder and node builder where they are
            # built), and gets the very graphs the warm store holds.
            built = 0
            real = fast.C_TURN

            def counted(plain: Any, memo: dict[str, Any]) -> Turn | None:
                nonlocal built
                turn = real(plain, memo) if real is not None else None
                built += turn is not None
                return turn

            monkeypatch.setattr(fast, "C_TURN", counted if real is not None else None)
            for tenant, cid, _ in conversations:
                warm = chats[tenant].store.load_graph(cid)
                with Store(chat_db_url, tenant=tenant, cache_chars=0) as cold:
                    again = cold.load_graph(cid)
                    assert cold.load(cid).path() == chats[tenant].store.load(cid).path()
                assert {n.id: n.turn for n in again.walk()} == {
                    n.id: n.turn for n in warm.walk()
                }
                assert dict(again.heads.items()) == dict(warm.heads.items())
            assert built > 0 or real is None
            b_cid = conversations[1][1]
            main = one.load(b_cid, branch="main").path()
            retry = one.load(b_cid).path()
            assert one.load(b_cid).active == "retry"
            assert retry[: len(main) - 1] == main[:-1]  # forked before the old answer
            assert [t.text for t in main if t.role == "user"] == asked[b_cid][:3]

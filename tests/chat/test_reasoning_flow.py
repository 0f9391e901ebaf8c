"""Reasoning through `Chat` on Claude with thinking on: the tool loop wherever it starts.

Specification (the defect fixed by per-target prefix digests): a tool call that
is not in the first exchange is accepted, and the request continuing the loop
carries the tool-calling answer's reasoning byte-exact (R2); from the third user
turn on, every request carries the previous answer's reasoning byte-exact and
`bind_prefixes` has nothing to say (R5). A prefix that really changed still
unbinds: on a target whose server keeps earlier reasoning, an earlier user turn
rewritten under later answers gets their reasoning dropped with an R5 note.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from convo import Chat, Reply, get_target, user
from convo.client import Client
from convo.store import Store
from convo.testing.fake import FakeEndpoint
from tests.chat._soak import TOOLS, params_for, reasoning_blocks, results_for

CLAUDE_TARGETS = (
    "databricks-claude-sonnet-4",
    "databricks-claude-sonnet-4-5",
    "databricks-claude-opus-4-1",
    "databricks-claude-opus-4-5",
)


def make_chat(store: Store, client: Client, target_name: str) -> Chat:
    target = get_target(target_name)
    return Chat(
        store=store,
        client=client,
        target=target,
        params=params_for(target.family),
        tools=TOOLS,
    )


def returned_reasoning(endpoint: FakeEndpoint, index: int) -> list[dict[str, Any]]:
    """The reasoning blocks of answer `index`, exactly as the fake returned them."""
    body = json.loads(endpoint.responses[index].body)
    return reasoning_blocks(body["choices"][0]["message"])


def sent_messages(endpoint: FakeEndpoint, index: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = endpoint.requests[index].json()["messages"]
    return messages


def last_assistant(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return [m for m in messages if m["role"] == "assistant"][-1]


def binding_notes(reply: Reply) -> list[str]:
    return [n.reason for n in reply.notes if n.policy == "bind_prefixes"]


@pytest.mark.parametrize("target_name", CLAUDE_TARGETS)
class TestAToolLoopAfterAGreeting:
    def test_the_loop_is_accepted_and_replays_the_calling_answers_reasoning(
        self,
        target_name: str,
        chat_db_url: str,
        tenant: str,
        endpoint: FakeEndpoint,
        client: Client,
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client, target_name)
            cid = chat.start(system_prompt="Answer briefly.")
            chat.send(cid, "Hello")
            calling = chat.send(cid, "Weather in Oslo?")
            assert calling.tool_calls, "the second exchange calls get_weather"
            summary = chat.submit_tool_results(cid, results_for(calling.tool_calls))

        assert [r.status for r in endpoint.responses] == [200, 200, 200], [
            r.rule for r in endpoint.responses
        ]
        assert "get_weather returned" in summary.text
        replayed = last_assistant(sent_messages(endpoint, 2))
        assert replayed.get("tool_calls"), "the continuing request ends in the loop"
        assert reasoning_blocks(replayed) == returned_reasoning(endpoint, 1)
        assert returned_reasoning(endpoint, 1), "thinking on: the call was reasoned"


@pytest.mark.parametrize("target_name", CLAUDE_TARGETS)
class TestTheThirdUserTurnOn:
    def test_every_request_carries_the_previous_answers_reasoning_unbound(
        self,
        target_name: str,
        chat_db_url: str,
        tenant: str,
        endpoint: FakeEndpoint,
        client: Client,
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client, target_name)
            cid = chat.start(system_prompt="Answer briefly.")
            replies = [chat.send(cid, "Hello")]
            calling = chat.send(cid, "Please use get_weather for Oslo.")
            replies += [
                calling,
                chat.submit_tool_results(cid, results_for(calling.tool_calls)),
            ]
            later = [chat.send(cid, text) for text in ("Thanks", "More", "Bye")]

        assert all(r.status == 200 for r in endpoint.responses), [
            r.rule for r in endpoint.responses
        ]
        # Requests 3, 4 and 5 open the third, fourth and fifth user turns.
        for index in (3, 4, 5):
            previous = last_assistant(sent_messages(endpoint, index))
            expected = returned_reasoning(endpoint, index - 1)
            assert expected, f"answer {index - 1} was reasoned"
            assert reasoning_blocks(previous) == expected, f"request {index}"
        for reply in replies + later:
            assert binding_notes(reply) == [], reply.notes


class TestAChangedPrefixStillUnbinds:
    def test_a_rewritten_earlier_user_turn_drops_later_reasoning_with_an_r5_note(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ):
        with Store(chat_db_url, tenant=tenant) as store:
            chat = make_chat(store, client, "databricks-claude-opus-4-5")
            cid = chat.start(system_prompt="Answer briefly.")
            chat.send(cid, "Hello")
            chat.send(cid, "How are you?")
            graph = store.load_graph(cid)
            path = graph.path_ids()
            # Branch "rewritten": the first user turn edited, the later turns
            # (answers with their reasoning and stamps) kept as they were.
            store.fork(cid, "rewritten", at=path[0], switch=True)
            head = store.append(
                cid, user("Hello there"), branch="rewritten", expected_head=path[0]
            )
            for turn_id in path[2:]:
                head = store.append(
                    cid, graph.turn(turn_id), branch="rewritten", expected_head=head
                )
            reply = chat.send(cid, "And now?", branch="rewritten")

        assert [r.status for r in endpoint.responses] == [200, 200, 200]
        notes = binding_notes(reply)
        assert notes, reply.notes
        assert all("R5" in note for note in notes), notes
        sent = sent_messages(endpoint, 2)
        assistants = [m for m in sent if m["role"] == "assistant"]
        assert len(assistants) == 2
        assert all(reasoning_blocks(m) == [] for m in assistants)

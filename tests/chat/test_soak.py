"""The conversation soak: every built-in target through `Chat` and the fake endpoint.

Per target, seed and mode (whole JSON answers or streamed), one conversation of
25 exchanges with 0-3 tool rounds each, regenerations, edits of earlier user
turns, and injected faults (a 429 that outlasts the retries, a dropped stream)
resumed with `complete()`. Specification: the endpoint refuses nothing (no
`RequestRejectedError` from convo, no 400 from the fake), every replayed
reasoning block is byte-exact what the endpoint returned, Claude with thinking
gets the previous answer's reasoning and every step of the tool session, no
reply carries a `bind_prefixes` note (no prefix changed), and
the stored conversation reloads equal to what `Chat` returned.
"""

from __future__ import annotations

import random
import warnings

import pytest

import convo
import convo.targets
from convo import Chat, get_target
from convo.client import Client
from convo.store import Store
from convo.testing.fake import DEFAULT_MODELS, FakeEndpoint
from tests.chat._soak import TOOLS, Ledger, Mode, Soak, params_for

EXCHANGES = 25
BUILT_IN = tuple(t.name for t in convo.registered_targets())
TARGETS = tuple(name for name in BUILT_IN if name in DEFAULT_MODELS)
SEEDS = {name: index for index, name in enumerate(TARGETS)}


def soak(
    target_name: str, mode: Mode, store: Store, seed: int
) -> tuple[Soak, Ledger, FakeEndpoint]:
    """One soak of `EXCHANGES` exchanges on `store`; the retiring Llama's warning is expected."""
    endpoint = FakeEndpoint(seed=seed)
    with (
        warnings.catch_warnings(),
        Client(
            host="https://fake.convo.invalid",
            token="test-token",
            transport=endpoint.transport(),
            sleep=lambda _seconds: None,
        ) as client,
    ):
        warnings.simplefilter("ignore", convo.targets.TargetDeprecationWarning)
        target = get_target(target_name)
        chat = Chat(
            store=store,
            client=client,
            target=target,
            params=params_for(target.family),
            tools=TOOLS,
        )
        run = Soak(chat=chat, endpoint=endpoint, rng=random.Random(seed), mode=mode)
        run.run(EXCHANGES)
    return run, Ledger(needs_reasoning=target.family == "claude"), endpoint


class TestConversationSoak:
    def test_the_soak_covers_every_built_in_target_but_the_generic_one(self):
        # The fake serves Databricks models only; `openai-compatible` has no model.
        assert set(BUILT_IN) - set(TARGETS) == {"openai-compatible"}

    @pytest.mark.parametrize("mode", ["json", "stream"])
    @pytest.mark.parametrize("target_name", TARGETS)
    def test_a_long_conversation_is_accepted_replays_reasoning_and_reloads_equal(
        self, target_name: str, mode: Mode, chat_db_url: str, tenant: str
    ):
        seed = SEEDS[target_name] * 2 + (mode == "stream")
        with Store(chat_db_url, tenant=tenant) as store:
            run, ledger, endpoint = soak(target_name, mode, store, seed)
            problems = ledger.record(endpoint) + run.stats.reload_problems(
                store, run.cid
            )
        assert problems == [], f"seed {seed}: " + "\n".join(problems)
        assert run.stats.exchanges == EXCHANGES
        assert run.stats.tool_rounds > 0
        assert run.stats.faults >= 4
        assert run.stats.regenerated >= 2
        assert run.stats.edited >= 2
        if mode == "stream":
            assert run.stats.streamed > EXCHANGES


class TestTheSoakLedger:
    """The soak's checker itself: it must see what it is there to catch."""

    def soaked(self, chat_db_url: str, tenant: str) -> tuple[Ledger, FakeEndpoint]:
        with Store(chat_db_url, tenant=tenant) as store:
            _, ledger, endpoint = soak(
                "databricks-claude-sonnet-4-5", "json", store, seed=7
            )
        assert ledger.record(endpoint) == []
        return ledger, endpoint

    def test_it_flags_a_replayed_reasoning_block_that_changed(
        self, chat_db_url: str, tenant: str
    ):
        ledger, endpoint = self.soaked(chat_db_url, tenant)
        body = endpoint.requests[-1].json()
        block = next(
            b
            for m in body["messages"]
            if m["role"] == "assistant" and isinstance(m["content"], list)
            for b in m["content"]
            if b["type"] == "reasoning"
        )
        block["summary"][0]["text"] += " "
        assert any("altered" in p for p in ledger.check(0, body))

    def test_it_flags_a_request_whose_last_answer_lost_its_reasoning(
        self, chat_db_url: str, tenant: str
    ):
        ledger, endpoint = self.soaked(chat_db_url, tenant)
        body = endpoint.requests[-1].json()
        for message in body["messages"]:
            if message["role"] == "assistant" and isinstance(message["content"], list):
                message["content"] = [
                    b for b in message["content"] if b["type"] != "reasoning"
                ]
        assert any("lost its reasoning" in p for p in ledger.check(0, body))

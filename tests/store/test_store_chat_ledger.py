"""End to end: `Chat` against the fake endpoint fills the ledger a backend bills from (both databases)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from convo import Chat, RequestParams, get_target
from convo.client import Client
from convo.testing.fake import FakeEndpoint


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(
        host="https://fake.convo.invalid",
        token="offline",
        transport=FakeEndpoint().transport(),
    ) as c:
        yield c


class TestChatFillsTheLedger:
    def test_many_exchanges_sum_to_the_replies_usage_per_conversation_and_branch(
        self, store, client
    ):
        view = store.for_tenant(store.tenant + "-acme")
        chat = Chat(
            store=view,
            client=client,
            target=get_target("databricks-claude-sonnet-4-5"),
            params=RequestParams(max_tokens=256),
        )
        cid = view.create(title="billing", metadata={"user": "ann"})
        inputs = outputs = 0
        for i in range(6):
            reply = chat.send(cid, f"question {i}")
            usage = reply.turn.usage
            assert usage is not None
            inputs += usage.prompt_tokens or 0
            outputs += usage.completion_tokens or 0
        detail = view.info(cid)
        assert (detail.usage.input_tokens, detail.usage.output_tokens) == (
            inputs,
            outputs,
        )
        assert detail.turn_count == 12
        assert [b.usage for b in detail.branches] == [detail.usage]
        assert view.usage().output_tokens == outputs
        assert store.usage().output_tokens == 0  # another tenant's ledger
        assert [i.id for i in view.search("question 5").items] == [cid]

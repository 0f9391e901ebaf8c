"""The conversation soak on the Responses routes: Open Responses, OpenAI Responses, AI Gateway.

The same seeded random walk as `test_soak.py` (exchanges with 0-3 tool rounds,
regenerations, edits, a 429 outlasting the retries and dropped streams resumed
with `complete()`), through `Chat` on one target per family and route.
Specification: the fake refuses nothing (every answer 200, or an injected
429), every reasoning item a request replays is byte-identical to one the
fake returned (`id`, `summary`, `encrypted_content`: RR2, RR9), every
`function_call` that carries its `fc_` id follows its reasoning item (RR3),
and the stored conversation reloads equal to what `Chat` returned.
"""

from __future__ import annotations

import json
import random
from typing import Any

import attrs
import pytest

from convo import Chat, Effort, RequestParams, Target, ThinkingBudget
from convo.client import Client
from convo.store import Store
from convo.targets import route_target
from convo.testing.fake import FakeEndpoint, RawResponse
from convo.wire.responses import StreamAssembler
from tests.chat._soak import TOOLS, Mode, Soak

EXCHANGES = 20
TARGETS = (
    ("open-responses", "databricks-claude-sonnet-4-5"),
    ("open-responses", "databricks-gemini-3-pro"),
    ("open-responses", "databricks-gpt-oss-120b"),
    ("responses", "databricks-gpt-5-1"),
    ("ai-gateway", "system.ai.claude-opus-4-5"),
)


def _returned_items(response: RawResponse) -> list[dict[str, Any]]:
    if response.streaming:
        assembler = StreamAssembler()
        output: list[dict[str, Any]] = []
        for line in response.body.split(b"\n"):
            if line.startswith(b"data: {"):
                chunk = json.loads(line[6:])
                if chunk.get("type") == "response.output_item.done":
                    output.append(chunk["item"])
                assembler.feed_chunk(chunk)
        return output
    body = json.loads(response.body)
    items: list[dict[str, Any]] = body["output"]
    return items


@attrs.define
class ItemLedger:
    """Every reasoning item the fake returned, and each request's replays checked against it."""

    returned: list[dict[str, Any]] = attrs.Factory(list)

    def record(self, endpoint: FakeEndpoint) -> list[str]:
        problems: list[str] = []
        pairs = zip(endpoint.requests, endpoint.responses, strict=True)
        for index, (request, response) in enumerate(pairs):
            if response.status not in (200, 429):
                problems.append(
                    f"request {index}: status {response.status} rule {response.rule}: "
                    f"{response.body[:300]!r}"
                )
                continue
            if response.status == 200:
                problems += self.check(index, request.json()["input"])
                if response.drop_after is None:
                    self.returned += [
                        i for i in _returned_items(response) if i["type"] == "reasoning"
                    ]
        return problems

    def check(self, index: int, items: list[dict[str, Any]]) -> list[str]:
        problems = []
        previous: dict[str, Any] | None = None
        for at, item in enumerate(items):
            if item["type"] == "reasoning" and item not in self.returned:
                problems.append(
                    f"request {index}: input[{at}] reasoning altered or unknown"
                )
            if item["type"] == "function_call" and "id" in item and previous is None:
                problems.append(
                    f"request {index}: input[{at}] call id without reasoning"
                )
            if item["type"] == "reasoning":
                previous = item
            elif (
                item["type"] not in ("function_call", "message")
                or item.get("role") == "user"
            ):
                previous = None
        return problems


def soak(
    target: Target, mode: Mode, store: Store, seed: int
) -> tuple[Soak, FakeEndpoint]:
    endpoint = FakeEndpoint(seed=seed)
    reasoning = (
        ThinkingBudget(budget_tokens=2048)
        if target.reasoning.style == "budget"
        else Effort(level="low")
        if target.reasoning.style != "none"
        else None
    )
    with Client(
        host="https://fake.convo.invalid",
        token="test-token",
        transport=endpoint.transport(),
        sleep=lambda _seconds: None,
    ) as client:
        chat = Chat(
            store=store,
            client=client,
            target=target,
            params=RequestParams(max_tokens=8000, reasoning=reasoning),
            tools=TOOLS,
        )
        run = Soak(chat=chat, endpoint=endpoint, rng=random.Random(seed), mode=mode)
        run.run(EXCHANGES)
    return run, endpoint


class TestResponsesSoak:
    @pytest.mark.parametrize("mode", ["json", "stream"])
    @pytest.mark.parametrize(("route", "name"), TARGETS)
    def test_a_long_conversation_is_accepted_replays_items_and_reloads_equal(
        self, route: str, name: str, mode: Mode, chat_db_url: str, tenant: str
    ) -> None:
        target = route_target(route, name)
        seed = TARGETS.index((route, name)) * 2 + (mode == "stream")
        with Store(chat_db_url, tenant=tenant) as store:
            run, endpoint = soak(target, mode, store, seed)
            problems = ItemLedger().record(endpoint) + run.stats.reload_problems(
                store, run.cid
            )
        assert problems == [], f"seed {seed}: " + "\n".join(problems)
        assert run.stats.exchanges == EXCHANGES
        assert run.stats.tool_rounds > 0
        assert run.stats.faults >= 3
        assert run.stats.regenerated + run.stats.edited >= 2
        if target.reasoning.style != "none":
            assert any(
                '"type":"reasoning"' in r.body.decode() for r in endpoint.requests
            )


class TestTheItemLedger:
    """The ledger itself: it must see what it is there to catch."""

    def items(self) -> tuple[ItemLedger, list[dict[str, Any]]]:
        rs = {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [],
            "encrypted_content": "e",
        }
        call = {"type": "function_call", "id": "fc_1", "call_id": "c", "name": "f"}
        return ItemLedger(returned=[dict(rs)]), [rs, call]

    def test_it_passes_an_unchanged_replay(self) -> None:
        ledger, items = self.items()
        assert ledger.check(0, items) == []

    def test_it_flags_a_regenerated_reasoning_id(self) -> None:
        ledger, items = self.items()
        items[0]["id"] = "rs_2"
        assert any("altered" in p for p in ledger.check(0, items))

    def test_it_flags_a_call_id_sent_without_its_reasoning(self) -> None:
        ledger, items = self.items()
        assert any("without reasoning" in p for p in ledger.check(0, items[1:]))

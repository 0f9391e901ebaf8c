"""A backend resumed from cold sends what the warm one would have sent (issue 18).

A conversation of many exchanges (signed Claude reasoning, tool loops in
several exchanges, answers streamed and not) is built through `Chat` against
the fake endpoint on each database, ending inside a tool loop. A fresh
interpreter then opens the store, loads the conversation through the fast
decoder and the one-scan path (on PostgreSQL, rows decoded as they arrive,
`convo.store._stream`), and builds the request that submits the open
call's result (it replays the loop's signed reasoning): the loaded conversation
and the request body must be byte for byte what the warm process holds and
would post.
"""

from __future__ import annotations

import json
import subprocess
import sys

from convo import Chat, RequestParams, ThinkingBudget, ToolResultBlock, get_target
from convo._json import canonical_bytes
from convo.client import Client
from convo.store import Store
from convo.testing.fake import FakeEndpoint, ScriptedCall, ScriptedReply
from convo.wire import canonical

CLAUDE = "databricks-claude-sonnet-4-5"
THINKING = RequestParams(max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048))
"""The same parameters the cold process builds (signed reasoning in every answer)."""
EXCHANGES = 12
TOOL_EXCHANGES = frozenset({1, 4, 5, 9, EXCHANGES - 1})
"""Exchanges whose answer calls a tool: the first, later ones, two in a row, and
the last, left open so the next request replays its signed reasoning."""

COLD = """
import gc, json, sys
from convo import Chat, RequestParams, ThinkingBudget, ToolResultBlock, get_target
from convo._json import canonical_bytes
from convo.client import Client
from convo.store import Store, _queries
from convo.wire import canonical

url, tenant, cid, name, call_id, promote_from = sys.argv[1:7]
_queries.PROMOTE_FROM_TURNS = int(promote_from)
streams = []  # whether each load's scan streamed (PostgreSQL decodes rows as they arrive)
real_stream = _queries.stream
def spy(*args):
    rows = real_stream(*args)
    streams.append(rows is not None)
    return rows
_queries.stream = spy
with Store(url, tenant=tenant) as store, Client(
    host="https://fake.convo.invalid", token="unused"
) as client:
    params = RequestParams(max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048))
    chat = Chat(store=store, client=client, target=get_target(name), params=params)
    # The request first: its load decodes every row, none is cached yet.
    results = [ToolResultBlock(call_id=call_id, content="sunny")]
    request = canonical_bytes(chat.preview(cid, results=results)).decode()
    conversation = canonical.dumps(store.load_graph(cid)).decode()
# Where a load's own values end: a full collection first (everything alive goes
# to the oldest generation, counts start from zero), then a load that builds
# every value anew (no cache), looked at before anything else could age it.
with Store(url, tenant=tenant, cache_chars=0) as fresh:
    gc.collect()
    head = fresh.load(cid).path()[-1]
collector = {
    "enabled": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
    "promoted": any(item is head for item in gc.get_objects(2)),
}
print(json.dumps({
    "conversation": conversation, "request": request, "gc": collector, "streams": streams
}))
"""


def _converse(chat: Chat, endpoint: FakeEndpoint, cid: str) -> str:
    """`EXCHANGES` exchanges, every other one streamed; the id of the call left open."""
    for n in range(EXCHANGES):
        streamed = n % 2 == 1
        question = f"Question {n}: what is the weather in city {n}?"
        if n in TOOL_EXCHANGES:
            call = ScriptedCall(name="get_weather", arguments={"city": f"City {n}"})
            endpoint.add_script(ScriptedReply(text="Let me look.", tool_calls=(call,)))
        if streamed:
            list(chat.stream(cid, question))
        else:
            chat.send(cid, question)
        if n in TOOL_EXCHANGES:
            (pending,) = chat.store.load(cid).path()[-1].tool_calls
            if n == EXCHANGES - 1:
                return pending.id
            results = [ToolResultBlock(call_id=pending.id, content=f"{n} °C")]
            if streamed:
                list(chat.stream_tool_results(cid, results))
            else:
                chat.submit_tool_results(cid, results)
    raise AssertionError("the last exchange calls a tool")


class TestAColdResume:
    def test_a_fresh_process_loads_the_same_conversation_and_posts_the_same_request(
        self, chat_db_url: str, tenant: str, endpoint: FakeEndpoint, client: Client
    ) -> None:
        with Store(chat_db_url, tenant=tenant) as store:
            chat = Chat(
                store=store, client=client, target=get_target(CLAUDE), params=THINKING
            )
            cid = chat.start(system_prompt="Answer briefly.")
            call_id = _converse(chat, endpoint, cid)
            warm_graph = store.load_graph(cid)
            results = [ToolResultBlock(call_id=call_id, content="sunny")]
            warm_request = canonical_bytes(chat.preview(cid, results=results))
        roles = [t.role for t in warm_graph.path()]
        assert roles.count("tool") == len(TOOL_EXCHANGES) - 1
        assert roles.count("user") == EXCHANGES
        assert b'"signature"' in warm_request  # the open loop's reasoning is replayed

        # Once as it runs (a conversation this short is not promoted), once
        # with every load promoting what it builds to the oldest generation.
        for promote_from, promoted in (("500", False), ("1", True)):
            argv = [chat_db_url, tenant, cid, CLAUDE, call_id, promote_from]
            cold = subprocess.run(
                [sys.executable, "-c", COLD, *argv],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert cold.returncode == 0, cold.stderr[-2000:]
            seen = json.loads(cold.stdout)
            assert seen["conversation"] == canonical.dumps(warm_graph).decode()
            assert seen["request"] == warm_request.decode()
            assert seen["gc"] == {"enabled": True, "frozen": 0, "promoted": promoted}
            # The request's load and the fresh one: streamed on PostgreSQL only.
            on_postgres = chat_db_url.startswith("postgresql")
            assert seen["streams"] == [on_postgres, on_postgres]

"""Chat under random interleavings: sends, tool results, completes, regenerates,
edits, refused parameters, injected faults and a second writer mid-request.

After every step: no path holds two user messages (or two answers) in a row,
every complete answer the endpoint gave is stored exactly once (on its branch
or a conflict side branch) and carried by the reply or the error, and the
stored graph reloads equal through a second store.
"""

from __future__ import annotations

import itertools
import json
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import convo.store
from convo import (
    Chat,
    RequestParams,
    ThinkingBudget,
    Tool,
    ToolResultBlock,
    assistant,
    get_target,
)
from convo._graph import Conversation
from convo._ids import TurnId
from convo.client import Client
from convo.errors import (
    AnswerConflictError,
    APIError,
    ConvoError,
    DecodeError,
    NothingPendingError,
    PendingTurnError,
    RequestRejectedError,
    RoleOrderError,
)
from convo.store import Store
from convo.testing.fake import FakeEndpoint, Fault

CLAUDE = "databricks-claude-sonnet-4-5"
WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
REFUSED = RequestParams(max_tokens=1024, reasoning=ThinkingBudget(budget_tokens=1024))
TEXTS = st.sampled_from(["Weather in Oslo?", "Hello there", "Tell me more", "Why?"])
FAULTS = st.sampled_from(
    [
        Fault.rate_limited(retry_after=1),
        Fault.server_error(times=10),
        Fault.drop(after_parts=1),
        Fault.error_event(after_parts=1),
    ]
)


class Hook(httpx.BaseTransport):
    """The fake endpoint's transport, running a one-shot hook before a request."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hook: Callable[[], None] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        response: httpx.Response = self.inner.handle_request(request)
        return response


def complete_answers(endpoint: FakeEndpoint) -> int:
    """How many whole answers the endpoint delivered (200, not cut, not an error event)."""
    count = 0
    for response in endpoint.responses:
        if response.status != 200 or response.drop_after is not None:
            continue
        if response.streaming and b"[DONE]" not in response.body:
            continue
        if not response.streaming and b'"choices"' not in response.body:
            continue  # an error event in a 200 body: no answer was delivered
        count += 1
    return count


def check_order(conversation: Conversation) -> None:
    for branch in conversation.heads:
        roles = [t.role for t in conversation.path(branch)]
        for before, after in itertools.pairwise(roles):
            assert not (before in ("user", "tool") and after == "user"), roles
            assert not (before == "assistant" and after == "assistant"), roles


class ChatMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(self.tmp.name) / 's.db'}"
        convo.store.upgrade(url)
        tenant = "m-" + secrets.token_hex(4)
        self.store = Store(url, tenant=tenant)
        self.other = Store(url, tenant=tenant)
        self.endpoint = FakeEndpoint()
        self.transport = Hook(self.endpoint.transport())
        self.client = Client(
            host="https://fake.convo.invalid",
            token="t",
            transport=self.transport,
            sleep=lambda _s: None,
        )
        self.chat = Chat(
            store=self.store,
            client=self.client,
            target=get_target(CLAUDE),
            tools=(WEATHER,),
        )
        self.cid = self.chat.start(system_prompt="Be brief.")
        self.stored: list[TurnId] = []
        """Ids of every answer a reply or an AnswerConflictError carried."""
        self.branches = 0
        self.side_branches: dict[str, TurnId] = {}
        """Conflict side branches and the answer each was made for."""

    def teardown(self) -> None:
        self.client.close()
        self.store.close()
        self.other.close()
        self.tmp.cleanup()

    # ----------------------------------------------------------------- helpers

    def graph(self) -> Conversation:
        return self.store.load_graph(self.cid)

    def run(
        self, call: Callable[[], Any], *, refusals: tuple[type[ConvoError], ...]
    ) -> None:
        before = self.graph()
        sent = len(self.endpoint.requests)
        try:
            reply = call()
        except AnswerConflictError as exc:
            self.stored.append(TurnId(exc.turn_id))
            self.side_branches[exc.branch] = TurnId(exc.turn_id)
        except (APIError, DecodeError):
            pass  # the exchange failed: no answer was delivered or stored
        except refusals:
            # Refused before anything was stored or sent.
            assert self.graph() == before
            assert len(self.endpoint.requests) == sent
        else:
            if isinstance(reply, list):
                reply = reply[-1].turn
                head = self.graph().head()
                assert head is not None
                self.stored.append(head)
            else:
                self.stored.append(reply.turn_id)

    def new_branch(self) -> str:
        self.branches += 1
        return f"b{self.branches}"

    # ------------------------------------------------------------------- rules

    @rule(text=TEXTS)
    def send(self, text: str) -> None:
        self.run(
            lambda: self.chat.send(self.cid, text),
            refusals=(PendingTurnError, RequestRejectedError),
        )

    @rule(text=TEXTS)
    def stream(self, text: str) -> None:
        self.run(
            lambda: list(self.chat.stream(self.cid, text)),
            refusals=(PendingTurnError, RequestRejectedError),
        )

    @rule()
    def complete(self) -> None:
        self.run(lambda: self.chat.complete(self.cid), refusals=(NothingPendingError,))

    @rule()
    def submit_tool_results(self) -> None:
        path = self.store.load(self.cid).path()
        if not path or not path[-1].tool_calls:
            return
        results = [
            ToolResultBlock(call_id=c.id, content=f"{json.loads(c.arguments)}: 3 C")
            for c in path[-1].tool_calls
        ]
        self.run(
            lambda: self.chat.submit_tool_results(self.cid, results),
            refusals=(),
        )

    @rule()
    def regenerate(self) -> None:
        if self.store.load(self.cid).last_assistant_id() is None:
            return
        name = self.new_branch()
        self.run(
            lambda: self.chat.regenerate(self.cid, branch=name), refusals=(ConvoError,)
        )

    @rule(index=st.integers(0, 20), text=TEXTS)
    def edit(self, index: int, text: str) -> None:
        conversation = self.store.load(self.cid)
        ids = conversation.path_ids()
        if not ids:
            return
        turn_id = ids[index % len(ids)]
        name = self.new_branch()
        refusals: tuple[type[ConvoError], ...] = (RoleOrderError,)
        if conversation.turn(turn_id).is_genuine_user:
            refusals = ()
        self.run(
            lambda: self.chat.edit(self.cid, turn_id, text, branch=name),
            refusals=refusals,
        )

    @rule(text=TEXTS)
    def refused_parameters(self, text: str) -> None:
        good = self.chat.params
        self.chat.params = REFUSED
        try:
            self.run(lambda: self.chat.send(self.cid, text), refusals=(ConvoError,))
        finally:
            self.chat.params = good

    @rule(fault=FAULTS)
    def fault(self, fault: Fault) -> None:
        self.endpoint.inject(fault)

    @rule()
    def second_writer_mid_request(self) -> None:
        def meddle() -> None:
            conversation = self.other.load(self.cid)
            head = conversation.head()
            if head is None or conversation.turn(head).role == "assistant":
                return
            self.other.append(
                self.cid,
                assistant("Theirs."),
                branch=conversation.active,
                expected_head=head,
            )

        self.transport.hook = meddle

    # -------------------------------------------------------------- invariants

    @invariant()
    def no_two_user_messages_or_answers_in_a_row(self) -> None:
        check_order(self.graph())

    @invariant()
    def every_whole_answer_is_stored_once_and_was_handed_back(self) -> None:
        graph = self.graph()
        # A regenerated answer equal to the one before is the same turn (same
        # parent, same content): stored once, so ids may repeat in `stored`.
        assert len(self.stored) == complete_answers(self.endpoint)
        for turn_id in self.stored:
            assert graph.node(turn_id).turn.role == "assistant"

    @invariant()
    def every_conflict_answer_heads_its_side_branch(self) -> None:
        graph = self.graph()
        for branch, turn_id in self.side_branches.items():
            assert graph.head(branch) == turn_id

    @invariant()
    def the_graph_reloads_equal(self) -> None:
        assert self.other.load_graph(self.cid) == self.graph()


ChatMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
TestChatMachine = ChatMachine.TestCase

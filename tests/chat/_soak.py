"""The conversation soak: a seeded random walk through `Chat` against the fake endpoint.

`Ledger` keeps every answer's reasoning exactly as the fake endpoint returned it
(whole JSON, or assembled from the SSE fragments) and checks each recorded
request against it: every replayed reasoning block equals a returned one, and a
target that needs reasoning (Claude with thinking on) gets the previous answer's
reasoning and every step of the current tool session. `Soak` drives one
conversation: exchanges with 0-3 tool rounds, plain or streamed, with
`regenerate`, `edit` and injected faults recovered by `complete()`.
Shared by `test_soak.py`, `test_reasoning_flow.py` and `bench_soak.py`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs

from convo import (
    Chat,
    Effort,
    RequestParams,
    ThinkingBudget,
    Tool,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    TurnId,
)
from convo import Reply as ChatReply
from convo._events import Finished
from convo._graph import Conversation
from convo.errors import APIConnectionError, RateLimitError, StreamError
from convo.store import Store
from convo.testing.fake import (
    FakeEndpoint,
    Fault,
    RawResponse,
    ScriptedCall,
    ScriptedReply,
)

__all__ = [
    "TOOLS",
    "Ledger",
    "Soak",
    "SoakStats",
    "params_for",
    "reasoning_blocks",
    "results_for",
]

Mode = Literal["json", "stream", "mixed"]

WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
CLOCK = Tool(
    name="get_time",
    description="Local time in one city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
TOOLS = (WEATHER, CLOCK)
CITIES = ("Oslo", "Lima", "Quito", "Hanoi", "Perth", "Tunis", "Riga", "Dakar")

AnswerKey = tuple[str, ...]
_INJECTED = (RateLimitError, StreamError, APIConnectionError)
"""What the injected faults surface as; anything else (a 400 above all) fails the soak."""


def params_for(family: str) -> RequestParams:
    """The reasoning parameters each family needs (thinking on for Claude)."""
    if family == "claude":
        return RequestParams(
            max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048)
        )
    if family in ("gpt-oss", "gpt", "gemini"):
        return RequestParams(max_tokens=4000, reasoning=Effort(level="low"))
    return RequestParams(max_tokens=4000)


def results_for(calls: Sequence[ToolCallBlock]) -> list[ToolResultBlock]:
    """A result for every call, naming the call's arguments."""
    return [
        ToolResultBlock(call_id=c.id, content=f"{c.name}{c.arguments}: ok")
        for c in calls
    ]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "")
            for p in content
            if isinstance(p, Mapping) and p.get("type") == "text"
        )
    return ""


def reasoning_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The reasoning content blocks of one chat-completions message."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [dict(p) for p in content if p.get("type") == "reasoning"]


def _key(text: str, call_ids: Sequence[str]) -> AnswerKey:
    return ("calls", *call_ids) if call_ids else ("text", text)


def _sent_key(message: Mapping[str, Any]) -> AnswerKey:
    calls = [str(c.get("id")) for c in message.get("tool_calls") or ()]
    return _key(_text(message.get("content")), calls)


def _from_whole(body: Mapping[str, Any]) -> tuple[AnswerKey, list[dict[str, Any]]]:
    message = body["choices"][0]["message"]
    return _sent_key(message), reasoning_blocks(message)


def _from_stream(raw: bytes) -> tuple[AnswerKey, list[dict[str, Any]]]:
    texts: list[str] = []
    thought: list[str] = []
    signature = ""
    reasoned = False
    calls: dict[int, str] = {}
    for line in raw.split(b"\n"):
        if not line.startswith(b"data: ") or line == b"data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                texts.append(content)
            for part in content if isinstance(content, list) else ():
                if part.get("type") == "text":
                    texts.append(part.get("text", ""))
                for piece in part.get("summary") or ():
                    reasoned = True
                    thought.append(piece.get("text", ""))
                    signature = piece.get("signature") or signature
            for call in delta.get("tool_calls") or ():
                if call.get("id"):
                    calls[int(call.get("index", 0))] = str(call["id"])
    blocks: list[dict[str, Any]] = []
    if reasoned:
        summary: dict[str, Any] = {"type": "summary_text", "text": "".join(thought)}
        if signature:
            summary["signature"] = signature
        blocks.append({"type": "reasoning", "summary": [summary]})
    return _key("".join(texts), [calls[i] for i in sorted(calls)]), blocks


@attrs.define
class Ledger:
    """Every answer's reasoning as returned, and the checks of every request against it."""

    needs_reasoning: bool
    returned: dict[AnswerKey, list[list[dict[str, Any]]]] = attrs.Factory(dict)
    by_call: dict[str, AnswerKey] = attrs.Factory(dict)
    """The answer each tool call id came in (a target may split parallel calls)."""
    seen: int = 0

    def record(self, endpoint: FakeEndpoint) -> list[str]:
        """Record the answers given since the last call; return the problems found."""
        problems: list[str] = []
        pairs = list(zip(endpoint.requests, endpoint.responses, strict=True))
        for index, (request, response) in enumerate(pairs[self.seen :], self.seen):
            if response.status != 200:
                if response.status != 429:
                    problems.append(
                        f"request {index}: status {response.status} rule {response.rule}"
                    )
                continue
            problems.extend(self.check(index, request.json()))
            self._remember(response)
        self.seen = len(pairs)
        return problems

    def _remember(self, response: RawResponse) -> None:
        if response.drop_after is not None:
            return
        if response.streaming:
            key, blocks = _from_stream(response.body)
        else:
            key, blocks = _from_whole(json.loads(response.body))
        self.returned.setdefault(key, []).append(blocks)
        for call_id in key[1:] if key[0] == "calls" else ():
            self.by_call[call_id] = key

    def _answer_of(self, message: Mapping[str, Any]) -> AnswerKey | None:
        key = _sent_key(message)
        if key[0] != "calls":
            return key if key in self.returned else None
        whole = self.by_call.get(key[1])
        return whole if whole is not None and set(key[1:]) <= set(whole) else None

    def check(self, index: int, body: Mapping[str, Any]) -> list[str]:
        """The problems of one request: altered or missing reasoning."""
        problems: list[str] = []
        messages: Sequence[Mapping[str, Any]] = body.get("messages") or ()
        for at, message in enumerate(messages):
            if message.get("role") != "assistant":
                continue
            sent = reasoning_blocks(message)
            answer = self._answer_of(message)
            known = None if answer is None else self.returned[answer]
            if known is None:
                problems.append(f"request {index}: message {at} was never returned")
            elif sent and sent not in known:
                problems.append(
                    f"request {index}: message {at} reasoning altered: {sent!r} "
                    f"not in {known!r}"
                )
        if self.needs_reasoning:
            problems.extend(_missing(index, messages))
        return problems


def _missing(index: int, messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """Claude with thinking: the tool session's steps, else the last answer, keep reasoning."""
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        return []
    assistants = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
    required = [i for i in assistants if i > users[-1]] or assistants[-1:]
    return [
        f"request {index}: message {i} (assistant) lost its reasoning"
        for i in required
        if not reasoning_blocks(messages[i])
    ]


@attrs.define
class SoakStats:
    """What one soak did."""

    exchanges: int = 0
    tool_rounds: int = 0
    streamed: int = 0
    regenerated: int = 0
    edited: int = 0
    faults: int = 0
    answers: list[tuple[TurnId | None, Turn]] = attrs.Factory(list)
    """(turn id, or None when streamed; turn) of every stored answer."""
    unbound: list[str] = attrs.Factory(list)
    """`bind_prefixes` notes of the replies: none is expected, no prefix changes."""
    conversation: Conversation | None = None
    """The branch the last `Reply` returned; None when a stream answered last."""

    def reload_problems(self, store: Store, cid: str) -> list[str]:
        """Unexpected R5 notes, and how the stored conversation differs from what `Chat` returned."""
        problems = [f"an unexpected R5 note: {n}" for n in self.unbound]
        graph = store.load_graph(cid)
        stored = {node.turn for node in graph.walk()}
        for turn_id, turn in self.answers:
            if turn_id is not None and graph.turn(turn_id) != turn:
                problems.append(f"answer {turn_id} reloads different")
            if turn not in stored:
                problems.append(f"answer {turn!r} is not stored")
        if self.conversation is not None and store.load(cid) != self.conversation:
            problems.append("the active branch reloads different from the last reply")
        return problems


@attrs.define
class Soak:
    """One seeded conversation through `chat`; `run(n)` makes `n` exchanges."""

    chat: Chat
    endpoint: FakeEndpoint
    rng: random.Random
    mode: Mode
    faults: bool = True
    stats: SoakStats = attrs.Factory(SoakStats)
    cid: str = ""
    pending: Fault | None = None

    def run(self, exchanges: int) -> str:
        """Start a conversation and make `exchanges` exchanges; return its id."""
        self.cid = self.chat.start(system_prompt="Answer briefly.")
        for i in range(exchanges):
            self.exchange(i)
        return self.cid

    def exchange(self, i: int) -> None:
        """One user exchange (or a regenerate / edit), tool loop included."""
        roll = self.rng.random()
        rounds = self.rng.choice((0, 0, 1, 1, 2, 3))
        users = self._user_ids()
        if self.faults and i % 8 == 3:
            self.pending = Fault.rate_limited(retry_after=0, times=3)
        elif self.faults and i % 8 == 6:
            self.pending = Fault.drop(after_parts=2)
        if i % 10 == 5 or (i > 0 and roll < 0.08):
            self.stats.regenerated += 1
            calls = self._faulted(
                lambda: self.chat.regenerate(self.cid, branch=f"regen-{i}")
            )
        elif users and (i % 10 == 8 or roll < 0.16):
            self.stats.edited += 1
            text = self._ask(i, rounds)
            at = self.rng.choice(users)
            calls = self._faulted(
                lambda: self.chat.edit(self.cid, at, text, branch=f"edit-{i}")
            )
        else:
            text = self._ask(i, rounds)
            calls = self._step(text, None)
        self.stats.exchanges += 1
        while calls:
            self.stats.tool_rounds += 1
            rounds -= 1
            if rounds > 0:
                self._script_call(i, rounds)
            calls = self._step(None, results_for(calls))

    def _ask(self, i: int, rounds: int) -> str:
        city = self.rng.choice(CITIES)
        if rounds == 0:
            return f"Message {i}: tell me something about {city}."
        if self.rng.random() < 0.3:
            return f"Message {i}: the weather and the time in {city}?"
        return f"Message {i}: what is the weather in {city}?"

    def _script_call(self, i: int, rounds: int) -> None:
        tool = self.rng.choice(TOOLS)
        city = self.rng.choice(CITIES)
        self.endpoint.add_script(
            ScriptedReply(
                text=f"Round {rounds} of exchange {i}: calling {tool.name}.",
                tool_calls=(ScriptedCall(name=tool.name, arguments={"city": city}),),
            )
        )

    def _user_ids(self) -> list[TurnId]:
        if not self.cid:
            return []
        conversation = self.chat.store.load(self.cid)
        return [
            turn_id
            for turn_id, turn in zip(
                conversation.path_ids(), conversation.path(), strict=True
            )
            if turn.role == "user"
        ]

    def _streams(self) -> bool:
        if self.mode == "mixed":
            return self.rng.random() < 0.5
        return self.mode == "stream"

    def _step(
        self, text: str | None, results: list[ToolResultBlock] | None
    ) -> tuple[ToolCallBlock, ...]:
        self._fault()
        if self._streams():
            self.stats.streamed += 1
            try:
                return self._stream(text, results)
            except _INJECTED:
                return self._recover()
        try:
            return self._answer(
                lambda: (
                    self.chat.submit_tool_results(self.cid, results)
                    if results
                    else self.chat.send(self.cid, text or "")
                )
            )
        except _INJECTED:
            return self._recover()

    def _fault(self) -> None:
        """A scheduled fault (every 8 exchanges: a 429 outlasting the retries, a
        dropped connection), else one at random on 5% of the requests."""
        fault, self.pending = self.pending, None
        if fault is None and self.faults and self.rng.random() < 0.05:
            fault = self.rng.choice(
                (Fault.rate_limited(retry_after=0, times=3), Fault.drop(after_parts=2))
            )
        if fault is not None:
            self.stats.faults += 1
            self.endpoint.inject(fault)

    def _stream(
        self, text: str | None, results: list[ToolResultBlock] | None
    ) -> tuple[ToolCallBlock, ...]:
        stream = (
            self.chat.stream_tool_results(self.cid, results)
            if results
            else self.chat.stream(self.cid, text)
        )
        events = list(stream)
        last = events[-1]
        if not isinstance(last, Finished):
            return self._recover()
        self.stats.answers.append((None, last.turn))
        self.stats.conversation = None
        return last.turn.tool_calls

    def _recover(self) -> tuple[ToolCallBlock, ...]:
        return self._answer(lambda: self.chat.complete(self.cid))

    def _faulted(self, call: Callable[[], ChatReply]) -> tuple[ToolCallBlock, ...]:
        """`call` (a regenerate or an edit) under a possible fault, resumed with `complete()`."""
        self._fault()
        try:
            return self._answer(call)
        except _INJECTED:
            return self._recover()

    def _answer(self, call: Callable[[], ChatReply]) -> tuple[ToolCallBlock, ...]:
        reply = call()
        self.stats.answers.append((reply.turn_id, reply.turn))
        self.stats.conversation = reply.conversation
        self.stats.unbound += [
            n.reason for n in reply.notes if n.policy == "bind_prefixes"
        ]
        calls: tuple[ToolCallBlock, ...] = reply.tool_calls
        return calls

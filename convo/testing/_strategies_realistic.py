"""Realistic histories: conversations a served model could really have produced.

`realistic_histories(target=...)` drives the real stack: a `Chat` over an
in-memory SQLite `Store` and a `Client` on a `FakeEndpoint` (fixed secret and
seed), with drawn user actions:

- send a text: small talk, or a question the fake answers with one tool call
  or with parallel calls (it calls a tool whose subject the text names);
- answer the pending tool calls (always, before the next user action, except
  that a history may *end* waiting for them); sometimes the model then takes
  one more step of the same tool session (a scripted call of the fake), so a
  tool session can span several assistant turns;
- regenerate the last answer on a new branch, or edit an earlier user turn on
  a new branch (both make branches; the path follows the newest one);
- each exchange plain or streamed; on a target with prompt caching the user
  text sometimes carries a cache marker.

The reasoning shape is the target's own, made by the fake endpoint: Claude's
signed summaries (bound to their prefix on Opus 4.5) and, sometimes,
signature-only blocks (thinking display "omitted", a scripted answer), GPT-OSS's unsigned
reasoning, Gemini's thought signatures on tool calls, none for Llama; usage on
every answer. Every answer was accepted by the fake endpoint with status 200,
so a history is a conversation the real stack produced, stamps
(`generated_from`) included.

The store is one in-memory SQLite database per thread, reused by every
example; each example's conversation is deleted once its graph is loaded.

Deterministic given the draws: the endpoint's secret and seed are fixed (and
carried by the history, so `history.endpoint()` rebuilds an equivalent fake),
ids come from the endpoint's seed and the content, and the store only persists.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from convo._blocks import CacheControl, TextBlock, ToolResultBlock
from convo._graph import Conversation
from convo._ids import TurnId
from convo._params import Effort, Reasoning, RequestParams, ThinkingBudget
from convo._targets import Target, TargetDeprecationWarning
from convo._tools import Tool
from convo._turns import Turn
from convo.errors import ConvoError
from convo.policies._view import Policy
from convo.testing._fake._brain import ScriptedCall, ScriptedReply
from convo.testing._fake._models import default_models

if TYPE_CHECKING:
    from convo._chat._sync import Chat
    from convo.store import Store
    from convo.testing._fake._app import FakeEndpoint

__all__ = [
    "FAKE_SECRET",
    "REALISTIC_TARGETS",
    "REALISTIC_TOOLS",
    "RealisticHistory",
    "realistic_histories",
]

FAKE_SECRET = b"convo-realistic-histories"
"""The signing secret of the fake endpoint that made every realistic history."""

REALISTIC_TARGETS: tuple[str, ...] = tuple(spec.name for spec in default_models())
"""The built-in targets the fake endpoint serves, so histories can be made for them."""


def _city_tool(name: str, description: str) -> Tool:
    return Tool(
        name=name,
        description=description,
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    )


REALISTIC_TOOLS: tuple[Tool, ...] = (
    _city_tool("get_weather", "Current weather for one city."),
    _city_tool("get_time", "Local time in one city."),
)
"""The tools offered in every realistic history (the fake calls them by subject)."""

_TEXTS: tuple[str, ...] = (
    "Hello",
    "Weather in Oslo?",
    "Weather and time in Lima?",
    "What time is it in Tokyo?",
    "Thanks, what should I wear?",
)
"""User texts: small talk, one tool call, parallel calls, one call, small talk."""

Action = Literal["send", "regenerate", "edit"]


@attrs.frozen(kw_only=True)
class RealisticHistory:
    """A conversation the real stack produced against the fake endpoint.

    `conversation` is the stored graph (its active branch is the path the last
    action followed); `target`, `params` and `tools` are what every request
    was made with; `secret` and `seed` rebuild an equivalent endpoint.
    """

    conversation: Conversation
    target: Target
    params: RequestParams
    tools: tuple[Tool, ...]
    secret: bytes = FAKE_SECRET
    seed: int = 0
    actions: tuple[str, ...] = ()
    """What was done, in order (for reading a counterexample)."""
    refused: str | None = None
    """Why the last action's request was refused (only with a chain of your own),
    or None. `Chat` refuses before it stores anything, so the path then ends
    where it stood before that action (the laws build that request again)."""

    @property
    def pending_calls(self) -> bool:
        """Whether the path ends with tool calls still waiting for results."""
        path = self.conversation.path()
        return bool(path) and bool(path[-1].tool_calls)

    def endpoint(self) -> FakeEndpoint:
        """A fresh fake endpoint equivalent to the one that made this history."""
        from convo.testing._fake._app import FakeEndpoint

        return FakeEndpoint(secret=self.secret, seed=self.seed)


def results_for(turn: Turn) -> tuple[ToolResultBlock, ...]:
    """Deterministic results answering every tool call of `turn`."""
    return tuple(
        ToolResultBlock(call_id=call.id, content=f"{call.name}: 3 C, 14:00")
        for call in turn.tool_calls
    )


_LOCAL = threading.local()


def _store() -> Store:
    """One in-memory store per thread (`sqlite://` belongs to its thread)."""
    store: Store | None = getattr(_LOCAL, "store", None)
    if store is None:
        from convo.store import Store

        store = Store("sqlite://", create=True, tenant="realistic-histories")
        _LOCAL.store = store
    return store


def _reasoning(draw: st.DrawFn, target: Target) -> Reasoning | None:
    rules = target.reasoning
    if rules.style == "budget":
        if not draw(st.integers(0, 3)):  # mostly with thinking on
            return None
        return ThinkingBudget(budget_tokens=draw(st.sampled_from([1024, 2048])))
    if rules.style == "effort" and rules.efforts:
        if not draw(st.integers(0, 3)):
            return None
        return Effort(level=draw(st.sampled_from(rules.efforts)))
    return None


def _resolve(target: Target | str) -> Target:
    from convo._targets import get_target

    resolved = get_target(target) if isinstance(target, str) else target
    if resolved.name not in REALISTIC_TARGETS and not _served_on_route(resolved):
        msg = (
            f"realistic_histories: the fake endpoint does not serve target "
            f"{resolved.name!r}; use one of {', '.join(REALISTIC_TARGETS)}."
        )
        raise InvalidArgument(msg)
    return resolved


@attrs.frozen(kw_only=True)
class _Options:
    max_actions: int
    branching: bool
    streaming: bool
    policies: tuple[Policy, ...] | None


@st.composite
def _history(
    draw: st.DrawFn, targets: Sequence[Target], options: _Options
) -> RealisticHistory:
    target = draw(st.sampled_from(targets))
    with warnings.catch_warnings():
        # A retiring target warns on every request; drawing its histories was asked for.
        warnings.simplefilter("ignore", TargetDeprecationWarning)
        return _drive(draw, _endpoint(FAKE_SECRET, 0), target, options)


@attrs.define
class _Run:
    """One history being driven: the chat, the endpoint and what was done so far.

    Every draw happens in the same order as it always did, so a seed or a
    stored example replays the same history.
    """

    draw: st.DrawFn
    chat: Chat
    cid: str
    endpoint: FakeEndpoint
    params: RequestParams
    branching: bool
    streaming: bool
    actions: list[str]
    branches: int = 0

    def tool_step(self, path: Sequence[Turn], *, last: bool) -> Conversation | None:
        """Answer the pending tool calls (None: the history stops waiting instead)."""
        draw = self.draw
        if last and draw(st.booleans()):
            self.actions.append("stop waiting for tool results")
            return None
        stream = self.streaming and draw(st.booleans())
        label = "answer tools" + (" (streamed)" if stream else "")
        if draw(st.integers(0, 2)) == 2:
            # The model takes one more step of the same tool session.
            name = draw(st.sampled_from([t.name for t in REALISTIC_TOOLS]))
            self.endpoint.add_script(
                ScriptedReply(
                    text=draw(st.sampled_from([None, "One more look."])),
                    tool_calls=(ScriptedCall(name=name, arguments={"city": "Oslo"}),),
                )
            )
            label += f"; the model calls {name} again"
        self.actions.append(label)
        return _exchange(self.chat, self.cid, None, results_for(path[-1]), stream, None)

    def user_step(
        self, conversation: Conversation, path: Sequence[Turn]
    ) -> Conversation:
        """Send, regenerate or edit, as drawn."""
        draw, chat, cid = self.draw, self.chat, self.cid
        answered = any(t.role == "assistant" for t in path)
        choices: list[Action] = ["send"]
        if self.branching and answered:
            choices += ["regenerate", "edit"]
        action = draw(st.sampled_from(choices))
        stream = self.streaming and draw(st.booleans())
        how = " (streamed)" if stream else ""
        if action == "regenerate":
            self.branches += 1
            name = f"regen-{self.branches}"
            self.actions.append(f"regenerate on {name}")
            return chat.regenerate(cid, branch=name).conversation
        text = draw(st.sampled_from(_TEXTS))
        content: str | TextBlock = text
        target = chat.target
        if target.cache.supported and draw(st.integers(0, 4)) == 4:
            content = TextBlock(text=text, cache_control=CacheControl())
        if action == "edit":
            users = [t for t in path if t.is_genuine_user]
            turn = draw(st.sampled_from(users))
            self.branches += 1
            name = f"edit-{self.branches}"
            self.actions.append(f"edit {turn.text!r} to {text!r} on {name}")
            turn_id = _id_of(conversation, turn)
            return chat.edit(cid, turn_id, content, branch=name).conversation
        omitted = ""
        if (
            target.family == "claude"
            and self.params.reasoning is not None
            and draw(st.integers(0, 3)) == 3
        ):
            # Thinking shown as "omitted": a signature-only reasoning block.
            self.endpoint.add_script(ScriptedReply(text=f"Noted: {text}", reasoning=""))
            omitted = ", thinking omitted"
        self.actions.append(f"send {text!r}{how}{omitted}")
        return _exchange(chat, cid, content, None, stream, None)


def _drive(
    draw: st.DrawFn,
    endpoint: FakeEndpoint,
    target: Target,
    options: _Options,
) -> RealisticHistory:
    max_actions, branching, streaming = (
        options.max_actions,
        options.branching,
        options.streaming,
    )
    policies = options.policies
    from convo._chat._sync import Chat
    from convo.client import Client

    params = RequestParams(max_tokens=8000, reasoning=_reasoning(draw, target))
    secret = FAKE_SECRET
    seed = 0
    actions: list[str] = []
    with Client(
        host="https://fake.convo.invalid",
        token="realistic",  # noqa: S106 - the fake endpoint takes any bearer token
        transport=endpoint.transport(),
        sleep=lambda _seconds: None,
    ) as client:
        chat = Chat(
            store=_store(),
            client=client,
            target=target,
            params=params,
            tools=REALISTIC_TOOLS,
            policies=None if policies is None else tuple(policies),
        )
        system = draw(st.sampled_from([None, "Answer briefly."]))
        cid = chat.start(system_prompt=system)
        conversation = chat.store.load(cid)
        refused: str | None = None
        run = _Run(draw, chat, cid, endpoint, params, branching, streaming, actions)
        try:
            count = draw(st.integers(1, max_actions))
            for step in range(count):
                path = conversation.path()
                if path and path[-1].tool_calls:
                    after = run.tool_step(path, last=step == count - 1)
                    if after is None:
                        break
                    conversation = after
                    continue
                conversation = run.user_step(conversation, path)
        except ConvoError as error:
            # A chain under test may make a request the target refuses: the
            # history ends there, with nothing of the refused action stored.
            refused = f"{type(error).__name__}: {error}"
            actions.append("refused")
        active = chat.store.load(cid).active
        conversation = chat.store.load_graph(cid).switch(active)
        # The value is all a history needs; the store stays small.
        chat.store.delete(cid)
    return RealisticHistory(
        conversation=conversation,
        target=target,
        params=params,
        tools=REALISTIC_TOOLS,
        secret=secret,
        seed=seed,
        actions=tuple(actions),
        refused=refused,
    )


def _id_of(conversation: Conversation, turn: Turn) -> TurnId:
    ids = conversation.path_ids()
    path = conversation.path()
    for turn_id, candidate in zip(ids, path, strict=True):
        if candidate is turn or candidate == turn:
            return turn_id
    msg = "realistic_histories: the edited turn is not on the path"
    raise AssertionError(msg)


def _exchange(
    chat: Chat,
    cid: str,
    content: str | TextBlock | None,
    results: Sequence[ToolResultBlock] | None,
    stream: bool,
    branch: str | None,
) -> Conversation:
    from convo._events import Finished

    if stream:
        finished = None
        events = (
            chat.stream_tool_results(cid, results, branch=branch)
            if results
            else chat.stream(cid, content, branch=branch)
        )
        for event in events:
            if isinstance(event, Finished):
                finished = event
        if finished is None:
            msg = "realistic_histories: a streamed answer did not finish whole"
            raise AssertionError(msg)
        return chat.store.load(cid, branch=branch)
    if results:
        return chat.submit_tool_results(cid, results, branch=branch).conversation
    if content is None:
        msg = "realistic_histories: an exchange needs a text or tool results"
        raise AssertionError(msg)
    return chat.send(cid, content, branch=branch).conversation


@functools.lru_cache(maxsize=8)
def _spec_names() -> frozenset[str]:
    from convo.testing._fake._models import default_models

    return frozenset(m.name for m in default_models())


def _served_on_route(target: Target) -> bool:
    """A target of a format with several routes (`convo.targets.route_target`)
    whose model the fake serves on that route."""
    from convo.testing._fake._responses_route import serves

    models = {m.name: m for m in default_models()}
    return target.route is not None and serves(target.route, target.name, models)


def _endpoint(secret: bytes, seed: int) -> FakeEndpoint:
    from convo.testing._fake._app import FakeEndpoint

    return FakeEndpoint(secret=secret, seed=seed)


def realistic_histories(
    *,
    target: Target | str | Sequence[Target | str] | None = None,
    max_actions: int = 6,
    branching: bool = True,
    streaming: bool = True,
    policies: Sequence[Policy] | None = None,
) -> st.SearchStrategy[RealisticHistory]:
    """Histories a served model could have produced, made by the real stack.

    Args:
        target: the target (or targets to choose from) the histories are made
            for, by name or value; None: every target in `REALISTIC_TARGETS`.
            Targets on the Responses routes (`convo.targets.route_target`) are
            taken as values.
        max_actions: at most this many user actions (1 or more).
        branching: also regenerate answers and edit user turns (new branches).
        streaming: also stream some exchanges.
        policies: the chain `Chat` applies (None: the target's default chain).
            With a chain of your own a request may be refused; the history
            then ends there (`RealisticHistory.refused`).

    Yields `RealisticHistory` values (module docstring). Each example stores a
    conversation in an in-memory SQLite store of the calling thread.
    """
    if max_actions < 1:
        msg = f"realistic_histories: max_actions must be 1 or more, got {max_actions}"
        raise InvalidArgument(msg)
    if target is None:
        names: Sequence[Target | str] = REALISTIC_TARGETS
    elif isinstance(target, (str, Target)):
        names = (target,)
    else:
        names = tuple(target)
    resolved = tuple(_resolve(t) for t in names)
    missing = [
        t.name
        for t in resolved
        if t.name not in _spec_names() and not _served_on_route(t)
    ]
    if missing:
        msg = f"realistic_histories: the fake endpoint serves no model {missing!r}"
        raise InvalidArgument(msg)
    options = _Options(
        max_actions=max_actions,
        branching=branching,
        streaming=streaming,
        policies=None if policies is None else tuple(policies),
    )
    return _history(resolved, options)

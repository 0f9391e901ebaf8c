"""The whole-flow laws: what the server finally receives is sendable and keeps its reasoning.

Both laws look at the request *as sent*: the policy under test first, then the
target's default chain (`convo.policies.default_policies(target)`), which is
how `Chat(policies=(my_policy, *default_policies(target)))` would send it.
The default chain is idempotent, so checking the default chain itself this
way checks it once more on its own output.

- `validates`: the sent view passes `convo.policies.validate` for the target,
  and the fake endpoint that made the history (same secret and seed) answers
  the encoded request with status 200.
- `keeps_visible_reasoning`: the reasoning the server reads stays byte-exact
  (markers aside). Protected are the stamped (`generated_from`),
  reasoning-bearing assistant turns of the input: on a target that keeps
  earlier reasoning in context, all of them; on one that discards it, those
  of the last assistant turn's exchange (every step of its tool session). A
  protected turn whose visible content (its blocks without reasoning) is
  still sent, with its prefix as the server sees it unchanged (the sent
  prefix digests to its stamp, which is the digest of what was sent when it
  was generated), must be sent with exactly its reasoning. A policy may still
  drop or change a turn, or change its prefix; then the turn is no longer
  protected (other laws and `validates` judge that).

The histories are made by `Chat` with that same chain (the policy, then the
default chain), so each stamp is the digest of what that chain really sent.
A history whose last request was refused ends before the refused turn (`Chat`
stores nothing it cannot send), and the laws check that request again.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Sequence

import attrs
from hypothesis import strategies as st

from convo._blocks import ReasoningBlock
from convo._structure import last_assistant_index, last_user_index
from convo._targets import TargetDeprecationWarning
from convo._turns import Turn, tool_results, user
from convo.errors import ConvoError
from convo.policies._defaults import default_policies
from convo.policies._prefix import prefix_digest, unmarked
from convo.policies._validate import validate
from convo.policies._view import Policy, RequestView, compose
from convo.testing._strategies_realistic import (
    RealisticHistory,
    realistic_histories,
    results_for,
)

__all__ = [
    "FlowCase",
    "flow_cases",
    "keeps_visible_reasoning_problem",
    "sent_view",
    "validates_problem",
]

_NEXT_TEXTS = ("And in Paris?", "Thanks!", "Weather in Rome?")


@attrs.frozen(kw_only=True)
class FlowCase:
    """A realistic history and the request view of its next exchange."""

    history: RealisticHistory
    view: RequestView
    """The stored path plus the next turn (tool results if calls are pending, a
    user text after an answer), or the path alone when its last turn waits."""


@st.composite
def _flow_case(
    draw: st.DrawFn, histories: st.SearchStrategy[RealisticHistory]
) -> FlowCase:
    history = draw(histories)
    path = history.conversation.path()
    turns: tuple[Turn, ...]
    if history.pending_calls:
        turns = (*path, tool_results(*results_for(path[-1])))
    elif path and path[-1].role == "assistant":
        turns = (*path, user(draw(st.sampled_from(_NEXT_TEXTS))))
    else:  # refused: the stored user or tool turn still waits for its answer
        turns = path
    view = RequestView(turns=turns, tools=history.tools, target=history.target)
    return FlowCase(history=history, view=view)


def flow_cases(
    histories: st.SearchStrategy[RealisticHistory] | None = None,
    *,
    target: object = None,
) -> st.SearchStrategy[FlowCase]:
    """Flow cases over `histories` (default: `realistic_histories(target=target)`)."""
    if histories is None:
        histories = realistic_histories(target=target)  # type: ignore[arg-type]
    return _flow_case(histories)


def sent_view(policy: Policy, view: RequestView) -> RequestView:
    """`policy`, then the target's default chain: the view that would be sent."""
    return compose(*default_policies(view.target))(policy(view))


def validates_problem(case: FlowCase, sent: RequestView) -> str | None:
    """Why the sent view would not be accepted, or None."""
    with warnings.catch_warnings():
        # A retiring target warns on every request; checking it was asked for.
        warnings.simplefilter("ignore", TargetDeprecationWarning)
        return _validates_problem(case, sent)


def _validates_problem(case: FlowCase, sent: RequestView) -> str | None:
    try:
        validate(sent, source=case.view.turns)
    except ConvoError as error:
        return f"convo.policies.validate refused it: {error}"
    from convo.client import Client
    from convo.wire import wire_for

    history = case.history
    try:
        payload = wire_for(sent.target).encode_request(
            sent.turns, target=sent.target, params=history.params, tools=sent.tools
        )
    except ConvoError as error:
        return f"encoding failed: {error}"
    endpoint = history.endpoint()
    with (
        Client(
            host="https://fake.convo.invalid",
            token="laws",  # noqa: S106 - the fake endpoint takes any bearer token
            transport=endpoint.transport(),
            sleep=lambda _seconds: None,
        ) as client,
        contextlib.suppress(ConvoError),
    ):  # the endpoint's answer says why
        client.send(payload, target=sent.target)
    answers = endpoint.responses
    if not answers or answers[-1].status != 200:
        if not answers:
            return "the fake endpoint received nothing"
        last = answers[-1]
        rule = last.rule or dict(last.headers).get("x-fake-rule", "?")
        body = last.body.decode("utf-8", "replace")
        with contextlib.suppress(ValueError, AttributeError):
            body = json.loads(body).get("message", body)
        return f"the fake endpoint answered {last.status} (rule {rule}): {body}"
    return None


def _visible(turn: Turn) -> tuple[object, ...]:
    plain = unmarked(turn)
    return tuple(b for b in plain.blocks if not isinstance(b, ReasoningBlock))


def _reasoning(turn: Turn) -> tuple[ReasoningBlock, ...]:
    return tuple(b for b in unmarked(turn).blocks if isinstance(b, ReasoningBlock))


def _protected(view: RequestView) -> list[int]:
    turns = view.turns
    target = view.target
    candidates = [
        i
        for i, t in enumerate(turns)
        if t.role == "assistant" and _reasoning(t) and t.generated_from is not None
    ]
    if target.keeps_reasoning_in_context:
        return candidates
    last = last_assistant_index(turns)
    if last is None:
        return []
    boundary = last_user_index(turns, before=last)
    start = -1 if boundary is None else boundary
    return [i for i in candidates if i > start]


def keeps_visible_reasoning_problem(view: RequestView, sent: RequestView) -> str | None:
    """Which protected reasoning the sent view lost or changed, or None."""
    turns: Sequence[Turn] = sent.turns
    j = 0
    for i in _protected(view):
        turn = view.turns[i]
        key = _visible(turn)
        while j < len(turns) and not (
            turns[j].role == "assistant" and _visible(turns[j]) == key
        ):
            j += 1
        if j == len(turns):
            return None
        unchanged = prefix_digest(turns[:j], target=sent.target) == turn.generated_from
        if unchanged and _reasoning(turns[j]) != _reasoning(turn):
            return (
                f"the reasoning of $.turns[{i}] (the server reads it, and its "
                f"prefix is unchanged) is sent as {len(_reasoning(turns[j]))} "
                f"block(s) at $.turns[{j}] instead of its "
                f"{len(_reasoning(turn))} original block(s) byte-exact"
            )
        j += 1
    return None

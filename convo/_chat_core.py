"""The pure steps of one chat exchange, shared by `Chat` and `AsyncChat`.

An exchange is: take the stored path, add the new turn (user message or tool
results), build the request view, apply the target's policies, encode the
payload; then, when the answer arrives, stamp it with the digest of the view it
answered (prefix binding, rule R5). Only the I/O (store, client) differs
between the sync and async shells, so everything else lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from convo._blocks import Block, ToolCallBlock, ToolResultBlock
from convo._graph import Conversation
from convo._ids import TurnId
from convo._params import RequestParams
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn, Usage, tool_results, user
from convo.policies import (
    Policy,
    PolicyNote,
    RequestView,
    apply,
    default_policies,
    prefix_digest,
    validate,
)
from convo.wire import anthropic, chat

__all__ = ["Reply", "encode_for", "finish_answer", "new_turn", "prepare"]


@attrs.frozen(kw_only=True)
class Reply:
    """The outcome of one exchange: the stored answer and where it stands."""

    conversation_id: str
    conversation: Conversation
    """The conversation after the answer was stored (its active branch holds it)."""
    turn: Turn
    turn_id: TurnId
    notes: tuple[PolicyNote, ...] = ()
    """What the policies did to the request (dropped reasoning, cache plan, ...)."""
    attempts: int = 1

    @property
    def text(self) -> str:
        """The answer's text."""
        return self.turn.text

    @property
    def tool_calls(self) -> tuple[ToolCallBlock, ...]:
        """Tool calls the caller must answer with `submit_tool_results`."""
        return self.turn.tool_calls

    @property
    def usage(self) -> Usage | None:
        """Token usage of the answer, as the endpoint reported it."""
        return self.turn.usage


def new_turn(
    message: str | Block | Iterable[Block] | None,
    results: Sequence[ToolResultBlock] | None,
) -> Turn | None:
    """The turn an exchange adds: a user message, tool results, or nothing."""
    if results:
        return tool_results(*results)
    if message is None:
        return None
    return user(message)


def prepare(
    conversation: Conversation,
    *,
    target: Target,
    tools: Sequence[Tool],
    policies: Sequence[Policy] | None,
) -> RequestView:
    """The request view of `conversation`'s active path after the policies.

    Raises:
        RequestRejectedError: the view breaks a rule of the target.
    """
    chain = tuple(default_policies(target) if policies is None else policies)
    source = conversation.path()
    view = apply(RequestView(turns=source, tools=tuple(tools), target=target), *chain)
    # Refuse here, before anything is sent, what the target would answer with a 400.
    validate(view, source=source)
    return view


def encode_for(
    view: RequestView, *, params: RequestParams, stream: bool
) -> dict[str, Any]:
    """Encode a view with the wire format of its target."""
    request_params = attrs.evolve(params, stream=stream)
    wire: Any = anthropic if view.target.wire == "anthropic" else chat
    payload: dict[str, Any] = wire.encode_request(
        view.turns, target=view.target, params=request_params, tools=view.tools
    )
    return payload


def finish_answer(view: RequestView, answer: Turn) -> Turn:
    """The answer stamped with the digest of the view it answered (rule R5)."""
    return attrs.evolve(
        answer, generated_from=prefix_digest(view.turns, target=view.target)
    )

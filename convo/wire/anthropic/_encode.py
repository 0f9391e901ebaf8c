"""Build Messages API requests from a request view, refusing what the target rejects.

Layout of a request:
- system turns -> the top-level `system`: a string when it is one text block
  without a cache marker, else a list of text blocks;
- user turns -> `user` messages; tool turns -> `tool_result` blocks in a `user`
  message. Consecutive turns of the same API role merge into one message, and
  in a user message the `tool_result` blocks come first (parallel results
  together, then any user text), as Claude requires (B4);
- assistant turns -> `assistant` messages (blocks as in `_encode_blocks`);
- params: `max_tokens` (required), `temperature`, `top_p`, `top_k`,
  `stop` -> `stop_sequences`, `stream` (always sent), `tools`, `tool_choice`
  (`auto` / `required` -> `any` / `none` / a tool name -> `tool`), reasoning
  (`ThinkingBudget` -> `thinking: {type: enabled, budget_tokens}`,
  `AdaptiveThinking` -> `thinking: {type: adaptive}` + `output_config.effort`;
  an `Effort` on an adaptive model the same way, as on chat completions),
  `extra` verbatim (a key convo sets itself is refused, `params.extra`).

Refused before sending (`RequestRejectedError` with rule, target, path, fix):
first the format-neutral check every route runs
(`convo.wire._shared._check.check_request`: R6, R7, R8, R12, R14, R15, R16,
R18, fed the fields this request would carry by `_encode_fields`), then this
shape's own requirements (`max_tokens`, `tool_choice` naming an offered tool,
object tool input) and what `_validate` checks (R2, R4, R10, prefill R14);
the request size (R18) once the bytes exist.
Invariant: the same view gives the same bytes (`canonical_bytes` order), and
request bytes are joined from per-turn memoized block bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from convo._json import canonical_bytes
from convo._params import AdaptiveThinking, Effort, RequestParams, ThinkingBudget
from convo._request_args import expect_request
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn
from convo.wire._shared._check import check_request, check_size
from convo.wire._shared._reject import reject
from convo.wire.anthropic._encode_blocks import (
    Encoded,
    cache_control_json,
    copy_json,
    encode_turn_blocks,
)
from convo.wire.anthropic._encode_fields import emitted_fields
from convo.wire.anthropic._route import NAME
from convo.wire.anthropic._validate import (
    Message,
    check_blocks,
    check_messages,
    check_thinking_history,
)

__all__ = ["encode_request", "encode_request_bytes", "validate_request"]


@attrs.frozen(kw_only=True)
class _Request:
    fields: dict[str, Any]
    """Every top-level field except `messages`."""
    messages: tuple[Message, ...]


# --------------------------------------------------------------------- messages


def _order_user(blocks: Sequence[Encoded]) -> tuple[Encoded, ...]:
    results = [b for b in blocks if b[0]["type"] == "tool_result"]
    others = [b for b in blocks if b[0]["type"] != "tool_result"]
    return (*results, *others)


def _messages(
    turns: Sequence[Turn], target: Target
) -> tuple[list[Encoded], tuple[Message, ...]]:
    system: list[Encoded] = []
    messages: list[Message] = []
    for i, turn in enumerate(turns):
        where = f"$.turns[{i}]"
        encoded = encode_turn_blocks(turn, target=target, where=where)
        if turn.role == "system":
            if messages:
                raise reject(
                    "A system turn can only come before every other turn; the "
                    "Messages API has one top-level system prompt",
                    rule="anthropic.system",
                    target=target,
                    path=where,
                    fix="Move the instructions into the first system turn, or send "
                    "them as user text.",
                )
            system.extend(encoded)
            continue
        role = "assistant" if turn.role == "assistant" else "user"
        if messages and messages[-1].role == role:
            last = messages[-1]
            messages[-1] = Message(
                role=role, blocks=last.blocks + encoded, turns=(*last.turns, i)
            )
        else:
            messages.append(Message(role=role, blocks=encoded, turns=(i,)))
    out = tuple(
        attrs.evolve(m, blocks=_order_user(m.blocks)) if m.role == "user" else m
        for m in messages
    )
    return system, out


# ----------------------------------------------------------------------- params


def _reasoning_fields(params: RequestParams, target: Target) -> dict[str, Any]:
    """The reasoning fields; the shared check has already refused bad values."""
    reasoning = params.reasoning
    if reasoning is None:
        return {}
    if isinstance(reasoning, ThinkingBudget):
        return {
            "thinking": {"type": "enabled", "budget_tokens": reasoning.budget_tokens}
        }
    if isinstance(reasoning, AdaptiveThinking):
        effort = reasoning.effort
    else:
        assert isinstance(reasoning, Effort)  # noqa: S101 - the Reasoning union is closed
        if target.reasoning.style != "adaptive":
            raise reject(
                "The Messages API has no reasoning_effort; Claude takes an effort "
                "only with adaptive thinking",
                rule="R15",
                target=target,
                path="$.params.reasoning",
                received=reasoning.level,
                fix="Use ThinkingBudget(budget_tokens=...) to turn thinking on.",
            )
        effort = reasoning.level
    out: dict[str, Any] = {"thinking": {"type": "adaptive"}}
    if effort is not None:
        out["output_config"] = {"effort": effort}
    return out


def _tool_choice(
    params: RequestParams, tools: Sequence[Tool], target: Target
) -> dict[str, Any] | None:
    choice = params.tool_choice
    if choice is None:
        return None
    where = "$.params.tool_choice"
    if not tools:
        raise reject(
            "tool_choice needs tools",
            rule="anthropic.tool_choice",
            target=target,
            path=where,
            received=choice,
            fix="Offer the tools, or leave tool_choice unset.",
        )
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    if choice in {t.name for t in tools}:
        return {"type": "tool", "name": choice}
    raise reject(
        "tool_choice names no offered tool",
        rule="anthropic.tool_choice",
        target=target,
        path=where,
        received=choice,
        fix="Use auto, none, required or the name of an offered tool.",
    )


def _tool_json(tool: Tool) -> dict[str, Any]:
    out: dict[str, Any] = {**tool.extra, "name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["input_schema"] = dict(tool.parameters)
    if tool.cache_control is not None:
        out["cache_control"] = cache_control_json(tool.cache_control)
    return out


def _fields(
    params: RequestParams,
    tools: Sequence[Tool],
    target: Target,
    system: Sequence[Encoded],
) -> tuple[dict[str, Any], bool]:
    if params.max_tokens is None or params.max_tokens < 1:
        raise reject(
            "The Messages API needs max_tokens (a positive integer)",
            rule="anthropic.max_tokens",
            target=target,
            path="$.params.max_tokens",
            received=params.max_tokens,
            fix="Set RequestParams(max_tokens=...).",
        )
    fields: dict[str, Any] = {
        "model": target.name,
        "max_tokens": params.max_tokens,
        "stream": params.stream,
    }
    if system:
        only = system[0][0]
        fields["system"] = (
            only["text"]
            if len(system) == 1 and "cache_control" not in only and len(only) == 2
            else [copy_json(b) for b, _ in system]
        )
    reasoning = _reasoning_fields(params, target)
    for name in ("temperature", "top_p", "top_k"):
        value = getattr(params, name)
        if value is not None:
            fields[name] = value
    if params.stop is not None:
        fields["stop_sequences"] = list(params.stop)
    if tools:
        fields["tools"] = [_tool_json(tool) for tool in tools]
    choice = _tool_choice(params, tools, target)
    if choice is not None:
        fields["tool_choice"] = choice
    fields.update(reasoning)
    for name in params.extra:
        if name in fields or name == "messages":
            raise reject(
                f"RequestParams.extra sets {name!r}, which convo sets itself",
                rule="params.extra",
                target=target,
                path=f"$.params.extra.{name}",
                received=params.extra[name],
                fix=f"Use the RequestParams field for {name!r} instead of extra.",
            )
    fields.update(copy_json(dict(params.extra)))
    return fields, bool(reasoning)


# ------------------------------------------------------------------------ build


def _build(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None,
    tools: Sequence[Tool],
) -> _Request:
    expect_request(turns, target, params, tools)
    if target.wire != NAME:
        raise reject(
            "This target speaks another wire format",
            rule="anthropic.route",
            target=target,
            path="$.target.wire",
            received=target.wire,
            fix="Use convo.wire.anthropic.anthropic_target(target) for the Messages "
            "route, or convo.wire.chat for chat completions.",
        )
    params = params if params is not None else RequestParams()
    check_request(
        turns,
        target=target,
        params=params,
        tools=tools,
        fields=emitted_fields(target, params, tools),
    )
    system, messages = _messages(turns, target)
    check_messages(messages, target)
    check_blocks(turns, target)
    fields, thinking = _fields(params, tools, target, system)
    check_thinking_history(messages, target, thinking)
    return _Request(fields=fields, messages=messages)


def _message_bytes(message: Message) -> bytes:
    return (
        b'{"content":['
        + b",".join(b for _, b in message.blocks)
        + b'],"role":"'
        + message.role.encode()
        + b'"}'
    )


def _request_bytes(request: _Request) -> bytes:
    messages = b"[" + b",".join(_message_bytes(m) for m in request.messages) + b"]"
    items = dict(request.fields)
    parts = []
    for key in sorted([*items, "messages"]):
        value = messages if key == "messages" else canonical_bytes(items[key])
        parts.append(canonical_bytes(key) + b":" + value)
    return b"{" + b",".join(parts) + b"}"


def encode_request(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
) -> dict[str, Any]:
    """The Messages API payload for `turns` (a fresh dict the caller may change).

    Raises:
        RequestRejectedError: the target would reject the request; the message
            names the rule, the path and the fix.
        PayloadTooLargeError: an image or the whole request is over a limit.
    """
    request = _build(turns, target=target, params=params, tools=tools)
    check_size(len(_request_bytes(request)), target)
    payload = dict(request.fields)
    payload["messages"] = [
        {"role": m.role, "content": [copy_json(b) for b, _ in m.blocks]}
        for m in request.messages
    ]
    return payload


def encode_request_bytes(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
) -> bytes:
    """The canonical bytes of `encode_request(...)`, joined from per-turn memos."""
    request = _build(turns, target=target, params=params, tools=tools)
    data = _request_bytes(request)
    check_size(len(data), target)
    return data


def validate_request(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
) -> None:
    """Raise what `encode_request` would raise; return None for a sendable request."""
    encode_request_bytes(turns, target=target, params=params, tools=tools)

"""Encode a request view into a Responses request body (dict or canonical bytes).

Body (docs/responses.md, "Request"): `model` (the endpoint or service name),
`input` (items, `_encode_items`), `instructions`, `max_output_tokens`,
`temperature`, `top_p`, flat function `tools`, `tool_choice`, `text.format`,
`reasoning: {effort, summary}`, and for stateless replay `store: false` with
`include: ["reasoning.encrypted_content"]` (RR1, RR8; both configurable in
`Target.responses`, unconfirmed on some routes); `stream: true` only when
streaming; `RequestParams.extra` last, never overriding a field convo sets.
Never `previous_response_id` (RR1). Tool `cache_control` has no field (RR14).

Invariant: `encode_request_bytes(...) == canonical_bytes(encode_request(...))`;
`validate_request` runs first, so a refused request raises before any body
exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convo._json import canonical_bytes
from convo._params import AdaptiveThinking, Effort, RequestParams
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn
from convo.errors import RequestRejectedError, message
from convo.wire.responses._encode_items import encode_items, instructions_of
from convo.wire.responses._validate import validate_request

__all__ = ["body_fields", "encode_request", "encode_request_bytes"]

_DEFAULT = RequestParams()


def _tool_json(tool: Tool, target: Target) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "function",
        "name": tool.name,
        "parameters": tool.parameters,
    }
    if tool.description:
        out["description"] = tool.description
    if tool.strict is not None and target.supports_strict_tools:
        out["strict"] = tool.strict
    for key, value in tool.extra.items():
        out.setdefault(key, value)
    return out


def _text_format(params: RequestParams) -> dict[str, Any] | None:
    rf = params.response_format
    if rf is None:
        return None
    if rf.type != "json_schema":
        return {"format": {"type": rf.type}}
    fmt: dict[str, Any] = {
        "type": "json_schema",
        "name": rf.name or "response",
        "schema": rf.schema or {},
    }
    if rf.strict is not None:
        fmt["strict"] = rf.strict
    return {"format": fmt}


def _reasoning(params: RequestParams, target: Target) -> dict[str, Any] | None:
    reasoning = params.reasoning
    effort = (
        reasoning.level
        if isinstance(reasoning, Effort)
        else reasoning.effort
        if isinstance(reasoning, AdaptiveThinking)
        else None
    )
    if effort is None:
        return None
    out: dict[str, Any] = {"effort": effort}
    if target.responses.reasoning_summary is not None:
        out["summary"] = target.responses.reasoning_summary
    return out


def body_fields(
    target: Target, params: RequestParams, tools: Sequence[Tool]
) -> dict[str, Any]:
    """Every top-level field but `model`, `input` and `instructions`.

    Raises:
        RequestRejectedError: an extra field collides with one convo sets.
    """
    fields: dict[str, Any] = {}
    options = target.responses
    if params.stream:
        fields["stream"] = True
    if options.send_store_false:
        fields["store"] = False
    if options.include_encrypted_reasoning:
        fields["include"] = ["reasoning.encrypted_content"]
    if params.max_tokens is not None:
        fields["max_output_tokens"] = params.max_tokens
    if params.temperature is not None:
        fields["temperature"] = params.temperature
    if params.top_p is not None:
        fields["top_p"] = params.top_p
    if tools:
        fields["tools"] = [_tool_json(t, target) for t in tools]
    if params.tool_choice is not None:
        choice = params.tool_choice
        fields["tool_choice"] = (
            choice
            if choice in ("auto", "none", "required")
            else {"type": "function", "name": choice}
        )
    text = _text_format(params)
    if text is not None:
        fields["text"] = text
    reasoning = _reasoning(params, target)
    if reasoning is not None:
        fields["reasoning"] = reasoning
    for key, value in params.extra.items():
        if key in fields or key in ("model", "input", "instructions"):
            raise RequestRejectedError(
                message(
                    f"RequestParams.extra sets {key!r}, which convo sets itself",
                    where=f"$.extra.{key}",
                    received=value,
                    fix=f"Use the RequestParams field for {key!r} instead of extra.",
                ),
                rule="params.extra",
                target=target.name,
                path=f"$.extra.{key}",
            )
        fields[key] = value
    return fields


def encode_request(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
) -> dict[str, Any]:
    """The request body for `turns` (a policy-applied request view).

    Raises:
        RequestRejectedError: the request breaks a rule of the target's route
            (see `validate_request`).
    """
    params = params or _DEFAULT
    validate_request(turns, target=target, params=params, tools=tools)
    body: dict[str, Any] = {"model": target.name, "input": encode_items(turns, target)}
    instructions = instructions_of(turns)
    if instructions is not None:
        body["instructions"] = instructions
    body.update(body_fields(target, params, tools))
    return body


def encode_request_bytes(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
) -> bytes:
    """The exact bytes `encode_request` describes (sorted keys, no spaces)."""
    return canonical_bytes(
        encode_request(turns, target=target, params=params, tools=tools)
    )

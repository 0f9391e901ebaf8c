"""Top-level Responses fields from `RequestParams` and tools, per target.

`max_output_tokens`, `temperature`, `top_p`, flat function `tools` (no
`cache_control`: the format has no field for it, RR14), `tool_choice`,
`text.format` (the flat json_schema form), `reasoning: {effort, summary}`,
and for stateless replay `store: false` with `include:
["reasoning.encrypted_content"]` (RR1, RR8; both `ResponsesOptions`,
unconfirmed on some routes); `stream: true` only when streaming;
`RequestParams.extra` last, never overriding a field convo sets.

A `ThinkingBudget` (Claude's reasoning knob on chat completions) has no field
here: it becomes `reasoning.effort` by `ResponsesOptions.budget_efforts`
(unconfirmed; Databricks documents no budget on these routes).

`emitted_fields` names, for the shared R16 check, the fields a request would
carry (`stop`, `n` and `top_k` are listed when set: no target on these routes
accepts them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convo._params import AdaptiveThinking, Effort, RequestParams, ThinkingBudget
from convo._targets import Target
from convo._tools import Tool
from convo.wire._shared._reject import reject

__all__ = ["body_fields", "budget_effort", "emitted_fields"]


def budget_effort(target: Target, budget: int) -> str:
    """The effort a thinking budget is sent as (`ResponsesOptions.budget_efforts`)."""
    for ceiling, effort in target.responses.budget_efforts:
        if budget <= ceiling:
            return effort
    return target.responses.budget_top_effort


def emitted_fields(
    target: Target, params: RequestParams, tools: Sequence[Tool]
) -> dict[str, str]:
    """Top-level fields a request would carry from `params` and `tools`, with their source."""
    out: dict[str, str] = {}
    for field, name in (
        ("max_output_tokens", "max_tokens"),
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("top_k", "top_k"),
        ("stop", "stop"),
        ("n", "n"),
        ("tool_choice", "tool_choice"),
        ("text", "response_format"),
        ("reasoning", "reasoning"),
    ):
        if getattr(params, name) is not None:
            out[field] = f"$.params.{name}"
    if tools:
        out["tools"] = "$.tools"
    return out


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
        else budget_effort(target, reasoning.budget_tokens)
        if isinstance(reasoning, ThinkingBudget)
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
            raise reject(
                f"RequestParams.extra sets {key!r}, which convo sets itself",
                rule="params.extra",
                target=target,
                path=f"$.params.extra.{key}",
                received=value,
                fix=f"Use the RequestParams field for {key!r} instead of extra.",
            )
        fields[key] = value
    return fields

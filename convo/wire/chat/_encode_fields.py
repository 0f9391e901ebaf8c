"""Top-level request fields from `RequestParams` and tools, per target.

Reasoning is translated by the target's style: a `ThinkingBudget` becomes
`thinking: {type: enabled, budget_tokens}`; `AdaptiveThinking` (or an `Effort`
on an adaptive target) becomes `thinking: {type: adaptive}` plus
`output_config.effort`; an `Effort` elsewhere becomes `reasoning_effort`.
`RequestParams.extra` is added verbatim and may not collide with a field convo
sets. Tool definitions carry `cache_control` inside `tools[i].function`.

Invariant: the same parameters always give the same fields; nothing here
checks whether the target accepts them (that is `_validate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convo._params import AdaptiveThinking, Effort, RequestParams, ThinkingBudget
from convo._targets import Target
from convo._tools import Tool
from convo.wire._shared._cache import cache_control_json
from convo.wire._shared._reject import reject

__all__ = ["emitted_fields", "params_fields"]


def _tool_json(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
    if tool.description:
        function["description"] = tool.description
    if tool.strict is not None:
        function["strict"] = tool.strict
    if tool.cache_control is not None:
        function["cache_control"] = cache_control_json(tool.cache_control)
    out: dict[str, Any] = {"type": "function", "function": function}
    for key, value in tool.extra.items():
        out.setdefault(key, value)
    return out


def _tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _response_format(params: RequestParams) -> dict[str, Any] | None:
    rf = params.response_format
    if rf is None:
        return None
    if rf.type != "json_schema":
        return {"type": rf.type}
    schema: dict[str, Any] = {"name": rf.name or "response", "schema": rf.schema or {}}
    if rf.strict is not None:
        schema["strict"] = rf.strict
    return {"type": "json_schema", "json_schema": schema}


def params_fields(
    target: Target, params: RequestParams, tools: Sequence[Tool], *, include_model: bool
) -> dict[str, Any]:
    """Every top-level field but `messages`, convo's own first, then `params.extra`.

    Raises:
        RequestRejectedError: an extra field collides with one convo sets.
    """
    fields: dict[str, Any] = {}
    if params.stream:
        # Sent only when true: the seed's own non-streaming examples omit it,
        # so omission means false on every Databricks endpoint they show.
        fields["stream"] = True
    if include_model:
        fields["model"] = target.name
    if params.max_tokens is not None:
        fields["max_tokens"] = params.max_tokens
    if params.temperature is not None:
        fields["temperature"] = params.temperature
    if params.top_p is not None:
        fields["top_p"] = params.top_p
    if params.top_k is not None:
        fields["top_k"] = params.top_k
    if params.stop is not None:
        fields["stop"] = list(params.stop)
    if params.n is not None:
        fields["n"] = params.n
    if tools:
        fields["tools"] = [_tool_json(t) for t in tools]
    if params.tool_choice is not None:
        fields["tool_choice"] = _tool_choice(params.tool_choice)
    rf = _response_format(params)
    if rf is not None:
        fields["response_format"] = rf
    reasoning = params.reasoning
    style = target.reasoning.style
    if isinstance(reasoning, ThinkingBudget):
        fields["thinking"] = {
            "type": "enabled",
            "budget_tokens": reasoning.budget_tokens,
        }
    elif isinstance(reasoning, AdaptiveThinking) or (
        isinstance(reasoning, Effort) and style == "adaptive"
    ):
        effort = (
            reasoning.effort
            if isinstance(reasoning, AdaptiveThinking)
            else reasoning.level
        )
        fields["thinking"] = {"type": "adaptive"}
        if effort is not None:
            fields["output_config"] = {"effort": effort}
    elif isinstance(reasoning, Effort):
        fields["reasoning_effort"] = reasoning.level
    for key, value in params.extra.items():
        if key in fields or key == "messages":
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


def emitted_fields(
    target: Target, params: RequestParams, tools: Sequence[Tool]
) -> dict[str, str]:
    """Top-level fields `params_fields` would send from `params`, with their source path.

    What the format-neutral check reads for R16 (`model`, `stream` and
    `messages` are always taken and not listed).
    """
    out: dict[str, str] = {}
    for name in (
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "n",
        "tool_choice",
        "response_format",
    ):
        if getattr(params, name) is not None:
            out[name] = f"$.params.{name}"
    if tools:
        out["tools"] = "$.tools"
    reasoning = params.reasoning
    if isinstance(reasoning, ThinkingBudget):
        out["thinking"] = "$.params.reasoning"
    elif isinstance(reasoning, AdaptiveThinking):
        out["thinking"] = "$.params.reasoning"
        if reasoning.effort is not None:
            out["output_config"] = "$.params.reasoning.effort"
    elif isinstance(reasoning, Effort):
        if target.reasoning.style == "adaptive":
            out["thinking"] = out["output_config"] = "$.params.reasoning"
        else:
            out["reasoning_effort"] = "$.params.reasoning"
    return out

"""The top-level Messages fields a request would carry, for the shared R16 check.

`emitted_fields` names each field `_encode` would send from `RequestParams`
and tools (`stop` -> `stop_sequences`; reasoning -> `thinking`, plus
`output_config` for an effort on an adaptive model), with the path of its
source, so `convo.wire._shared._check` can refuse a field the target does not
take before anything is encoded. `model`, `messages`, `system` and `stream`
are always taken and not listed.
"""

from __future__ import annotations

from collections.abc import Sequence

from convo._params import AdaptiveThinking, Effort, RequestParams, ThinkingBudget
from convo._targets import Target
from convo._tools import Tool

__all__ = ["emitted_fields"]

_FIELD_OF = {
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "stop": "stop_sequences",
    "n": "n",
    "tool_choice": "tool_choice",
    "response_format": "response_format",
}


def emitted_fields(
    target: Target, params: RequestParams, tools: Sequence[Tool]
) -> dict[str, str]:
    """Messages fields the request would carry -> the path of their source."""
    out = {
        field: f"$.params.{name}"
        for name, field in _FIELD_OF.items()
        if getattr(params, name) is not None
    }
    if tools:
        out["tools"] = "$.tools"
    reasoning = params.reasoning
    where = "$.params.reasoning"
    if isinstance(reasoning, ThinkingBudget):
        out["thinking"] = where
    elif isinstance(reasoning, AdaptiveThinking):
        out["thinking"] = where
        if reasoning.effort is not None:
            out["output_config"] = f"{where}.effort"
    elif isinstance(reasoning, Effort):
        if target.reasoning.style == "adaptive":
            out["thinking"] = out["output_config"] = where
        else:
            out["reasoning_effort"] = where
    return out

"""Split a chat payload into `openai` SDK keyword arguments plus `extra_body`.

`client.chat.completions.create(**to_openai_kwargs(payload))` sends exactly the
payload's JSON: fields the SDK's `create()` names are passed as keyword
arguments, every other field (`thinking`, `output_config`, `top_k`, ...) goes
into `extra_body`, which the SDK merges into the body verbatim.

Invariant: the input payload is never modified; values are passed through as
they are (the SDK serialises them unchanged).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convo._check import expect_mapping

__all__ = ["OPENAI_CREATE_FIELDS", "to_openai_kwargs"]

OPENAI_CREATE_FIELDS = frozenset(
    {
        "messages",
        "model",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "moderation",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)
"""Body fields that `openai` (3.x) `Completions.create` takes as keyword arguments."""


def to_openai_kwargs(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `client.chat.completions.create` sending `payload` as is.

    Raises:
        UsageError: `payload` is not a mapping.
    """
    expect_mapping(payload, "payload", fix="Pass the dict encode_request() returns.")
    kwargs: dict[str, Any] = {}
    extra_body: dict[str, Any] = {}
    for key, value in payload.items():
        if key in OPENAI_CREATE_FIELDS:
            kwargs[key] = value
        else:
            extra_body[key] = value
    if extra_body:
        kwargs["extra_body"] = extra_body
    return kwargs

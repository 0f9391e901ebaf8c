"""What the fake endpoint knows about each served model, written from the docs, not from convo.

The fake is an independent check of what convo sends, so this table is kept apart
from `convo._targets`: each `ModelSpec` lists the top-level fields the endpoint takes
(anything else is a 400, rule R16), the reasoning controls it accepts (R14, R15),
whether it signs reasoning, its Claude-only rules and its prompt-cache minimum.
Invariant: a spec never changes after construction; the endpoint looks specs up by name.
"""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["DEFAULT_MODELS", "ModelSpec", "default_models"]

_BASE_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "stream",
        "stop",
        "temperature",
        "top_p",
        "n",
        "tools",
        "tool_choice",
        "response_format",
        "client_request_id",
        "usage_context",
        "extra_params",
        "service_tier",
    }
)

Family = Literal["claude", "gpt-oss", "gpt", "gemini", "llama", "generic"]


@attrs.frozen(kw_only=True)
class ModelSpec:
    """One model served by the fake endpoint.

    `thinking_types` lists the `thinking.type` values taken (Claude only; empty means
    the `thinking` field is unknown); `efforts` the `reasoning_effort` values taken
    (empty means the field is unknown, or for Claude refused under R15). Serve an
    endpoint of your own by copying a built-in one:
    `attrs.evolve(spec, name="my-claude-endpoint")`.
    """

    name: str
    family: Family = "generic"
    fields: frozenset[str] = _BASE_FIELDS
    thinking_types: tuple[str, ...] = ()
    efforts: tuple[str, ...] = ()
    default_effort: str | None = None
    always_reasons: bool = False
    """Reasoning-only models (GPT OSS) answer with an unsigned reasoning block every time."""
    signs_reasoning: bool = False
    """Claude: reasoning carries a signature the endpoint verifies on replay."""
    claude_rules: bool = False
    """Anthropic rules apply: empty text (R12), consecutive tool results (R10), R2, R14, caching."""
    min_cache_tokens: int | None = None
    """Minimum cacheable prefix in tokens; None means the model has no prompt caching."""
    images: bool = True
    """Image inputs are taken (GPT OSS and Llama are text-only: images are a 400, R18)."""
    strict_tools: bool = False
    """`strict` inside a tool's `function` is taken (GPT only, R16)."""
    binds_reasoning_to_prefix: bool = False
    """Newer Claude: a thinking block is valid only after its exact original prefix (R5)."""
    thought_signatures: bool = False
    """Gemini 3: tool calls carry `extra_content.google.thought_signature`, required on replay (R17)."""
    upstream_model: str | None = None
    """What the response's `model` field says (Databricks may report the upstream id)."""
    context_window: int | None = None
    """Input (and, except Gemini, input plus `max_tokens`) over this is a 400 (rule `window`)."""
    max_output_tokens: int | None = None
    """The model's answer cap (documentation; a request naming none is judged by its input)."""


def _claude(
    name: str, *, min_cache: int, max_output: int, binds: bool = False
) -> ModelSpec:
    # Anthropic's models overview: 200K context window for each of these.
    return ModelSpec(
        name=name,
        context_window=200_000,
        max_output_tokens=max_output,
        family="claude",
        fields=_BASE_FIELDS | {"thinking", "top_k"},
        thinking_types=("enabled", "disabled"),
        signs_reasoning=True,
        claude_rules=True,
        min_cache_tokens=min_cache,
        binds_reasoning_to_prefix=binds,
    )


def default_models() -> tuple[ModelSpec, ...]:
    """The built-in models: the Databricks pay-per-token names convo targets."""
    gpt_fields = _BASE_FIELDS | {
        "reasoning_effort",
        "parallel_tool_calls",
        "stream_options",
    }
    return (
        _claude("databricks-claude-sonnet-4", min_cache=1024, max_output=64_000),
        _claude("databricks-claude-sonnet-4-5", min_cache=1024, max_output=64_000),
        _claude("databricks-claude-opus-4-1", min_cache=1024, max_output=32_000),
        _claude(
            "databricks-claude-opus-4-5", min_cache=4096, max_output=64_000, binds=True
        ),
        ModelSpec(
            name="databricks-gpt-oss-20b",
            context_window=131_072,
            max_output_tokens=131_072,
            family="gpt-oss",
            fields=gpt_fields,
            efforts=("low", "medium", "high"),
            default_effort="medium",
            always_reasons=True,
            images=False,
        ),
        ModelSpec(
            name="databricks-gpt-oss-120b",
            context_window=131_072,
            max_output_tokens=131_072,
            family="gpt-oss",
            fields=gpt_fields,
            efforts=("low", "medium", "high"),
            default_effort="medium",
            always_reasons=True,
            images=False,
        ),
        ModelSpec(
            name="databricks-gpt-5-1",
            context_window=400_000,
            max_output_tokens=128_000,
            family="gpt",
            fields=gpt_fields,
            efforts=("none", "low", "medium", "high"),
            default_effort="none",
            strict_tools=True,
        ),
        ModelSpec(
            name="databricks-gemini-3-pro",
            context_window=1_048_576,
            max_output_tokens=65_536,
            family="gemini",
            fields=_BASE_FIELDS | {"reasoning_effort", "top_k"},
            efforts=("low", "medium", "high"),
            default_effort="low",
            thought_signatures=True,
        ),
        ModelSpec(
            name="databricks-meta-llama-3-1-405b-instruct",
            context_window=131_072,
            max_output_tokens=4_096,
            family="llama",
            fields=_BASE_FIELDS | {"top_k", "stream_options"},
            images=False,
        ),
    )


DEFAULT_MODELS: tuple[str, ...] = tuple(m.name for m in default_models())

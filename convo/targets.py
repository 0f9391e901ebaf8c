"""The built-in targets: every model the seed pages name, plus a generic one.

Importing this module registers them (the chat wire imports it). Facts per
family (wire-facts A2, A8, B1, B2; provider-rules R11-R18):

- Claude (`databricks-claude-sonnet-4`, `-sonnet-4-5`, `-opus-4-1`,
  `-opus-4-5`): hybrid reasoning, `thinking: {type: enabled, budget_tokens}`
  with budget >= 1024 and < max_tokens, a warning above 32,000 ("usage above
  32K may vary"); sampling limits with thinking on (R14); rejects
  `reasoning_effort`, `parallel_tool_calls`, `stream_options` (R15, R16);
  empty text rejected (R12); signed reasoning required in tool loops (R2);
  prompt caching with 4 breakpoints, minimum 1024 tokens (4096 for Opus 4.5,
  per Anthropic's caching docs); tool results stay consecutive.
- GPT OSS 20B / 120B: `reasoning_effort` low / medium / high, default medium;
  text only; tool messages must follow their call (R11).
- GPT-5.1: `reasoning_effort` none / low / medium / high, default none;
  strict tools; images.
- Gemini 3 Pro: `reasoning_effort` low / medium / high, default low; thought
  signatures on tool calls echoed (R17); rejects `stream_options`.
- Llama 3.1 405B Instruct: no reasoning; retiring (pay-per-token from
  2026-02-15, provisioned throughput from 2026-05-15), warned on use.
- `openai-compatible`: a generic OpenAI chat-completions endpoint.
- Responses routes (`wire="responses"`, docs/responses.md): the same models
  on Open Responses (Claude, Gemini, gpt-oss), OpenAI Responses (GPT-5.1) and
  the Unity AI Gateway (`system.ai.*` service names); looked up with
  `route_target(route, name)`, derived with `responses_target`.

Invariant: targets are frozen values; registering an equal target twice is a no-op.
"""

from __future__ import annotations

from convo._check import expect_text
from convo._targets import (
    CacheRules,
    Deprecation,
    ImageLimits,
    ReasoningRules,
    Target,
    TargetDeprecationWarning,
    register_target,
)
from convo._targets_responses import responses_target
from convo.errors import UnknownTargetError

__all__ = [
    "AI_GATEWAY_TARGETS",
    "CLAUDE_OPUS_4_1",
    "CLAUDE_OPUS_4_5",
    "CLAUDE_SONNET_4",
    "CLAUDE_SONNET_4_5",
    "DATABRICKS_CHAT_FIELDS",
    "GEMINI_3_PRO",
    "GPT_5_1",
    "GPT_OSS_20B",
    "GPT_OSS_120B",
    "LLAMA_3_1_405B",
    "OPENAI_COMPATIBLE",
    "OPENAI_RESPONSES_TARGETS",
    "OPEN_RESPONSES_TARGETS",
    "TargetDeprecationWarning",
    "responses_target",
    "route_target",
]

DATABRICKS_CHAT_FIELDS = frozenset(
    {
        "messages",
        "model",
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "n",
        "stream",
        "tools",
        "tool_choice",
        "response_format",
    }
)
"""Top-level fields every Databricks chat endpoint takes (wire-facts A2)."""

_NO_MESSAGE_NAME = frozenset({"name"})


# Window facts. Claude: Anthropic's models overview
# (https://docs.anthropic.com/en/docs/about-claude/models/overview, "Context
# window" and "Max output" rows): 200K context for every model here; max output
# 64K for Sonnet 4, Sonnet 4.5 and Opus 4.5, 32K for Opus 4.1. The 1M-token
# window of Sonnet 4 / 4.5 is a beta header Databricks does not pass, so 200K.
_CLAUDE_WINDOW = 200_000


def _claude(
    name: str, *, min_cache: int, keeps_reasoning: bool, max_output: int
) -> Target:
    return Target(
        name=name,
        context_window=_CLAUDE_WINDOW,
        max_output_tokens=max_output,
        wire="chat",
        provider="anthropic",
        family="claude",
        reasoning=ReasoningRules(
            style="budget",
            min_budget=1024,
            budget_warning_above=32_000,
            forbids_sampling_with_thinking=True,
        ),
        accepted_fields=DATABRICKS_CHAT_FIELDS | {"thinking", "top_k"},
        rejected_fields=frozenset(
            {
                "reasoning_effort",
                "parallel_tool_calls",
                "stream_options",
                "context_management",
            }
        ),
        rejected_message_fields=_NO_MESSAGE_NAME,
        cache=CacheRules(
            supported=True, max_breakpoints=4, min_cacheable_tokens=min_cache
        ),
        images=ImageLimits(supported=True),
        requires_signatures=True,
        prompt_tokens_exclude_cache=True,
        keeps_reasoning_in_context=keeps_reasoning,
        reasoning_required_in_tool_loop=True,
        tool_results_need_preceding_call=False,
        rejects_empty_text=True,
        supports_strict_tools=False,
    )


CLAUDE_SONNET_4 = _claude(
    "databricks-claude-sonnet-4",
    min_cache=1024,
    keeps_reasoning=False,
    max_output=64_000,
)
CLAUDE_SONNET_4_5 = _claude(
    "databricks-claude-sonnet-4-5",
    min_cache=1024,
    keeps_reasoning=False,
    max_output=64_000,
)
CLAUDE_OPUS_4_1 = _claude(
    "databricks-claude-opus-4-1",
    min_cache=1024,
    keeps_reasoning=False,
    max_output=32_000,
)
CLAUDE_OPUS_4_5 = _claude(
    "databricks-claude-opus-4-5",
    min_cache=4096,
    keeps_reasoning=True,
    max_output=64_000,
)


def _gpt_oss(name: str) -> Target:
    # OpenAI's model pages (https://platform.openai.com/docs/models/gpt-oss-120b,
    # .../gpt-oss-20b): 131,072-token context window, 131,072 max output tokens.
    return Target(
        name=name,
        context_window=131_072,
        max_output_tokens=131_072,
        provider="openai",
        family="gpt-oss",
        reasoning=ReasoningRules(
            style="effort", efforts=("low", "medium", "high"), default_effort="medium"
        ),
        accepted_fields=DATABRICKS_CHAT_FIELDS | {"reasoning_effort"},
        rejected_fields=frozenset({"thinking", "parallel_tool_calls"}),
        rejected_message_fields=_NO_MESSAGE_NAME,
        images=ImageLimits(supported=False),
        tool_results_need_preceding_call=True,
    )


GPT_OSS_20B = _gpt_oss("databricks-gpt-oss-20b")
GPT_OSS_120B = _gpt_oss("databricks-gpt-oss-120b")

GPT_5_1 = Target(
    name="databricks-gpt-5-1",
    # OpenAI's model page (https://platform.openai.com/docs/models/gpt-5.1):
    # 400,000-token context window, 128,000 max output tokens.
    context_window=400_000,
    max_output_tokens=128_000,
    provider="openai",
    family="gpt-5",
    reasoning=ReasoningRules(
        style="effort", efforts=("none", "low", "medium", "high"), default_effort="none"
    ),
    accepted_fields=DATABRICKS_CHAT_FIELDS
    | {
        "reasoning_effort",
        "parallel_tool_calls",
        "stream_options",
        "max_completion_tokens",
    },
    rejected_fields=frozenset({"thinking", "top_k"}),
    rejected_message_fields=_NO_MESSAGE_NAME,
    images=ImageLimits(supported=True),
    tool_results_need_preceding_call=True,
    supports_strict_tools=True,
)

GEMINI_3_PRO = Target(
    name="databricks-gemini-3-pro",
    # Google's model page (https://ai.google.dev/gemini-api/docs/models/gemini-3-pro-preview):
    # input token limit 1,048,576, output token limit 65,536. The input limit is
    # the window convo budgets against; output is capped separately.
    context_window=1_048_576,
    max_output_tokens=65_536,
    provider="google",
    family="gemini",
    reasoning=ReasoningRules(
        style="effort", efforts=("low", "medium", "high"), default_effort="low"
    ),
    accepted_fields=DATABRICKS_CHAT_FIELDS | {"reasoning_effort"},
    rejected_fields=frozenset({"thinking", "stream_options", "parallel_tool_calls"}),
    rejected_message_fields=_NO_MESSAGE_NAME,
    images=ImageLimits(supported=True),
    tool_results_need_preceding_call=True,
    echoes_tool_call_extras=True,
)

LLAMA_3_1_405B = Target(
    name="databricks-meta-llama-3-1-405b-instruct",
    # Meta's Llama 3.1 model card (https://github.com/meta-llama/llama-models,
    # models/llama3_1/MODEL_CARD.md): 128K (131,072-token) context. Neither Meta
    # nor the Databricks pages in docs/ state an output cap; 4,096 is a
    # conservative reserve, not a provider figure (pass your own if it matters).
    context_window=131_072,
    max_output_tokens=4_096,
    provider="meta",
    family="llama",
    reasoning=ReasoningRules(style="none"),
    accepted_fields=DATABRICKS_CHAT_FIELDS,
    rejected_fields=frozenset({"thinking", "reasoning_effort", "parallel_tool_calls"}),
    rejected_message_fields=_NO_MESSAGE_NAME,
    images=ImageLimits(supported=False),
    tool_results_need_preceding_call=True,
    deprecation=Deprecation(
        note="Meta-Llama-3.1-405B-Instruct is being retired; see Databricks' retired "
        "models page for the recommended replacement.",
        pay_per_token_retirement="2026-02-15",  # noqa: S106 - a date, not a secret
        provisioned_throughput_retirement="2026-05-15",
    ),
)

OPENAI_COMPATIBLE = Target(
    name="openai-compatible",
    provider="openai",
    family="generic",
    reasoning=ReasoningRules(
        style="effort",
        efforts=("none", "minimal", "low", "medium", "high", "xhigh"),
    ),
    accepted_fields=frozenset(),
    images=ImageLimits(supported=True, max_base64_bytes=20 * 1024 * 1024),
    max_request_bytes=32 * 1024 * 1024,
    supports_strict_tools=True,
)
"""A generic OpenAI chat-completions endpoint: every field allowed (no field list)."""

for _target in (
    CLAUDE_SONNET_4,
    CLAUDE_SONNET_4_5,
    CLAUDE_OPUS_4_1,
    CLAUDE_OPUS_4_5,
    GPT_OSS_20B,
    GPT_OSS_120B,
    GPT_5_1,
    GEMINI_3_PRO,
    LLAMA_3_1_405B,
    OPENAI_COMPATIBLE,
):
    register_target(_target)


# ----------------------------------------------------------------- Responses routes

OPEN_RESPONSES_TARGETS: dict[str, Target] = {
    t.name: responses_target(t, route="open-responses")
    for t in (
        CLAUDE_SONNET_4,
        CLAUDE_SONNET_4_5,
        CLAUDE_OPUS_4_1,
        CLAUDE_OPUS_4_5,
        GEMINI_3_PRO,
        GPT_OSS_20B,
        GPT_OSS_120B,
    )
}
"""Open Responses (`/serving-endpoints/open-responses`): Claude, Gemini and the
hosted open models, by endpoint name."""

OPENAI_RESPONSES_TARGETS: dict[str, Target] = {
    t.name: responses_target(t, route="responses") for t in (GPT_5_1,)
}
"""OpenAI Responses (`/serving-endpoints/responses`): the GPT-5 series."""

AI_GATEWAY_TARGETS: dict[str, Target] = {
    g.name: g
    for g in (
        responses_target(t, route="ai-gateway")
        for t in (
            CLAUDE_SONNET_4,
            CLAUDE_SONNET_4_5,
            CLAUDE_OPUS_4_1,
            CLAUDE_OPUS_4_5,
            GEMINI_3_PRO,
            GPT_OSS_20B,
            GPT_OSS_120B,
            GPT_5_1,
        )
    )
}
"""Unity AI Gateway (`/ai-gateway/mlflow/v1/responses`), by service name
(`system.ai.claude-sonnet-4-5`); names are workspace-dependent (unconfirmed)."""

_BY_ROUTE: dict[tuple[str | None, str], Target] = {
    (t.route, t.name): t
    for group in (OPEN_RESPONSES_TARGETS, OPENAI_RESPONSES_TARGETS, AI_GATEWAY_TARGETS)
    for t in group.values()
}


def route_target(route: str, name: str) -> Target:
    """The built-in target `name` on the Responses route `route`.

    These targets share their model's name with its chat target, so they are
    looked up by route and name rather than registered by name.

    Raises:
        UnknownTargetError: no built-in target of that name on that route.
        UsageError: `route` or `name` is not a str.
    """
    expect_text(route, "route")
    expect_text(name, "name")
    try:
        return _BY_ROUTE[(route, name)]
    except KeyError:
        known = ", ".join(sorted(f"{r}:{n}" for r, n in _BY_ROUTE))
        raise UnknownTargetError(
            f"No built-in target {name!r} on the route {route!r}",
            key=f"{route}:{name}",
            fix=f"Built in: {known}. Or derive one with responses_target().",
        ) from None

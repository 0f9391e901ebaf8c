"""The native Messages route of a Claude target.

Databricks serves Claude both as chat completions (`/serving-endpoints/{name}/
invocations`) and as the Anthropic Messages API (`/serving-endpoints/anthropic/
v1/messages`). `anthropic_target` turns the first into the second: same model,
same reasoning and cache rules, `wire="anthropic"` and the top-level fields the
Messages API takes. Invariant: the encoder never emits a field outside
`accepted_fields` (rule R16), so this list is the whole request surface.
"""

from __future__ import annotations

import attrs

from convo._targets import Target, expect_target
from convo.wire._shared._reject import reject

__all__ = ["MESSAGES_FIELDS", "SAMPLING_FIELDS", "anthropic_target"]

SAMPLING_FIELDS = frozenset({"temperature", "top_p", "top_k"})
MESSAGES_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "stop_sequences",
        "stream",
        "tools",
        "tool_choice",
        "metadata",
    }
    | SAMPLING_FIELDS
)
"""Top-level fields of a Messages request that every Claude model takes."""


def anthropic_target(target: Target) -> Target:
    """The same model on the native Messages route (`wire="anthropic"`).

    Budget-thinking models also take `thinking`; adaptive-only models take
    `thinking` and `output_config` and refuse the sampling fields (rule R14).

    Raises:
        RequestRejectedError: the target is not an Anthropic (Claude) model; the
            Messages route serves only those.
    """
    expect_target(target)
    if target.family != "claude" and target.provider != "anthropic":
        raise reject(
            "The Messages API route serves only Anthropic models",
            rule="anthropic.route",
            target=target,
            received=f"family {target.family!r}, provider {target.provider!r}",
            fix="Use convo.wire.chat for this target.",
        )
    fields = set(MESSAGES_FIELDS)
    style = target.reasoning.style
    if style == "budget":
        fields.add("thinking")
    elif style == "adaptive":
        fields |= {"thinking", "output_config"}
        fields -= SAMPLING_FIELDS
    cache = (
        target.cache
        if target.cache.supported
        else attrs.evolve(target.cache, supported=True)
    )
    reasoning = target.reasoning
    if style in ("budget", "adaptive"):
        reasoning = attrs.evolve(reasoning, forbids_sampling_with_thinking=True)
    return attrs.evolve(
        target,
        wire="anthropic",
        reasoning=reasoning,
        accepted_fields=frozenset(fields),
        cache=cache,
        rejects_empty_text=True,
        requires_signatures=True,
        signs_each_reasoning_part=True,
        tool_results_need_preceding_call=False,
        supports_strict_tools=False,
    )

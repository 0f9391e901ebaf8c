"""Targets on the Responses routes (`wire="responses"`), derived from the chat targets of the same model.

`responses_target(target, route=...)` gives the same model on one of the
three routes (docs/responses.md, "Routes"): the same family, reasoning rules
(a Claude budget is sent as an effort, `ResponsesOptions.budget_efforts`),
sampling rules, refused fields, empty-text rule and image limits as its chat
twin, so a request is refused with the same rule on every route; and
`wire="responses"`, the route, the Responses request fields, no prompt-cache
markers (the format has no field for them, RR14) and
`requires_signatures=True`: reasoning goes back only with its
`encrypted_content` (RR7), and only to the route that issued it (RR10).
On the gateway the target's name is the service name
(`system.ai.<model>`), which is what goes in `model`.
"""

from __future__ import annotations

import attrs

from convo._targets import CacheRules, ResponsesOptions, Target
from convo.errors import UsageError

__all__ = [
    "RESPONSES_FIELDS",
    "RESPONSES_ROUTES",
    "gateway_service_name",
    "responses_target",
]

RESPONSES_ROUTES = ("open-responses", "responses", "ai-gateway")
"""The routes of the `responses` format (paths: `convo.wire.responses.ROUTES`)."""

RESPONSES_FIELDS = frozenset(
    {
        "max_output_tokens",
        "temperature",
        "top_p",
        "tools",
        "tool_choice",
        "text",
        "reasoning",
    }
)
"""Fields convo sets from `RequestParams` that these routes take (RR14: no others)."""

_PREFIX = "databricks-"


def gateway_service_name(name: str) -> str:
    """`databricks-claude-sonnet-4-5` → `system.ai.claude-sonnet-4-5`."""
    base = name[len(_PREFIX) :] if name.startswith(_PREFIX) else name
    return f"system.ai.{base}"


def responses_target(
    target: Target,
    *,
    route: str,
    name: str | None = None,
    options: ResponsesOptions | None = None,
) -> Target:
    """`target`'s model on a Responses route.

    Args:
        target: the model's chat-completions target.
        route: `open-responses`, `responses` or `ai-gateway`.
        name: the `model` value; default the endpoint name, or on the gateway
            its `system.ai.` service name.
        options: the unconfirmed format choices (default `ResponsesOptions()`).

    Raises:
        UsageError: `route` is not one of the three.
    """
    if route not in RESPONSES_ROUTES:
        raise UsageError(
            "Unknown responses route",
            where="route",
            received=route,
            fix=f"Use one of {', '.join(RESPONSES_ROUTES)}.",
        )
    if name is None:
        name = (
            gateway_service_name(target.name) if route == "ai-gateway" else target.name
        )
    fields = RESPONSES_FIELDS
    if target.reasoning.style == "none":
        fields = fields - {"reasoning"}
    return attrs.evolve(
        target,
        name=name,
        wire="responses",
        route=route,
        accepted_fields=fields,
        rejected_message_fields=frozenset(),
        cache=CacheRules(supported=False),
        requires_signatures=True,
        signs_each_reasoning_part=False,
        keeps_reasoning_in_context=False,
        prompt_tokens_exclude_cache=False,
        reasoning_required_in_tool_loop=False,
        tool_results_need_preceding_call=False,
        responses=options or ResponsesOptions(),
    )

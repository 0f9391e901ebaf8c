"""The one format-neutral check of a request, run before any format encodes it.

Rules about targets, parameters and blocks, the same on every route (each
refusal names its rule; docs/provider-rules.md):
- R14: thinking budgets at least the minimum and below `max_tokens`;
  adaptive-only models take no budget and no sampling parameters; with
  thinking on, only `tool_choice` auto/none, no `temperature` or `top_k`,
  `top_p` in [0.95, 1];
- R15: reasoning parameters only of the kind the target takes, effort values
  only from its list (adaptive models: `DEFAULT_EFFORTS` when it has none);
- R16: only the top-level fields the target accepts (the format says which
  wire fields a request would carry), never a field it rejects (also through
  `RequestParams.extra`), `strict` only where supported, and no cache marker
  at all on a target without prompt caching;
- R6: at most the target's number of cache markers (tools and blocks);
- R7: no cache marker on reasoning or on empty text;
- R8: only ttls the target takes, and never a shorter ttl before a longer one;
- R12: no message left empty for a target that rejects empty text;
- R18: images (`_images`), and the encoded request's size (`check_size`,
  called by each format once it has the bytes).

A thinking budget above the target's warning threshold warns with
`LargeThinkingBudgetWarning`; a retiring target warns with
`convo.targets.TargetDeprecationWarning`.

Invariant: checks only read the request view and parameters; they raise only
`RequestRejectedError` (or `PayloadTooLargeError`), never change anything.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

from convo._blocks import CacheControl, ImageBlock
from convo._params import AdaptiveThinking, Effort, RequestParams, ThinkingBudget
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn
from convo.wire._shared._facts import Facts, notable_facts
from convo.wire._shared._images import check_images
from convo.wire._shared._reject import reject

__all__ = [
    "DEFAULT_EFFORTS",
    "LargeThinkingBudgetWarning",
    "check_request",
    "check_size",
]

DEFAULT_EFFORTS = ("low", "medium", "high", "xhigh", "max")
"""Effort levels of an adaptive-thinking model that lists none of its own."""

_TTL_RANK = {"1h": 2, "5m": 1, None: 1}


class LargeThinkingBudgetWarning(UserWarning):
    """A thinking budget above what the target documents as reliable ("may vary")."""


def _reasoning(target: Target, params: RequestParams) -> bool:
    """Check R14/R15; return whether thinking is on."""
    rules = target.reasoning
    reasoning = params.reasoning
    if reasoning is None:
        return False
    where = "$.params.reasoning"
    if rules.style == "none":
        raise reject(
            "This target takes no reasoning parameters",
            rule="R15",
            target=target,
            path=where,
            received=reasoning,
            fix="Leave RequestParams.reasoning unset for this target.",
        )
    if isinstance(reasoning, ThinkingBudget):
        _budget(target, params, reasoning)
        return True
    if isinstance(reasoning, AdaptiveThinking):
        if rules.style != "adaptive":
            raise reject(
                "This target does not take adaptive thinking",
                rule="R14" if rules.style == "budget" else "R15",
                target=target,
                path=where,
                received=reasoning,
                fix="Use ThinkingBudget(budget_tokens=...)."
                if rules.style == "budget"
                else "Use Effort(level=...).",
            )
        allowed = rules.efforts or DEFAULT_EFFORTS
        if reasoning.effort is not None and reasoning.effort not in allowed:
            raise reject(
                "Unsupported effort value",
                rule="R15",
                target=target,
                path=f"{where}.effort",
                received=reasoning.effort,
                fix=f"Use one of {', '.join(allowed)}.",
            )
        return True
    assert isinstance(reasoning, Effort)  # noqa: S101 - the Reasoning union is closed
    if rules.style == "budget":
        raise reject(
            "Claude rejects reasoning_effort",
            rule="R15",
            target=target,
            path=where,
            received=reasoning.level,
            fix="Use ThinkingBudget(budget_tokens=...) to turn thinking on.",
        )
    if rules.efforts and reasoning.level not in rules.efforts:
        raise reject(
            "Unsupported reasoning_effort value",
            rule="R15",
            target=target,
            path=f"{where}.level",
            received=reasoning.level,
            fix=f"Use one of {', '.join(rules.efforts)}.",
        )
    return rules.style == "adaptive"


def _budget(target: Target, params: RequestParams, reasoning: ThinkingBudget) -> None:
    rules = target.reasoning
    where = "$.params.reasoning"
    if rules.style == "adaptive":
        raise reject(
            "An adaptive-only model rejects thinking budgets",
            rule="R14",
            target=target,
            path=where,
            received=reasoning.budget_tokens,
            fix="Use AdaptiveThinking(effort=...) instead.",
        )
    if rules.style != "budget":
        raise reject(
            "This target takes reasoning_effort, not a thinking budget",
            rule="R15",
            target=target,
            path=where,
            received=reasoning.budget_tokens,
            fix=f"Use Effort(level=...) with one of {', '.join(rules.efforts)}.",
        )
    budget = reasoning.budget_tokens
    if budget < rules.min_budget:
        raise reject(
            f"budget_tokens must be at least {rules.min_budget}",
            rule="R14",
            target=target,
            path=f"{where}.budget_tokens",
            received=budget,
            fix=f"Raise the budget to {rules.min_budget} or more.",
        )
    if params.max_tokens is None or budget >= params.max_tokens:
        raise reject(
            "budget_tokens must be below max_tokens",
            rule="R14",
            target=target,
            path=f"{where}.budget_tokens",
            received=f"budget_tokens={budget}, max_tokens={params.max_tokens}",
            fix="Set max_tokens above the thinking budget.",
        )
    if rules.budget_warning_above is not None and budget > rules.budget_warning_above:
        warnings.warn(
            f"A thinking budget of {budget} tokens is above "
            f"{rules.budget_warning_above} for {target.name}; the docs say usage "
            "above 32K may vary.",
            LargeThinkingBudgetWarning,
            stacklevel=5,
        )


def _sampling(target: Target, params: RequestParams, thinking: bool) -> None:
    if target.reasoning.style == "adaptive":
        for name in ("temperature", "top_p", "top_k"):
            if getattr(params, name) is not None:
                raise reject(
                    f"An adaptive-only model rejects {name}",
                    rule="R14",
                    target=target,
                    path=f"$.params.{name}",
                    received=getattr(params, name),
                    fix=f"Leave {name} unset for this target.",
                )
    if not (thinking and target.reasoning.forbids_sampling_with_thinking):
        return
    for name in ("temperature", "top_k"):
        if getattr(params, name) is not None:
            raise reject(
                f"With thinking on, {name} may not be set",
                rule="R14",
                target=target,
                path=f"$.params.{name}",
                received=getattr(params, name),
                fix=f"Leave {name} unset while thinking is on.",
            )
    if params.top_p is not None and not 0.95 <= params.top_p <= 1:
        raise reject(
            "With thinking on, top_p must be in [0.95, 1]",
            rule="R14",
            target=target,
            path="$.params.top_p",
            received=params.top_p,
            fix="Use a top_p between 0.95 and 1, or leave it unset.",
        )
    if params.tool_choice not in (None, "auto", "none"):
        raise reject(
            "With thinking on, tool_choice may only be auto or none",
            rule="R14",
            target=target,
            path="$.params.tool_choice",
            received=params.tool_choice,
            fix="Use tool_choice='auto' (or turn thinking off to force a tool).",
        )


def _fields(
    target: Target,
    params: RequestParams,
    tools: Sequence[Tool],
    fields: Mapping[str, str],
) -> None:
    for name, where in fields.items():
        if name in target.rejected_fields or (
            target.accepted_fields and name not in target.accepted_fields
        ):
            raise reject(
                f"The endpoint rejects the field {name!r}",
                rule="R16",
                target=target,
                path=where,
                received=name,
                fix=f"Leave {name} unset for this target.",
            )
    for name in params.extra:
        if name in target.rejected_fields:
            raise reject(
                f"The endpoint rejects the field {name!r}",
                rule="R16",
                target=target,
                path=f"$.params.extra.{name}",
                received=name,
                fix=f"Remove {name!r} from RequestParams.extra for this target.",
            )
    for i, tool in enumerate(tools):
        if tool.strict is not None and not target.supports_strict_tools:
            raise reject(
                "Only GPT endpoints take `strict` on tools",
                rule="R16",
                target=target,
                path=f"$.tools[{i}].strict",
                received=tool.strict,
                fix="Build the Tool with strict=None for this target.",
            )
    rf = params.response_format
    if rf is not None and rf.strict and not target.supports_strict_tools:
        raise reject(
            "Only GPT endpoints take strict structured outputs",
            rule="R16",
            target=target,
            path="$.params.response_format.strict",
            received=rf.strict,
            fix="Use strict=None for this target.",
        )


def _markers(target: Target, markers: Sequence[tuple[str, CacheControl, str]]) -> None:
    if not markers:
        return
    rules = target.cache
    if not rules.supported:
        raise reject(
            "This target does not take cache_control markers",
            rule="R16",
            target=target,
            path=markers[0][0],
            fix="Remove the markers (cache_breakpoints places them only where "
            "supported).",
        )
    if len(markers) > rules.max_breakpoints:
        raise reject(
            f"At most {rules.max_breakpoints} cache_control markers per request",
            rule="R6",
            target=target,
            path=markers[rules.max_breakpoints][0],
            received=len(markers),
            fix="Let convo.policies.cache_breakpoints place the markers; it evicts "
            "the oldest message markers.",
        )
    later = [0] * (len(markers) + 1)
    for k in range(len(markers) - 1, -1, -1):
        later[k] = max(later[k + 1], _TTL_RANK.get(markers[k][1].ttl, 1))
    for where, _marker, kind in markers:
        if kind == "reasoning":
            raise reject(
                "cache_control may not sit on a reasoning block",
                rule="R7",
                target=target,
                path=where,
                fix="Put the marker on the text or tool block after it.",
            )
        if kind == "blank":
            raise reject(
                "cache_control may not sit on an empty text block",
                rule="R7",
                target=target,
                path=where,
                fix="Put the marker on a block with content.",
            )
    for k, (where, marker, _kind) in enumerate(markers):
        if marker.ttl is not None and marker.ttl not in rules.ttls:
            raise reject(
                "Unsupported cache ttl",
                rule="R8",
                target=target,
                path=where,
                received=marker.ttl,
                fix=f"Use one of {', '.join(rules.ttls)}.",
            )
        if _TTL_RANK.get(marker.ttl, 1) < later[k + 1]:
            raise reject(
                "An earlier cache breakpoint has a shorter ttl than a later one",
                rule="R8",
                target=target,
                path=where,
                received=marker.ttl or "5m",
                fix="Raise earlier ttls to the longest later one (1h before 5m).",
            )


def check_request(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams,
    tools: Sequence[Tool],
    fields: Mapping[str, str],
    facts: Sequence[tuple[int, Facts]] | None = None,
) -> None:
    """Refuse what `target` answers with a 400 whatever the route.

    Args:
        turns: the request view.
        target: the served model.
        params: the request parameters.
        tools: the tools offered.
        fields: the top-level wire fields the format would send from `params`
            and `tools` (name -> the path of their source), for R16.
        facts: `notable_facts(turns)` when the format already has them (its
            per-turn memo); computed here otherwise.

    Raises:
        RequestRejectedError: a rule is broken; `.rule` names it (e.g. "R14").
        PayloadTooLargeError: an image is over a target limit.
    """
    if target.deprecation is not None:
        target.deprecation.warn(target.name, stacklevel=4)
    thinking = _reasoning(target, params)
    _sampling(target, params, thinking)
    _fields(target, params, tools, fields)
    markers: list[tuple[str, CacheControl, str]] = [
        (f"$.tools[{i}]", tool.cache_control, "ok")
        for i, tool in enumerate(tools)
        if tool.cache_control is not None
    ]
    images: list[tuple[str, ImageBlock, str]] = []
    for t, found in notable_facts(turns) if facts is None else facts:
        if found.blank and target.rejects_empty_text:
            turn = turns[t]
            raise reject(
                f"The {turn.role} message would be empty (no non-whitespace text)",
                rule="R12",
                target=target,
                path=f"$.turns[{t}]",
                received=turn.text,
                fix="Drop the turn or give it content.",
            )
        markers.extend((f"$.turns[{t}].{w}", cc, kind) for w, cc, kind in found.markers)
        images.extend((f"$.turns[{t}].{w}", im, place) for w, im, place in found.images)
    _markers(target, markers)
    check_images(target, images)


def check_size(size: int, target: Target) -> None:
    """The encoded request within the target's size limit (R18).

    Raises:
        PayloadTooLargeError: `size` bytes is over `target.max_request_bytes`.
    """
    if size > target.max_request_bytes:
        raise reject(
            f"The request is {size} bytes, over {target.max_request_bytes}",
            rule="R18",
            target=target,
            path="$",
            received=size,
            fix="Trim the conversation (convo.policies.trim) or send smaller images.",
            too_large=True,
        )

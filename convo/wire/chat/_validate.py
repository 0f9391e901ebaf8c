"""Refuse, before sending, a chat request its target would answer with a 400.

Each check names the provider rule it enforces (provider-rules.md):
- R6/R7: at most the target's number of cache markers; none on reasoning or on
  empty text; none at all on a target without prompt caching (R16);
- R12: no message left empty for a target that rejects empty text;
- R14: thinking budgets at least the minimum and below `max_tokens`; adaptive-only
  models take no budget and no sampling parameters; with thinking on, only
  `tool_choice` auto/none, no `temperature` or `top_k`, `top_p` in [0.95, 1];
- R15: `reasoning_effort` only with values the target lists; Claude takes none;
- R16: only fields the target accepts (RequestParams.extra bypasses the accepted
  list, never the rejected one); `strict` on tools only where supported;
- R18: images only where supported, within size, side, count and request size.

A thinking budget above the target's warning threshold (32K for Claude, per
the seed) warns with `LargeThinkingBudgetWarning`; a retiring target warns with
`TargetDeprecationWarning`.

Invariant: checks read the request view and parameters only; they never change
them, and they raise only `RequestRejectedError` (or `PayloadTooLargeError`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from convo._blocks import (
    CacheControl,
    ImageBlock,
)
from convo._images import image_size
from convo._params import AdaptiveThinking, Effort, RequestParams, ThinkingBudget
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn
from convo.errors import RequestRejectedError
from convo.wire._shared._reject import reject
from convo.wire.chat._encode_facts import Facts

__all__ = ["LargeThinkingBudgetWarning", "check", "image_size", "validate_request"]


class LargeThinkingBudgetWarning(UserWarning):
    """A thinking budget above what the target documents as reliable ("may vary")."""


def _reject(
    rule: str,
    target: Target,
    what: str,
    *,
    where: str,
    received: object = ...,
    fix: str | None = None,
    too_large: bool = False,
) -> RequestRejectedError:
    return reject(
        what,
        rule=rule,
        target=target,
        path=where,
        received=received,
        fix=fix,
        too_large=too_large,
    )


def _check_reasoning(target: Target, params: RequestParams) -> bool:
    """Check R14/R15; return whether thinking is on."""
    rules = target.reasoning
    reasoning = params.reasoning
    if reasoning is None:
        return False
    where = "$.params.reasoning"
    if rules.style == "none":
        raise _reject(
            "R15",
            target,
            "This target takes no reasoning parameters",
            where=where,
            received=reasoning,
            fix="Leave RequestParams.reasoning unset for this target.",
        )
    if isinstance(reasoning, ThinkingBudget):
        if rules.style == "adaptive":
            raise _reject(
                "R14",
                target,
                "An adaptive-only model rejects thinking budgets",
                where=where,
                received=reasoning.budget_tokens,
                fix="Use AdaptiveThinking(effort=...) instead.",
            )
        if rules.style != "budget":
            raise _reject(
                "R15",
                target,
                "This target takes reasoning_effort, not a thinking budget",
                where=where,
                received=reasoning.budget_tokens,
                fix=f"Use Effort(level=...) with one of {', '.join(rules.efforts)}.",
            )
        budget = reasoning.budget_tokens
        if budget < rules.min_budget:
            raise _reject(
                "R14",
                target,
                f"budget_tokens must be at least {rules.min_budget}",
                where=f"{where}.budget_tokens",
                received=budget,
                fix=f"Raise the budget to {rules.min_budget} or more.",
            )
        if params.max_tokens is None or budget >= params.max_tokens:
            raise _reject(
                "R14",
                target,
                "budget_tokens must be below max_tokens",
                where=f"{where}.budget_tokens",
                received=f"budget_tokens={budget}, max_tokens={params.max_tokens}",
                fix="Set max_tokens above the thinking budget.",
            )
        if (
            rules.budget_warning_above is not None
            and budget > rules.budget_warning_above
        ):
            warnings.warn(
                f"A thinking budget of {budget} tokens is above "
                f"{rules.budget_warning_above} for {target.name}; the docs say usage "
                "above 32K may vary.",
                LargeThinkingBudgetWarning,
                stacklevel=4,
            )
        return True
    if isinstance(reasoning, AdaptiveThinking):
        if rules.style != "adaptive":
            raise _reject(
                "R14" if rules.style == "budget" else "R15",
                target,
                "This target does not take adaptive thinking",
                where=where,
                received=reasoning,
                fix="Use ThinkingBudget(budget_tokens=...)"
                if rules.style == "budget"
                else "Use Effort(level=...).",
            )
        if (
            reasoning.effort is not None
            and rules.efforts
            and reasoning.effort not in rules.efforts
        ):
            raise _reject(
                "R15",
                target,
                "Unsupported effort value",
                where=f"{where}.effort",
                received=reasoning.effort,
                fix=f"Use one of {', '.join(rules.efforts)}.",
            )
        return True
    assert isinstance(reasoning, Effort)  # noqa: S101 - the Reasoning union is closed
    if rules.style == "budget":
        raise _reject(
            "R15",
            target,
            "Claude rejects reasoning_effort",
            where=where,
            received=reasoning.level,
            fix="Use ThinkingBudget(budget_tokens=...) to turn thinking on.",
        )
    if rules.efforts and reasoning.level not in rules.efforts:
        raise _reject(
            "R15",
            target,
            "Unsupported reasoning_effort value",
            where=f"{where}.level",
            received=reasoning.level,
            fix=f"Use one of {', '.join(rules.efforts)}.",
        )
    return rules.style == "adaptive"


def _check_sampling(target: Target, params: RequestParams, thinking: bool) -> None:
    if target.reasoning.style == "adaptive":
        for name in ("temperature", "top_p", "top_k"):
            if getattr(params, name) is not None:
                raise _reject(
                    "R14",
                    target,
                    f"An adaptive-only model rejects {name}",
                    where=f"$.params.{name}",
                    received=getattr(params, name),
                    fix=f"Leave {name} unset for this target.",
                )
    if not (thinking and target.reasoning.forbids_sampling_with_thinking):
        return
    if params.temperature is not None:
        raise _reject(
            "R14",
            target,
            "With thinking on, temperature may not be set",
            where="$.params.temperature",
            received=params.temperature,
            fix="Leave temperature unset while thinking is on.",
        )
    if params.top_k is not None:
        raise _reject(
            "R14",
            target,
            "With thinking on, top_k may not be set",
            where="$.params.top_k",
            received=params.top_k,
            fix="Leave top_k unset while thinking is on.",
        )
    if params.top_p is not None and not 0.95 <= params.top_p <= 1:
        raise _reject(
            "R14",
            target,
            "With thinking on, top_p must be in [0.95, 1]",
            where="$.params.top_p",
            received=params.top_p,
            fix="Use a top_p between 0.95 and 1, or leave it unset.",
        )
    if params.tool_choice not in (None, "auto", "none"):
        raise _reject(
            "R14",
            target,
            "With thinking on, tool_choice may only be auto or none",
            where="$.params.tool_choice",
            received=params.tool_choice,
            fix="Use tool_choice='auto' (or turn thinking off to force a tool).",
        )


def _emitted_fields(params: RequestParams, tools: Sequence[Tool]) -> dict[str, str]:
    """Top-level fields convo would emit from `params`, with their source path."""
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
        out["reasoning_effort"] = "$.params.reasoning"
    return out


def _check_fields(target: Target, params: RequestParams, tools: Sequence[Tool]) -> None:
    emitted = _emitted_fields(params, tools)
    if target.reasoning.style == "adaptive" and "reasoning_effort" in emitted:
        emitted.pop("reasoning_effort")
        emitted["thinking"] = emitted["output_config"] = "$.params.reasoning"
    for name, where in emitted.items():
        if name in target.rejected_fields or (
            target.accepted_fields and name not in target.accepted_fields
        ):
            raise _reject(
                "R16",
                target,
                f"The endpoint rejects the field {name!r}",
                where=where,
                received=name,
                fix=f"Leave {name} unset for this target.",
            )
    for name in params.extra:
        if name in target.rejected_fields:
            raise _reject(
                "R16",
                target,
                f"The endpoint rejects the field {name!r}",
                where=f"$.params.extra.{name}",
                received=name,
                fix=f"Remove {name!r} from RequestParams.extra for this target.",
            )
    for i, tool in enumerate(tools):
        if tool.strict is not None and not target.supports_strict_tools:
            raise _reject(
                "R16",
                target,
                "Only GPT endpoints take `strict` on tools",
                where=f"$.tools[{i}].strict",
                received=tool.strict,
                fix="Build the Tool with strict=None for this target.",
            )
    rf = params.response_format
    if rf is not None and rf.strict and not target.supports_strict_tools:
        raise _reject(
            "R16",
            target,
            "Only GPT endpoints take strict structured outputs",
            where="$.params.response_format.strict",
            received=rf.strict,
            fix="Use strict=None for this target.",
        )


def _collect(
    facts: Sequence[tuple[int, Facts]], tools: Sequence[Tool]
) -> tuple[
    list[tuple[str, CacheControl, str]], list[tuple[str, ImageBlock, str]], list[int]
]:
    markers: list[tuple[str, CacheControl, str]] = [
        (f"$.tools[{i}]", tool.cache_control, "ok")
        for i, tool in enumerate(tools)
        if tool.cache_control is not None
    ]
    images: list[tuple[str, ImageBlock, str]] = []
    blanks: list[int] = []
    for t, f in facts:
        for where, cc, kind in f.markers:
            markers.append((f"$.turns[{t}].{where}", cc, kind))
        for where, image, place in f.images:
            images.append((f"$.turns[{t}].{where}", image, place))
        if f.blank:
            blanks.append(t)
    return markers, images, blanks


def _check_cache(target: Target, markers: list[tuple[str, CacheControl, str]]) -> None:
    if not markers:
        return
    if not target.cache.supported:
        raise _reject(
            "R16",
            target,
            "This target does not take cache_control markers",
            where=markers[0][0],
            fix="Remove the markers (cache_breakpoints places them only where supported).",
        )
    if len(markers) > target.cache.max_breakpoints:
        raise _reject(
            "R6",
            target,
            f"At most {target.cache.max_breakpoints} cache_control markers per request",
            where=markers[target.cache.max_breakpoints][0],
            received=len(markers),
            fix="Let convo.policies.cache_breakpoints place the markers.",
        )
    for where, cc, kind in markers:
        if kind == "reasoning":
            raise _reject(
                "R7",
                target,
                "cache_control may not sit on a reasoning block",
                where=where,
                fix="Put the marker on the text or tool block after it.",
            )
        if kind == "blank":
            raise _reject(
                "R7",
                target,
                "cache_control may not sit on an empty text block",
                where=where,
                fix="Put the marker on a block with content.",
            )
        if cc.ttl is not None and cc.ttl not in target.cache.ttls:
            raise _reject(
                "R8",
                target,
                "Unsupported cache ttl",
                where=where,
                received=cc.ttl,
                fix=f"Use one of {', '.join(target.cache.ttls)}.",
            )


def _check_images(target: Target, images: list[tuple[str, ImageBlock, str]]) -> None:
    if not images:
        return
    limits = target.images
    if not limits.supported:
        raise _reject(
            "R18",
            target,
            "This target does not take images",
            where=images[0][0],
            fix="Use a vision-capable target or drop the image.",
        )
    for where, _image, place in images:
        if place == "assistant" and target.family == "claude":
            raise _reject(
                "R18",
                target,
                "Claude takes images only from the user, not in assistant messages",
                where=where,
                fix="Move the image to a user turn.",
            )
        if place == "tool" and target.family == "claude":
            raise _reject(
                "R18",
                target,
                "Claude on Databricks rejects images inside a tool message",
                where=where,
                fix="Send the image in a user turn after the tool results.",
            )
    if len(images) > limits.max_images:
        raise _reject(
            "R18",
            target,
            f"At most {limits.max_images} images per request",
            where=images[limits.max_images][0],
            received=len(images),
            fix="Send fewer images.",
            too_large=True,
        )
    max_side = (
        limits.max_side_px if len(images) <= 20 else min(limits.max_side_px, 2000)
    )
    for where, image, _place in images:
        encoded = 4 * ((len(image.data) + 2) // 3)
        if encoded > limits.max_base64_bytes:
            raise _reject(
                "R18",
                target,
                f"An image is {encoded} bytes as base64, over {limits.max_base64_bytes}",
                where=where,
                received=f"<{len(image.data)} bytes>",
                fix="Downscale or recompress the image.",
                too_large=True,
            )
        size = image_size(image.data)
        if size is not None and max(size) > max_side:
            raise _reject(
                "R18",
                target,
                f"An image side is over {max_side} px",
                where=where,
                received=f"{size[0]}x{size[1]}",
                fix="Downscale the image.",
                too_large=True,
            )


def _check_empty(target: Target, turns: Sequence[Turn], blanks: list[int]) -> None:
    if not target.rejects_empty_text:
        return
    for t in blanks:
        turn = turns[t]
        raise _reject(
            "R12",
            target,
            f"The {turn.role} message would be empty (no non-whitespace text)",
            where=f"$.turns[{t}]",
            received=turn.text,
            fix="Drop the turn or give it content.",
        )


def check(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams,
    tools: Sequence[Tool],
    facts: Sequence[tuple[int, Facts]],
    size: int | None,
) -> None:
    """Every check of this module; `facts` are the turns' notable facts, `size`
    the encoded request's byte length."""
    if target.deprecation is not None:
        target.deprecation.warn(target.name, stacklevel=4)
    thinking = _check_reasoning(target, params)
    _check_sampling(target, params, thinking)
    _check_fields(target, params, tools)
    markers, images, blanks = _collect(facts, tools)
    _check_empty(target, turns, blanks)
    _check_cache(target, markers)
    _check_images(target, images)
    if size is not None and size > target.max_request_bytes:
        raise _reject(
            "R18",
            target,
            f"The request is {size} bytes, over {target.max_request_bytes}",
            where="$",
            received=size,
            fix="Trim the conversation (convo.policies.trim) or send smaller images.",
            too_large=True,
        )


def validate_request(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
) -> None:
    """Raise if `target` would answer this request with a 400.

    Raises:
        RequestRejectedError: a rule is broken; `.rule` names it (e.g. "R14").
        PayloadTooLargeError: an image or the request is over a target limit.
    """
    from convo.wire.chat._encode import encode_request_bytes

    encode_request_bytes(turns, target=target, params=params, tools=tools)

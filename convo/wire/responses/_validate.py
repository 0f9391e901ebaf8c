"""Refuse, before sending, what a Responses route answers with 400.

Replay rules (docs/responses.md, "Replay rules", ids `RR1`-`RR18`):
- RR4: a reasoning item must be followed by its item, so an assistant turn may
  not end with reasoning;
- RR7: under stateless replay every reasoning item carries its
  `encrypted_content` (a bare `rs_` id is looked up and not found);
- RR10: reasoning signed for another route or family (`Provenance.route`,
  `Provenance.family`) cannot be verified here; `drop_foreign_reasoning`
  removes it with a note before this check;
- R10: every `function_call_output` answers a call sent before it.
Provider rules, with the ids they have on every route (docs/provider-rules.md):
R15 (reasoning: an effort the target lists; no token budget in this format),
R16 (only fields the target takes: no `stop`, `n`, `top_k`;
`max_output_tokens` of at least 16), R18 (images: supported, count, size).

Invariant: checking never changes anything; the first broken rule raises
`RequestRejectedError` naming the rule, the target, the path and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence

from convo._blocks import (
    ImageBlock,
    ReasoningBlock,
    SummaryEncryptedText,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._params import AdaptiveThinking, Effort, RequestParams, ThinkingBudget
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn
from convo.wire.anthropic._common import reject

__all__ = ["MIN_OUTPUT_TOKENS", "validate_request"]

MIN_OUTPUT_TOKENS = 16
"""The Open Responses schema's minimum for `max_output_tokens`."""

_DEFAULT = RequestParams()


def _fields(target: Target, params: RequestParams, tools: Sequence[Tool]) -> None:
    for name, value in (
        ("stop", params.stop),
        ("n", params.n),
        ("top_k", params.top_k),
    ):
        if value is not None:
            raise reject(
                f"The Responses format has no {name!r} field",
                rule="R16",
                target=target,
                path=f"$.params.{name}",
                received=value,
                fix=f"Leave {name} unset for this target.",
            )
    if params.max_tokens is not None and params.max_tokens < MIN_OUTPUT_TOKENS:
        raise reject(
            f"max_output_tokens must be at least {MIN_OUTPUT_TOKENS}",
            rule="R16",
            target=target,
            path="$.params.max_tokens",
            received=params.max_tokens,
            fix=f"Pass max_tokens={MIN_OUTPUT_TOKENS} or more.",
        )
    sent: dict[str, object] = {
        "max_output_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "tools": tools or None,
        "tool_choice": params.tool_choice,
        "text": params.response_format,
        "reasoning": params.reasoning,
    }
    for name, given in sent.items():
        if given is None:
            continue
        if name in target.rejected_fields or (
            target.accepted_fields and name not in target.accepted_fields
        ):
            raise reject(
                f"This target does not take {name!r}",
                rule="R16",
                target=target,
                path=f"$.{name}",
                received=given,
                fix=f"Leave it unset for {target.name!r}.",
            )


def _reasoning(target: Target, params: RequestParams) -> None:
    reasoning = params.reasoning
    if reasoning is None:
        return
    if isinstance(reasoning, ThinkingBudget):
        raise reject(
            "The Responses format has no token budget for reasoning",
            rule="R15",
            target=target,
            path="$.params.reasoning",
            received=reasoning.budget_tokens,
            fix="Use Effort(level) instead (reasoning.effort).",
        )
    rules = target.reasoning
    effort = reasoning.level if isinstance(reasoning, Effort) else None
    if isinstance(reasoning, AdaptiveThinking):
        effort = reasoning.effort
    if rules.style == "none" or (
        effort is not None and rules.efforts and effort not in rules.efforts
    ):
        allowed = ", ".join(rules.efforts) or "none (no reasoning)"
        raise reject(
            "This target does not take this reasoning effort",
            rule="R15",
            target=target,
            path="$.params.reasoning",
            received=effort,
            fix=f"Use one of: {allowed}.",
        )


def _reasoning_block(
    target: Target, block: ReasoningBlock, *, where: str, last: bool
) -> None:
    provenance = block.provenance
    if (
        provenance is None
        or provenance.family != target.family
        or provenance.route != target.route
    ):
        got = (
            "unknown origin"
            if provenance is None
            else f"family {provenance.family!r}, route {provenance.route!r}"
        )
        raise reject(
            "Reasoning signed elsewhere cannot be verified on this route",
            rule="RR10",
            target=target,
            path=where,
            received=got,
            fix="Apply convo.policies.drop_foreign_reasoning (Chat does), which "
            "drops it with a note.",
        )
    if not any(isinstance(p, SummaryEncryptedText) for p in block.parts):
        raise reject(
            "A replayed reasoning item needs its encrypted_content under stateless "
            "replay",
            rule="RR7",
            target=target,
            path=where,
            received="<no encrypted_content>",
            fix="Drop the reasoning (drop_foreign_reasoning drops unsigned blocks).",
        )
    if last:
        raise reject(
            "A reasoning item must be followed by the item it belongs to",
            rule="RR4",
            target=target,
            path=where,
            fix="Drop the reasoning, or keep the call or message it came with.",
        )


def _check_images(target: Target, images: list[tuple[str, ImageBlock]]) -> None:
    if not images:
        return
    limits = target.images
    if not limits.supported:
        raise reject(
            "This target does not take images",
            rule="R18",
            target=target,
            path=images[0][0],
            fix="Use a vision-capable target or drop the image.",
        )
    if len(images) > limits.max_images:
        raise reject(
            f"At most {limits.max_images} images per request",
            rule="R18",
            target=target,
            path=images[limits.max_images][0],
            received=len(images),
            fix="Send fewer images.",
            too_large=True,
        )
    for where, image in images:
        encoded = 4 * ((len(image.data) + 2) // 3)
        if encoded > limits.max_base64_bytes:
            raise reject(
                f"An image is {encoded} bytes as base64, over "
                f"{limits.max_base64_bytes}",
                rule="R18",
                target=target,
                path=where,
                received=f"<{len(image.data)} bytes>",
                fix="Downscale or recompress the image.",
                too_large=True,
            )


def _turns(target: Target, turns: Sequence[Turn]) -> None:
    calls: set[str] = set()
    images: list[tuple[str, ImageBlock]] = []
    for t, turn in enumerate(turns):
        blocks = turn.blocks
        for b, block in enumerate(blocks):
            where = f"$.turns[{t}].blocks[{b}]"
            if isinstance(block, ReasoningBlock):
                _reasoning_block(target, block, where=where, last=b == len(blocks) - 1)
            elif isinstance(block, ToolCallBlock):
                calls.add(block.id)
            elif isinstance(block, ImageBlock):
                images.append((where, block))
            elif isinstance(block, ToolResultBlock):
                if block.call_id not in calls:
                    raise reject(
                        "A function_call_output answers no call sent before it",
                        rule="R10",
                        target=target,
                        path=where,
                        received=block.call_id,
                        fix="Apply convo.policies.repair_tool_pairs, or drop the "
                        "result.",
                    )
                if not isinstance(block.content, str):
                    images.extend(
                        (f"{where}.content[{i}]", c)
                        for i, c in enumerate(block.content)
                        if isinstance(c, ImageBlock)
                    )
    _check_images(target, images)


def validate_request(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
) -> None:
    """Raise what the route would answer with 400 (see the module docstring).

    Raises:
        RequestRejectedError: the first rule the request breaks.
    """
    params = params or _DEFAULT
    _fields(target, params, tools)
    _reasoning(target, params)
    _turns(target, turns)

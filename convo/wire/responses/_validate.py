"""What a Responses route answers with 400, refused before sending.

First the format-neutral check every route runs (`convo.wire._shared._check`:
R6-R8, R12, R14-R16, R18, with the fields `_encode_fields.emitted_fields`
names), then this format's own shape and replay rules (docs/responses.md,
"Replay rules", ids `RR1`-`RR18`):
- R16: `max_output_tokens` of at least 16 (the Open Responses schema);
- RR4: a reasoning item must be followed by its item, so an assistant turn may
  not end with reasoning;
- RR7: under stateless replay every reasoning item carries its
  `encrypted_content` (a bare `rs_` id is looked up and not found);
- RR10: reasoning signed for another route or family (`Provenance.route`,
  `Provenance.family`) cannot be verified here; `drop_foreign_reasoning`
  removes it with a note before this check;
- R10: every `function_call_output` answers a call sent before it.

Invariant: checking never changes anything; the first broken rule raises
`RequestRejectedError` naming the rule, the target, the path and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence

from convo._blocks import (
    ReasoningBlock,
    SummaryEncryptedText,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._params import RequestParams
from convo._request_args import expect_request
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn
from convo.wire._shared._check import check_request
from convo.wire._shared._reject import reject
from convo.wire.responses._encode_fields import emitted_fields

__all__ = ["MIN_OUTPUT_TOKENS", "validate_request"]

MIN_OUTPUT_TOKENS = 16
"""The Open Responses schema's minimum for `max_output_tokens`."""

_DEFAULT = RequestParams()


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
            "drops it with a note. See docs/responses.md#replay-rules.",
        )
    if not any(isinstance(p, SummaryEncryptedText) for p in block.parts):
        raise reject(
            "A replayed reasoning item needs its encrypted_content under stateless "
            "replay",
            rule="RR7",
            target=target,
            path=where,
            received="<no encrypted_content>",
            fix="Drop the reasoning (drop_foreign_reasoning drops unsigned "
            "blocks). See docs/responses.md#replay-rules.",
        )
    if last:
        raise reject(
            "A reasoning item must be followed by the item it belongs to",
            rule="RR4",
            target=target,
            path=where,
            fix="Drop the reasoning, or keep the call or message it came with. "
            "See docs/responses.md#replay-rules.",
        )


def _shape(target: Target, params: RequestParams) -> None:
    if params.max_tokens is not None and params.max_tokens < MIN_OUTPUT_TOKENS:
        raise reject(
            f"max_output_tokens must be at least {MIN_OUTPUT_TOKENS}",
            rule="R16",
            target=target,
            path="$.params.max_tokens",
            received=params.max_tokens,
            fix=f"Pass max_tokens={MIN_OUTPUT_TOKENS} or more.",
        )


def _turns(target: Target, turns: Sequence[Turn]) -> None:
    calls: set[str] = set()
    for t, turn in enumerate(turns):
        blocks = turn.blocks
        for b, block in enumerate(blocks):
            where = f"$.turns[{t}].blocks[{b}]"
            if isinstance(block, ReasoningBlock):
                _reasoning_block(target, block, where=where, last=b == len(blocks) - 1)
            elif isinstance(block, ToolCallBlock):
                calls.add(block.id)
            elif isinstance(block, ToolResultBlock) and block.call_id not in calls:
                raise reject(
                    "A function_call_output answers no call sent before it",
                    rule="R10",
                    target=target,
                    path=where,
                    received=block.call_id,
                    fix="Apply convo.policies.repair_tool_pairs, or drop the result.",
                )


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
    expect_request(turns, target, params, tools)
    params = params or _DEFAULT
    check_request(
        turns,
        target=target,
        params=params,
        tools=tools,
        fields=emitted_fields(target, params, tools),
    )
    _shape(target, params)
    _turns(target, turns)

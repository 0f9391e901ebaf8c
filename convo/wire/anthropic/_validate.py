"""Shape checks of a Messages request, run with its encoding.

The rules about targets, parameters and blocks (R6, R7, R8, R12, R14, R15,
R16, R18) are checked once for every format by
`convo.wire._shared._check.check_request`, before encoding. What is left here
is what the Messages shape itself requires, each refusal naming its rule:
- message order: a first user message (`anthropic.first_user`), tool calls
  answered in the very next message and no orphan results (R10);
- thinking: no assistant prefill (R14), and a tool loop continued with its
  reasoning first (R2);
- blocks: reasoning only from the target's family, and signed (R4).
Invariant: checks only read; they never change the request.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from convo._blocks import (
    ReasoningBlock,
    SummaryText,
)
from convo._targets import Target
from convo._turns import Turn
from convo.wire._shared._reject import reject
from convo.wire.anthropic._encode_blocks import Encoded

__all__ = [
    "Message",
    "check_blocks",
    "check_messages",
    "check_thinking_history",
]

_THINKING_TYPES = ("thinking", "redacted_thinking")


@attrs.frozen(kw_only=True)
class Message:
    """One Messages API message being built: role, blocks, and the turns it came from."""

    role: str
    blocks: tuple[Encoded, ...]
    turns: tuple[int, ...]


def check_messages(messages: Sequence[Message], target: Target) -> None:
    """A first user message and tool pairing (R10); empty messages are R12 (shared)."""
    if not messages:
        raise reject(
            "A Messages request needs at least one message",
            rule="anthropic.first_user",
            target=target,
            path="$.turns",
            fix="Append a user turn.",
        )
    if messages[0].role != "user":
        raise reject(
            "The first message of a Messages request must be a user message",
            rule="anthropic.first_user",
            target=target,
            path=f"$.turns[{messages[0].turns[0]}]",
            received=messages[0].role,
            fix="Start the view with a user turn (trim or drop the leading assistant "
            "turns, or insert the user message they answered).",
        )
    _check_pairing(messages, target)


def _check_pairing(messages: Sequence[Message], target: Target) -> None:
    open_calls: dict[str, int] = {}
    for k, message in enumerate(messages):
        where = f"$.turns[{message.turns[0]}]"
        if message.role == "user":
            seen: set[str] = set()
            for block, _ in message.blocks:
                if block["type"] != "tool_result":
                    continue
                call_id = block["tool_use_id"]
                if call_id not in open_calls or call_id in seen:
                    raise reject(
                        f"Tool result for {call_id!r} answers no call of the "
                        "assistant message right before it (or answers it twice)",
                        rule="R10",
                        target=target,
                        path=where,
                        fix="Apply convo.policies.repair_tool_pairs.",
                    )
                seen.add(call_id)
            missing = [c for c in open_calls if c not in seen]
        else:
            missing = list(open_calls)
        if missing:
            raise reject(
                f"Tool calls {missing} have no tool_result in the message right "
                "after their assistant message",
                rule="R10",
                target=target,
                path=f"$.turns[{messages[k - 1].turns[-1]}]",
                fix="Append the tool results, or apply convo.policies.repair_tool_pairs.",
            )
        open_calls = (
            {b[0]["id"]: k for b in message.blocks if b[0]["type"] == "tool_use"}
            if message.role == "assistant"
            else {}
        )
    if open_calls:
        raise reject(
            f"Tool calls {list(open_calls)} of the last message have no results",
            rule="R10",
            target=target,
            path=f"$.turns[{messages[-1].turns[-1]}]",
            fix="Append their tool results before sending.",
        )


def check_thinking_history(
    messages: Sequence[Message], target: Target, thinking: bool
) -> None:
    """With thinking on: no prefill (R14), and a tool loop resumes with reasoning (R2)."""
    if not thinking:
        return
    last = messages[-1]
    if last.role == "assistant":
        raise reject(
            "With thinking on, the request cannot end with an assistant message "
            "(prefill)",
            rule="R14",
            target=target,
            path=f"$.turns[{last.turns[-1]}]",
            fix="End the view with a user turn, or turn thinking off.",
        )
    only_results = all(b[0]["type"] == "tool_result" for b in last.blocks)
    if only_results and len(messages) >= 2:
        previous = messages[-2]
        if previous.blocks[0][0]["type"] not in _THINKING_TYPES:
            raise reject(
                "With thinking on, the assistant message that continues a tool loop "
                "must start with its reasoning",
                rule="R2",
                target=target,
                path=f"$.turns[{previous.turns[0]}]",
                fix="Keep the reasoning of the current tool session "
                "(keep_last_reasoning), or turn thinking off for this request.",
            )


def check_blocks(turns: Sequence[Turn], target: Target) -> None:
    """Reasoning only from the target's family, and signed (R4)."""
    for i, turn in enumerate(turns):
        for j, block in enumerate(turn.blocks):
            if isinstance(block, ReasoningBlock):
                _check_reasoning(block, target, f"$.turns[{i}].blocks[{j}]")


def _check_reasoning(block: ReasoningBlock, target: Target, where: str) -> None:
    family = block.provenance.family if block.provenance is not None else None
    if family is not None and family != target.family:
        raise reject(
            f"Reasoning made by the {family!r} family cannot go to a "
            f"{target.family!r} model",
            rule="R4",
            target=target,
            path=where,
            fix="Apply convo.policies.drop_foreign_reasoning.",
        )
    if target.requires_signatures:
        for k, part in enumerate(block.parts):
            if isinstance(part, SummaryText) and not part.signature:
                raise reject(
                    "An unsigned reasoning part cannot be replayed to Claude",
                    rule="R4",
                    target=target,
                    path=f"{where}.parts[{k}]",
                    fix="Apply convo.policies.drop_foreign_reasoning (or "
                    "drop_reasoning); never send reasoning as text.",
                )

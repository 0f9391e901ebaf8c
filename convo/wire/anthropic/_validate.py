"""The rules a Messages request must keep, checked before anything is sent.

Each check raises `RequestRejectedError` (or `PayloadTooLargeError`) naming the
rule, the target, the path of the offending turn or block, and the fix:
- message order: a first user message, no empty message (R12), tool calls
  answered in the very next message and no orphan results (R10);
- thinking: no assistant prefill, and a tool loop continued with its reasoning
  first (R2); no temperature / top_k, top_p in [0.95, 1], and adaptive-only
  models take no sampling fields at all (R14);
- blocks: reasoning only from the target's family and signed (R4); no image in
  an assistant turn, images and the whole request within the target's limits
  (R18); cache markers within budget (R6), never on reasoning or empty text
  (R7), and ttls never shorter before longer (R8).
Invariant: checks only read; they never change the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from convo._blocks import (
    CacheControl,
    ImageBlock,
    ReasoningBlock,
    SummaryText,
    TextBlock,
    ToolResultBlock,
)
from convo._images import image_size
from convo._params import RequestParams
from convo._targets import Target
from convo._turns import Turn
from convo.wire._shared._reject import reject
from convo.wire.anthropic._encode_blocks import Encoded, is_blank
from convo.wire.anthropic._targets import SAMPLING_FIELDS

__all__ = [
    "Message",
    "check_blocks",
    "check_markers",
    "check_messages",
    "check_sampling",
    "check_size",
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
    """A first user message, no empty message (R12), and tool pairing (R10)."""
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
    for message in messages:
        if not message.blocks:
            raise reject(
                "A message would be empty once empty and whitespace-only text "
                "blocks are left out",
                rule="R12",
                target=target,
                path=f"$.turns[{message.turns[0]}]",
                fix="Give the turn some content, or drop it.",
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


def check_blocks(turns: Sequence[Turn], target: Target) -> list[CacheControl]:
    """Check R4 and R18 over every block; return the message markers in order."""
    markers: list[CacheControl] = []
    images: list[tuple[ImageBlock, str]] = []
    limits = target.images
    for i, turn in enumerate(turns):
        for j, block in enumerate(turn.blocks):
            where = f"$.turns[{i}].blocks[{j}]"
            inner: tuple[Any, ...] = (block,)
            if isinstance(block, ToolResultBlock) and not isinstance(
                block.content, str
            ):
                inner = (block, *block.content)
            if turn.role == "assistant" and isinstance(block, ImageBlock):
                raise reject(
                    "Claude takes images only in user messages and tool results",
                    rule="R18",
                    target=target,
                    path=where,
                    fix="Drop the image from the assistant turn, or send it in a "
                    "user turn.",
                )
            for item in inner:
                if getattr(item, "cache_control", None) is not None and not (
                    isinstance(item, TextBlock) and is_blank(item.text)
                ):
                    markers.append(item.cache_control)
                if isinstance(item, ImageBlock):
                    images.append((item, where))
            if isinstance(block, ReasoningBlock):
                _check_reasoning(block, target, where)
    if images and not limits.supported:
        raise reject(
            "This target takes no images",
            rule="R18",
            target=target,
            path="$.turns",
            fix="Drop the image blocks.",
        )
    if len(images) > limits.max_images:
        raise reject(
            f"The request holds {len(images)} images, over the limit of "
            f"{limits.max_images}",
            rule="R18",
            target=target,
            path="$.turns",
            too_large=True,
            fix="Drop older images.",
        )
    # Beyond 20 images in one request, Claude takes at most 2000 px per side.
    max_side = (
        limits.max_side_px if len(images) <= 20 else min(limits.max_side_px, 2000)
    )
    for image, where in images:
        _check_image(image, target, where, max_side=max_side)
    return markers


def _check_image(
    block: ImageBlock, target: Target, where: str, *, max_side: int
) -> None:
    size = 4 * ((len(block.data) + 2) // 3)
    if size > target.images.max_base64_bytes:
        raise reject(
            f"An image is {size} bytes as base64, over the limit of "
            f"{target.images.max_base64_bytes}",
            rule="R18",
            target=target,
            path=where,
            too_large=True,
            fix="Downscale or recompress the image.",
        )
    dims = image_size(block.data)
    if dims is not None and max(dims) > max_side:
        raise reject(
            f"An image is {dims[0]}x{dims[1]} px, over {max_side} px per side",
            rule="R18",
            target=target,
            path=where,
            too_large=True,
            fix="Downscale the image.",
        )


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


def check_markers(markers: Sequence[CacheControl], target: Target) -> None:
    """Cache markers: supported, within budget (R6), ttls never shorter first (R8)."""
    if not markers:
        return
    rules = target.cache
    if not rules.supported:
        raise reject(
            "This target takes no cache_control markers",
            rule="R6",
            target=target,
            path="$",
            fix="Leave out convo.policies.cache_breakpoints for this target.",
        )
    if len(markers) > rules.max_breakpoints:
        raise reject(
            f"The request has {len(markers)} cache_control markers, over the limit "
            f"of {rules.max_breakpoints}",
            rule="R6",
            target=target,
            path="$",
            received=len(markers),
            fix="Let convo.policies.cache_breakpoints place the markers; it evicts "
            "the oldest message markers.",
        )
    rank = {"1h": 2, "5m": 1, None: 1}
    for k, marker in enumerate(markers):
        if marker.ttl is not None and marker.ttl not in rules.ttls:
            raise reject(
                f"Cache ttl {marker.ttl!r} is not taken by this target",
                rule="R8",
                target=target,
                path="$",
                fix=f"Use one of {rules.ttls}.",
            )
        later = max((rank[m.ttl] for m in markers[k + 1 :]), default=0)
        if rank[marker.ttl] < later:
            raise reject(
                "An earlier cache breakpoint has a shorter ttl than a later one",
                rule="R8",
                target=target,
                path="$",
                fix="Raise earlier ttls to the longest later one (1h before 5m).",
            )


def check_sampling(params: RequestParams, target: Target, thinking: bool) -> None:
    """Sampling fields with thinking or on adaptive-only models (R14)."""
    adaptive_only = target.reasoning.style == "adaptive"
    for name in sorted(SAMPLING_FIELDS):
        value = getattr(params, name)
        if value is None:
            continue
        if adaptive_only:
            raise reject(
                f"Adaptive-only models reject {name}",
                rule="R14",
                target=target,
                path=f"$.params.{name}",
                received=value,
                fix=f"Leave {name} unset.",
            )
        if thinking and (name != "top_p" or not 0.95 <= value <= 1):
            raise reject(
                f"With thinking on, {name} cannot be set"
                + (" outside [0.95, 1]" if name == "top_p" else ""),
                rule="R14",
                target=target,
                path=f"$.params.{name}",
                received=value,
                fix=f"Leave {name} unset, or turn thinking off.",
            )


def check_size(data: bytes, target: Target) -> None:
    """The whole request within the target's size limit (R18)."""
    if len(data) > target.max_request_bytes:
        raise reject(
            f"The request is {len(data)} bytes, over the target's limit of "
            f"{target.max_request_bytes}",
            rule="R18",
            target=target,
            path="$",
            too_large=True,
            fix="Trim the conversation (convo.policies.trim) or drop images.",
        )

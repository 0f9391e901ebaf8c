"""Decode Messages API responses (and content blocks) into convo values.

Mapping, one Messages content block to one convo block, except reasoning:
- a run of consecutive `thinking` / `redacted_thinking` blocks becomes ONE
  `ReasoningBlock` whose parts keep the run's order: `thinking` ->
  `SummaryText(text=thinking, signature=signature)` (a missing `signature` key
  stays None, an empty one stays ""), `redacted_thinking` ->
  `SummaryEncryptedText(data)`. The encoder splits the block back one part per
  block, so replay is byte-exact (rules R1, R21);
- `text` -> `TextBlock`, unknown keys (`citations`, ...) kept verbatim in `extra`;
- `tool_use` -> `ToolCallBlock` whose `arguments` is the canonical JSON text of
  `input`: `json.dumps(input, ensure_ascii=False, sort_keys=True,
  separators=(",", ":"))`, i.e. `convo._json.canonical_bytes(input)` decoded.
  That is exactly the text the encoder writes for `input` inside canonical
  request bytes, so decode -> encode -> decode is byte-identical;
- `image` (import only) -> `ImageBlock` from base64 data.

Usage: `prompt_tokens = input_tokens + cache_read_input_tokens +
cache_creation_input_tokens` (Anthropic's `input_tokens` counts only the tokens
after the last cache breakpoint, so the sum is the whole prompt);
`completion_tokens = output_tokens`; `total_tokens` their sum; cache reads and
writes kept apart; `reasoning_tokens` from `output_tokens_details.thinking_tokens`.

Every stop reason maps through `normalise_finish_reason` with the raw value kept;
an unknown one becomes `FinishReason.UNKNOWN`, never `STOP` (rule R19).
Invariant: any input, however malformed, raises only `DecodeError` subclasses.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from convo._blocks import (
    Block,
    CacheControl,
    ImageBlock,
    Provenance,
    ReasoningBlock,
    ReasoningPart,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._json import canonical_bytes
from convo._targets import Target
from convo._turns import Turn, Usage, normalise_finish_reason
from convo.errors import UnknownBlockTypeError, excerpt
from convo.wire._shared._cache import parse_cache_control
from convo.wire._shared._json import fail, get_str, guard, load_json, shown_tag
from convo.wire._shared._usage import UsageFields, parse_usage

__all__ = [
    "arguments_text",
    "blocks_from_content",
    "cache_control_from",
    "decode_response",
    "provenance_for",
    "turn_from_message",
    "usage_from",
]

RESPONSE_BLOCK_TYPES = ("text", "thinking", "redacted_thinking", "tool_use")
IMPORT_BLOCK_TYPES = (*RESPONSE_BLOCK_TYPES, "image", "tool_result")


def provenance_for(model: str | None, target: Target | None) -> Provenance:
    """Who made reasoning decoded from this route (Claude, unless the target says)."""
    family = target.family if target is not None else "claude"
    return Provenance(provider="anthropic", family=family, model=model)


def arguments_text(value: object, *, where: str) -> str:
    """The canonical JSON text of a tool_use `input` object."""
    if not isinstance(value, dict):
        raise fail("tool_use input must be a JSON object", where=where, received=value)
    try:
        text = canonical_bytes(value).decode("utf-8")
    except (ValueError, TypeError, RecursionError, UnicodeError) as exc:
        raise fail(f"tool_use input is not JSON ({exc})", where=where) from None
    return text


def cache_control_from(value: object, *, where: str) -> CacheControl | None:
    """A `cache_control` object as a `CacheControl` (None when absent)."""
    return parse_cache_control(value, where=where)


def _extra(block: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k not in known}


_TEXT_KEYS = frozenset({"type", "text", "cache_control"})
_TOOL_USE_KEYS = frozenset({"type", "id", "name", "input", "cache_control"})
_TOOL_RESULT_KEYS = frozenset(
    {"type", "tool_use_id", "content", "is_error", "cache_control"}
)


def _text(block: Mapping[str, Any], where: str) -> TextBlock:
    text = get_str(block, "text", where=where)
    marker = cache_control_from(
        block.get("cache_control"), where=f"{where}.cache_control"
    )
    extra = _extra(block, _TEXT_KEYS)
    return guard(
        lambda: TextBlock(text=text, cache_control=marker, extra=extra), where=where
    )


def _image(block: Mapping[str, Any], where: str) -> ImageBlock:
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "base64":
        raise fail(
            "Only base64 image sources are accepted (rule R18)",
            where=f"{where}.source",
            received=source,
        )
    media_type = get_str(source, "media_type", where=f"{where}.source")
    data = get_str(source, "data", where=f"{where}.source")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise fail(
            "Image data is not valid base64", where=f"{where}.source.data"
        ) from None
    marker = cache_control_from(
        block.get("cache_control"), where=f"{where}.cache_control"
    )
    return guard(
        lambda: ImageBlock(media_type=media_type, data=raw, cache_control=marker),  # type: ignore[arg-type]
        where=where,
    )


def _tool_use(block: Mapping[str, Any], where: str) -> ToolCallBlock:
    call_id = get_str(block, "id", where=where)
    name = get_str(block, "name", where=where)
    arguments = arguments_text(block.get("input"), where=f"{where}.input")
    marker = cache_control_from(
        block.get("cache_control"), where=f"{where}.cache_control"
    )
    extra = _extra(block, _TOOL_USE_KEYS)
    return guard(
        lambda: ToolCallBlock(
            id=call_id,
            name=name,
            arguments=arguments,
            cache_control=marker,
            extra=extra,
        ),
        where=where,
    )


def _result_content(
    value: object, where: str
) -> str | tuple[TextBlock | ImageBlock, ...]:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise fail(
            "tool_result content must be a string or a list of blocks",
            where=where,
            received=value,
        )
    items: list[TextBlock | ImageBlock] = []
    for i, item in enumerate(value):
        sub = f"{where}[{i}]"
        tag = item.get("type") if isinstance(item, dict) else None
        if tag == "text":
            items.append(_text(item, sub))
        elif tag == "image":
            items.append(_image(item, sub))
        else:
            raise _unknown(tag, sub, ("text", "image"))
    return tuple(items)


def _tool_result(block: Mapping[str, Any], where: str) -> ToolResultBlock:
    call_id = get_str(block, "tool_use_id", where=where)
    content = _result_content(block.get("content"), f"{where}.content")
    is_error = block.get("is_error", False)
    if not isinstance(is_error, bool):
        raise fail(
            "is_error must be a boolean", where=f"{where}.is_error", received=is_error
        )
    marker = cache_control_from(
        block.get("cache_control"), where=f"{where}.cache_control"
    )
    extra = _extra(block, _TOOL_RESULT_KEYS)
    return guard(
        lambda: ToolResultBlock(
            call_id=call_id,
            content=content,
            is_error=is_error,
            cache_control=marker,
            extra=extra,
        ),
        where=where,
    )


def _part(block: Mapping[str, Any], where: str) -> ReasoningPart:
    if block.get("cache_control") is not None:
        raise fail(
            "A thinking block cannot carry cache_control (rule R7)",
            where=f"{where}.cache_control",
        )
    if block.get("type") == "redacted_thinking":
        data = get_str(block, "data", where=where)
        return guard(lambda: SummaryEncryptedText(data=data), where=where)
    text = get_str(block, "thinking", where=where)
    signature = block.get("signature")
    if signature is not None and not isinstance(signature, str):
        raise fail(
            "signature must be a string",
            where=f"{where}.signature",
            received=signature,
        )
    return guard(lambda: SummaryText(text=text, signature=signature), where=where)


_BUILDERS: dict[str, Callable[[Mapping[str, Any], str], Block]] = {
    "text": _text,
    "image": _image,
    "tool_use": _tool_use,
    "tool_result": _tool_result,
}


def _unknown(tag: object, where: str, allowed: Sequence[str]) -> UnknownBlockTypeError:
    return UnknownBlockTypeError(
        f"Unknown content block type {excerpt(tag)}",
        tag=shown_tag(tag),
        allowed=tuple(allowed),
        path=where,
        errors=(f"unknown block type {excerpt(tag)} @ {where}",),
        fix=f"Use one of: {', '.join(allowed)}.",
    )


def blocks_from_content(
    content: object,
    *,
    where: str,
    provenance: Provenance | None,
    allowed: Sequence[str] = RESPONSE_BLOCK_TYPES,
) -> tuple[Block, ...]:
    """Convert a Messages `content` (string or list of blocks) to convo blocks.

    A run of consecutive thinking / redacted_thinking blocks becomes one
    `ReasoningBlock` with its parts in order.
    """
    if isinstance(content, str):
        return (guard(lambda: TextBlock(text=content), where=where),)
    if not isinstance(content, list):
        raise fail(
            "content must be a string or a list of blocks",
            where=where,
            received=content,
        )
    blocks: list[Block] = []
    run: list[ReasoningPart] = []
    for i, item in enumerate(content):
        sub = f"{where}[{i}]"
        tag = item.get("type") if isinstance(item, dict) else None
        if tag not in allowed:
            raise _unknown(tag, sub, allowed)
        assert isinstance(item, dict)  # noqa: S101 - tag lookup succeeded
        if tag in ("thinking", "redacted_thinking"):
            run.append(_part(item, sub))
            continue
        if run:
            blocks.append(ReasoningBlock(parts=tuple(run), provenance=provenance))
            run = []
        blocks.append(_BUILDERS[str(tag)](item, sub))
    if run:
        blocks.append(ReasoningBlock(parts=tuple(run), provenance=provenance))
    return tuple(blocks)


USAGE_FIELDS = UsageFields(
    prompt=(("input_tokens",),),
    completion=(("output_tokens",),),
    cache_read=(("cache_read_input_tokens",),),
    cache_write=(("cache_creation_input_tokens",),),
    reasoning=(("output_tokens_details", "thinking_tokens"),),
    prompt_adds_cache=True,
    total_is_sum=True,
)
"""Where the Messages API puts usage (see the module docstring)."""


def usage_from(value: object, *, where: str) -> Usage | None:
    """A Messages `usage` object as `Usage` (see the module docstring)."""
    return parse_usage(value, USAGE_FIELDS, where=where)


def turn_from_message(
    body: Mapping[str, Any], *, target: Target | None, where: str = "$"
) -> Turn:
    """An assistant turn from a Messages response object."""
    if body.get("type") == "error":
        raise fail(
            "The body is an error, not a message",
            where=f"{where}.type",
            received=body.get("error"),
        )
    role = body.get("role", "assistant")
    if role != "assistant":
        raise fail(
            "A response message must have role 'assistant'",
            where=f"{where}.role",
            received=role,
        )
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise fail("model must be a string", where=f"{where}.model", received=model)
    stop_reason = body.get("stop_reason")
    if stop_reason is not None and not isinstance(stop_reason, str):
        raise fail(
            "stop_reason must be a string or null",
            where=f"{where}.stop_reason",
            received=stop_reason,
        )
    blocks = blocks_from_content(
        body.get("content", []),
        where=f"{where}.content",
        provenance=provenance_for(model, target),
    )
    usage = usage_from(body.get("usage"), where=f"{where}.usage")
    return guard(
        lambda: Turn(
            role="assistant",
            blocks=blocks,
            model=model,
            finish_reason=normalise_finish_reason(stop_reason),
            finish_reason_raw=stop_reason,
            usage=usage,
        ),
        where=where,
    )


def decode_response(
    body: bytes | str | Mapping[str, Any], *, target: Target | None = None
) -> Turn:
    """The assistant turn of a Messages API response.

    Args:
        body: the response body (bytes or text), or its parsed JSON object.
        target: the target asked; its family goes into the reasoning provenance.

    Raises:
        DecodeError: the body is not a Messages response; the message names the path.
        UnknownBlockTypeError: a content block of a type convo does not model.
    """
    value = body if isinstance(body, Mapping) else load_json(body, what="Response")
    if not isinstance(value, Mapping):
        raise fail("A response must be a JSON object", where="$", received=value)
    return turn_from_message(value, target=target)

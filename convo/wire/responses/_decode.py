"""Decode a Responses API response object into a turn.

Output items become blocks in their order:
- `reasoning` → `ReasoningBlock`: one `SummaryText` per `summary_text` part (in
  order, one item stays one block, R11), then the `encrypted_content` blob as
  a `SummaryEncryptedText` part; the item's other fields (`id`, `status`, raw
  `content`) ride in the block's `extra` and the block's provenance names the
  target's route (RR10);
- `message` → one `TextBlock` per `output_text` or `refusal` part;
- `function_call` → `ToolCallBlock` (`call_id`, `name`, `arguments` verbatim).

What the blocks do not model (message ids, `status`, `phase`, part
annotations, the `fc_` id and Gemini's `encrypted_content` of a call) is kept
in `Turn.metadata["responses"]` (`ITEMS_KEY`), with the route it came from, so
a replay on the same route is byte-identical (R2) and other formats never see
it. Any other item type is refused (`UnknownBlockTypeError`).

Finish (docs/responses.md, "Status"): `completed` with calls → TOOL_CALLS,
`completed` → STOP, `incomplete` → LENGTH (`max_output_tokens`) or
CONTENT_FILTER, another reason → UNKNOWN; the raw value (status, or the
incomplete reason) is kept in `finish_reason_raw`. `failed` raises
`ServerError` with the response's error. Usage maps cached and reasoning tokens.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from convo._blocks import (
    Block,
    Provenance,
    ReasoningBlock,
    ReasoningPart,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
)
from convo._json import JSON
from convo._targets import Target
from convo._turns import FinishReason, Turn, Usage
from convo.errors import ServerError, UnknownBlockTypeError, excerpt
from convo.wire._shared._json import fail, get_str, guard, load_json, shown_tag
from convo.wire._shared._provenance import provenance_for
from convo.wire._shared._usage import UsageFields, parse_usage

__all__ = [
    "ITEMS_KEY",
    "ITEM_TYPES",
    "USAGE_FIELDS",
    "decode_response",
    "finish_of",
    "turn_from_items",
    "usage_of",
]

ITEMS_KEY = "responses"
"""`Turn.metadata` key holding the item fields blocks do not model."""
ITEM_TYPES = ("reasoning", "message", "function_call")

_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
}


def _provenance(target: Target | None, model: str | None) -> Provenance | None:
    base = provenance_for(target, model)
    if base is None or target is None or target.route is None:
        return base
    return Provenance(
        provider=base.provider, family=base.family, model=base.model, route=target.route
    )


def _rest(item: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, JSON]:
    return {k: v for k, v in item.items() if k not in known}


def _reasoning(
    item: Mapping[str, Any], *, where: str, provenance: Provenance | None
) -> ReasoningBlock:
    summary = item.get("summary", [])
    if not isinstance(summary, list):
        raise fail(
            "A reasoning item's summary must be a list", where=f"{where}.summary"
        )
    parts: list[ReasoningPart] = []
    for i, part in enumerate(summary):
        at = f"{where}.summary[{i}]"
        if not isinstance(part, dict) or part.get("type") != "summary_text":
            raise fail(
                "A summary part must be a summary_text part", where=at, received=part
            )
        text = get_str(part, "text", where=at)
        parts.append(guard(functools.partial(SummaryText, text=text), where=at))
    blob = item.get("encrypted_content")
    if blob is not None:
        if not isinstance(blob, str):
            raise fail(
                "encrypted_content must be a string", where=f"{where}.encrypted_content"
            )
        parts.append(guard(lambda: SummaryEncryptedText(data=blob), where=where))
    extra = _rest(item, ("type", "summary", "encrypted_content"))
    return guard(
        lambda: ReasoningBlock(parts=parts, provenance=provenance, extra=extra),
        where=where,
    )


def _message(
    item: Mapping[str, Any], *, where: str
) -> tuple[list[Block], dict[str, JSON]]:
    content = item.get("content")
    if not isinstance(content, list):
        raise fail("A message item's content must be a list", where=f"{where}.content")
    blocks: list[Block] = []
    parts: list[JSON] = []
    for i, part in enumerate(content):
        at = f"{where}.content[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if not isinstance(part, dict) or kind not in ("output_text", "refusal"):
            raise UnknownBlockTypeError(
                "A message part of an unknown type",
                path=at,
                errors=(f"unknown part type @ {at}",),
                tag=shown_tag(kind),
                allowed=("output_text", "refusal"),
                received=kind,
                fix="Only output_text and refusal parts are decoded.",
            )
        key = "text" if kind == "output_text" else "refusal"
        text = get_str(part, key, where=at)
        blocks.append(guard(functools.partial(TextBlock, text=text), where=at))
        parts.append(_rest(part, (key,)))
    meta = _rest(item, ("type", "content", "role"))
    meta["parts"] = parts
    return blocks, meta


def _call(
    item: Mapping[str, Any], *, where: str
) -> tuple[ToolCallBlock, dict[str, JSON]]:
    call_id = get_str(item, "call_id", where=where)
    name = get_str(item, "name", where=where)
    arguments = get_str(item, "arguments", where=where, default="{}")
    block = guard(
        lambda: ToolCallBlock(id=call_id, name=name, arguments=arguments), where=where
    )
    return block, _rest(item, ("type", "call_id", "name", "arguments"))


def turn_from_items(
    items: list[Any],
    *,
    where: str,
    target: Target | None,
    model: str | None,
    imported: bool = False,
) -> tuple[list[Block], dict[str, JSON]]:
    """Blocks of `items` (output items of one answer) and their metadata."""
    provenance = None if imported and target is None else _provenance(target, model)
    blocks: list[Block] = []
    messages: list[JSON] = []
    calls: dict[str, JSON] = {}
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "reasoning":
            blocks.append(_reasoning(item, where=at, provenance=provenance))
        elif kind == "message":
            got, meta = _message(item, where=at)
            blocks.extend(got)
            messages.append(meta)
        elif kind == "function_call":
            call, meta = _call(item, where=at)
            blocks.append(call)
            calls[call.id] = meta
        else:
            raise UnknownBlockTypeError(
                "An output item of a type convo does not decode",
                path=at,
                errors=(f"unknown item type @ {at}",),
                tag=shown_tag(kind),
                allowed=ITEM_TYPES,
                received=kind,
                fix="Offer only function tools; built-in tools are not supported.",
            )
    out: dict[str, JSON] = {"messages": messages, "calls": calls}
    if any(isinstance(b, ReasoningBlock) for b in blocks):
        out["reasoned"] = True
    if target is not None and target.route is not None:
        out["route"] = target.route
    return blocks, out


USAGE_FIELDS = UsageFields(
    prompt=(("input_tokens",),),
    completion=(("output_tokens",),),
    total=(("total_tokens",),),
    cache_read=(("input_tokens_details", "cached_tokens"),),
    cache_write=(("input_tokens_details", "cache_write_tokens"),),
    reasoning=(("output_tokens_details", "reasoning_tokens"),),
)
"""Where a Responses `usage` object keeps each count."""


def usage_of(value: object, *, where: str) -> Usage | None:
    """Usage from a Responses `usage` object (None when absent)."""
    return parse_usage(value, USAGE_FIELDS, where=where)


def finish_of(
    body: Mapping[str, Any], *, has_calls: bool
) -> tuple[FinishReason | None, str | None]:
    """(finish reason, raw value) of a response's status (see the module docstring)."""
    status = body.get("status")
    if status == "completed":
        return (FinishReason.TOOL_CALLS if has_calls else FinishReason.STOP), status
    if status == "incomplete":
        details = body.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        raw = reason if isinstance(reason, str) else "incomplete"
        return _INCOMPLETE.get(raw, FinishReason.UNKNOWN), raw
    if isinstance(status, str):
        return FinishReason.UNKNOWN, status
    return None, None


def _said(value: object, absent: str) -> str:
    """A server's code or message for our message: text as is, else a bounded excerpt."""
    if not value:
        return absent
    return value if isinstance(value, str) else excerpt(value)


def failure(body: Mapping[str, Any]) -> ServerError:
    """The error a `failed` response carries."""
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    text = error.get("message") if isinstance(error, dict) else None
    return ServerError(
        f"The response failed ({_said(code, 'no code')}: {_said(text, 'no message')})",
        status_code=200,
        error_code=code if isinstance(code, str) else None,
        body_excerpt="",
        fix="Retrying may succeed; the error came from the model's side.",
    )


def decode_response(
    body: bytes | Mapping[str, Any], *, target: Target | None = None
) -> Turn:
    """Decode a complete (non-streamed) response object into a turn.

    Raises:
        DecodeError: the body is not a response object of this format.
        UnknownBlockTypeError: an output item or part convo does not decode.
        ServerError: the response's status is `failed`.
    """
    data = (
        load_json(body, what="The response body") if isinstance(body, bytes) else body
    )
    if not isinstance(data, Mapping):
        raise fail("The response body must be a JSON object", where="$", received=data)
    if data.get("status") == "failed":
        raise failure(data)
    output = data.get("output")
    if not isinstance(output, list):
        raise fail("The response has no output list", where="$.output", received=output)
    model = data.get("model") if isinstance(data.get("model"), str) else None
    blocks, meta = turn_from_items(output, where="$.output", target=target, model=model)
    if isinstance(data.get("id"), str):
        meta["response_id"] = data["id"]
    has_calls = any(isinstance(b, ToolCallBlock) for b in blocks)
    finish, raw = finish_of(data, has_calls=has_calls)
    usage = usage_of(data.get("usage"), where="$.usage")
    return guard(
        lambda: Turn(
            role="assistant",
            blocks=tuple(blocks),
            model=model,
            finish_reason=finish,
            finish_reason_raw=raw,
            usage=usage,
            metadata={ITEMS_KEY: meta},
        ),
        where="$",
    )

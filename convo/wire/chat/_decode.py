"""Decode a chat-completions response (and message content) into convo values.

- `content` is a string, a list of parts, or null; parts dispatch on `type`,
  never on position. Known part types: `text` (unknown keys such as `citations`
  kept in the block's `extra`), `image_url` / `image` (data URLs only),
  `reasoning` (parts kept verbatim: a missing `signature` key stays None, an
  empty one stays ""). An unknown part type is refused with
  `UnknownBlockTypeError` naming the path, because no convo block could replay
  it faithfully; an unknown key inside a reasoning part is refused likewise,
  since dropping it would break byte-exact replay (R1).
- A message-level `reasoning_content` string becomes an unsigned reasoning block.
- Tool calls keep `arguments` verbatim (an empty string becomes "{}") and every
  unknown key on the call in `extra` (Gemini thought signatures, R17).
- Message-level fields convo does not model, when not null, are kept in the
  turn's metadata under "chat.message".
- The finish reason is normalised with the raw value kept; unknown values
  become UNKNOWN, never STOP (R19). Usage is read from every documented shape.

Invariant: any input either decodes or raises a `convo.errors` class
(`DecodeError` and subclasses) with the JSON path of the first problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convo._blocks import (
    Block,
    ImageBlock,
    Provenance,
    ReasoningBlock,
    ReasoningPart,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
)
from convo._targets import Target
from convo._turns import Turn, Usage, normalise_finish_reason
from convo.errors import (
    ConvoError,
    DecodeError,
    ResponseTooLargeError,
    UnknownBlockTypeError,
    excerpt,
)
from convo.wire._shared._cache import parse_cache_control
from convo.wire._shared._json import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    fail,
    load_json,
    shown_tag,
)
from convo.wire._shared._provenance import provenance_for
from convo.wire._shared._usage import UsageFields
from convo.wire._shared._usage import parse_usage as _parse_usage

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "decode_response",
    "load_json",
    "parse_content",
    "parse_tool_call",
    "parse_usage",
]

PART_TYPES = ("text", "image_url", "image", "reasoning")
_KNOWN_MESSAGE_KEYS = frozenset(
    {
        "role",
        "content",
        "tool_calls",
        "reasoning_content",
    }
)


def _str(value: object, *, where: str) -> str:
    if not isinstance(value, str):
        raise fail("Expected a string", where=where, received=value)
    return value


def _opt_str(value: object, *, where: str) -> str | None:
    if value is None:
        return None
    return _str(value, where=where)


def _extra(item: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in known}


_TEXT_KEYS = frozenset({"type", "text", "cache_control"})
_REASONING_KEYS = frozenset({"type", "summary", "cache_control"})


def parse_reasoning_part(item: object, *, where: str) -> ReasoningPart:
    """One `summary` item of a reasoning part, verbatim."""
    if not isinstance(item, dict):
        raise fail("A reasoning part must be an object", where=where, received=item)
    kind = item.get("type")
    if kind == "summary_text":
        if set(item) - {"type", "text", "signature"}:
            raise fail(
                "Unknown key in a summary_text part", where=where, received=sorted(item)
            )
        return SummaryText(
            text=_str(item.get("text", ""), where=f"{where}.text"),
            signature=_opt_str(item.get("signature"), where=f"{where}.signature"),
        )
    if kind == "summary_encrypted_text":
        if set(item) - {"type", "data"}:
            raise fail(
                "Unknown key in a summary_encrypted_text part",
                where=where,
                received=sorted(item),
            )
        return SummaryEncryptedText(data=_str(item.get("data"), where=f"{where}.data"))
    allowed = ("summary_text", "summary_encrypted_text")
    raise UnknownBlockTypeError(
        f"Unknown reasoning part type {excerpt(kind)}",
        tag=shown_tag(kind),
        allowed=allowed,
        path=where,
        errors=(),
        fix=f"Use one of: {', '.join(allowed)}.",
    )


def parse_part(item: object, *, where: str, provenance: Provenance | None) -> Block:
    """One content part, dispatched on its `type`.

    Raises:
        UnknownBlockTypeError: the part's `type` is not one convo knows.
        DecodeError: the part is malformed or holds a value convo refuses.
    """
    try:
        return _parse_part(item, where=where, provenance=provenance)
    except DecodeError:
        raise
    except ConvoError as exc:
        raise fail(
            f"The part holds a value convo refuses: {exc.message}", where=where
        ) from exc


def _parse_part(item: object, *, where: str, provenance: Provenance | None) -> Block:
    if not isinstance(item, dict):
        raise fail("A content part must be an object", where=where, received=item)
    kind = item.get("type")
    cc_raw = item.get("cache_control")
    cc = (
        None
        if cc_raw is None
        else parse_cache_control(cc_raw, where=f"{where}.cache_control")
    )
    if kind == "text":
        return TextBlock(
            text=_str(item.get("text"), where=f"{where}.text"),
            cache_control=cc,
            extra=_extra(item, _TEXT_KEYS),
        )
    if kind in ("image_url", "image"):
        raw = item.get("image_url")
        url = raw.get("url") if isinstance(raw, dict) else raw
        image = ImageBlock.from_data_url(_str(url, where=f"{where}.image_url.url"))
        return ImageBlock(
            media_type=image.media_type, data=image.data, cache_control=cc
        )
    if kind == "reasoning":
        summary = item.get("summary")
        if not isinstance(summary, list):
            raise fail(
                "A reasoning part needs a summary list",
                where=f"{where}.summary",
                received=summary,
            )
        parts = tuple(
            parse_reasoning_part(p, where=f"{where}.summary[{i}]")
            for i, p in enumerate(summary)
        )
        return ReasoningBlock(
            parts=parts,
            provenance=provenance,
            cache_control=cc,
            extra=_extra(item, _REASONING_KEYS),
        )
    raise UnknownBlockTypeError(
        f"Unknown content part type {excerpt(kind)}",
        tag=shown_tag(kind),
        allowed=PART_TYPES,
        path=where,
        errors=(),
        fix=f"Known types: {', '.join(PART_TYPES)}.",
    )


def parse_content(
    content: object, *, where: str, provenance: Provenance | None, keep_empty: bool
) -> list[Block]:
    """A message's content: string, list of parts or null.

    An empty string gives no block unless `keep_empty` (user and system turns
    need one).
    """
    if content is None:
        return []
    if isinstance(content, str):
        return [TextBlock(text=content)] if content or keep_empty else []
    if not isinstance(content, list):
        raise fail(
            "content must be a string, a list or null", where=where, received=content
        )
    return [
        parse_part(item, where=f"{where}[{i}]", provenance=provenance)
        for i, item in enumerate(content)
    ]


_CALL_KEYS = frozenset({"id", "type", "function", "index"})


def parse_tool_call(item: object, *, where: str) -> ToolCallBlock:
    """One complete tool call; empty arguments become "{}"."""
    if not isinstance(item, dict):
        raise fail("A tool call must be an object", where=where, received=item)
    function = item.get("function")
    if not isinstance(function, dict):
        raise fail(
            "A tool call needs a function object",
            where=f"{where}.function",
            received=function,
        )
    arguments = function.get("arguments")
    arguments = (
        "{}"
        if arguments in (None, "")
        else _str(arguments, where=f"{where}.function.arguments")
    )
    if item.get("type", "function") != "function":
        raise fail(
            "Only function tool calls are known",
            where=f"{where}.type",
            received=item.get("type"),
        )
    extra = _extra(item, _CALL_KEYS)
    cc_raw = extra.pop("cache_control", None)
    return ToolCallBlock(
        id=_str(item.get("id"), where=f"{where}.id"),
        name=_str(function.get("name"), where=f"{where}.function.name"),
        arguments=arguments,
        cache_control=None
        if cc_raw is None
        else parse_cache_control(cc_raw, where=f"{where}.cache_control"),
        extra=extra,
    )


USAGE_FIELDS = UsageFields(
    prompt=(("prompt_tokens",),),
    completion=(("completion_tokens",),),
    total=(("total_tokens",),),
    cache_read=(
        ("cache_read_input_tokens",),
        ("prompt_tokens_details", "cached_tokens"),
    ),
    cache_write=(("cache_creation_input_tokens",),),
    reasoning=(
        ("reasoning_tokens",),
        ("completion_tokens_details", "reasoning_tokens"),
    ),
)
"""Where chat completions put usage (OpenAI details, Claude's top-level cache fields)."""


def parse_usage(value: object, *, where: str) -> Usage | None:
    """Usage from any documented chat shape (see `USAGE_FIELDS`)."""
    return _parse_usage(value, USAGE_FIELDS, where=where)


def message_fields(msg: Mapping[str, Any]) -> dict[str, Any]:
    """Message-level fields convo does not model and that are not null or empty."""
    return {
        k: v
        for k, v in msg.items()
        if k not in _KNOWN_MESSAGE_KEYS and v is not None and v != [] and v != {}
    }


def message_blocks(
    msg: Mapping[str, Any],
    *,
    where: str,
    provenance: Provenance | None,
    keep_empty: bool,
) -> list[Block]:
    """Every block of an assistant-style message: reasoning_content, content, tool calls."""
    blocks: list[Block] = []
    reasoning_content = msg.get("reasoning_content")
    if reasoning_content is not None and reasoning_content != "":
        text = _str(reasoning_content, where=f"{where}.reasoning_content")
        blocks.append(
            ReasoningBlock(parts=(SummaryText(text=text),), provenance=provenance)
        )
    blocks.extend(
        parse_content(
            msg.get("content"),
            where=f"{where}.content",
            provenance=provenance,
            keep_empty=keep_empty,
        )
    )
    calls = msg.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise fail(
                "tool_calls must be a list", where=f"{where}.tool_calls", received=calls
            )
        blocks.extend(
            parse_tool_call(c, where=f"{where}.tool_calls[{i}]")
            for i, c in enumerate(calls)
        )
    return blocks


def _decode(body: Mapping[str, Any], target: Target | None, choice: int) -> Turn:
    if not isinstance(body, Mapping):
        raise fail("A response must be a JSON object", where="$", received=body)
    choices = body.get("choices")
    if not isinstance(choices, list):
        raise fail(
            "A response needs a choices list", where="$.choices", received=choices
        )
    picked = None
    for i, c in enumerate(choices):
        if not isinstance(c, dict):
            raise fail(
                "A choice must be an object", where=f"$.choices[{i}]", received=c
            )
        if c.get("index", i) == choice:
            picked, where = c, f"$.choices[{i}]"
            break
    if picked is None:
        raise fail(
            f"The response has no choice with index {choice}",
            where="$.choices",
            received=len(choices),
        )
    msg = picked.get("message")
    if not isinstance(msg, dict):
        raise fail(
            "A choice needs a message object", where=f"{where}.message", received=msg
        )
    model = _opt_str(body.get("model"), where="$.model")
    provenance = provenance_for(target, model)
    blocks = message_blocks(
        msg, where=f"{where}.message", provenance=provenance, keep_empty=False
    )
    raw_finish = _opt_str(picked.get("finish_reason"), where=f"{where}.finish_reason")
    extra = message_fields(msg)
    metadata: dict[str, Any] = {"chat.message": extra} if extra else {}
    return Turn(
        role="assistant",
        blocks=tuple(blocks),
        model=model,
        finish_reason=normalise_finish_reason(raw_finish),
        finish_reason_raw=raw_finish,
        usage=parse_usage(body.get("usage"), where="$.usage"),
        metadata=metadata,
    )


def decode_response(
    body: bytes | Mapping[str, Any],
    *,
    target: Target | None = None,
    choice: int = 0,
    max_bytes: int = MAX_BODY_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Turn:
    """The assistant turn of a non-streamed chat-completions response.

    Args:
        body: the response body, raw or parsed.
        target: the target that answered; gives reasoning its provenance.
        choice: which choice to decode (by its `index`).
        max_bytes: refuse bodies larger than this.
        max_depth: refuse JSON nested deeper than this.

    Raises:
        ResponseTooLargeError: the body is over `max_bytes`.
        DecodeError: the body is not a chat completion (path of the problem).
    """
    if isinstance(body, bytes | bytearray):
        if len(body) > max_bytes:
            raise ResponseTooLargeError(
                "The response body is too large",
                limit=max_bytes,
                received=f"<{len(body)} bytes>",
                fix="Raise max_bytes if this is expected.",
            )
        parsed = load_json(bytes(body), where="$", max_depth=max_depth)
    else:
        parsed = body
    try:
        return _decode(parsed, target, choice)
    except DecodeError:
        raise
    except ConvoError as exc:
        raise DecodeError(
            f"The response holds a value convo refuses: {exc.message}",
            path=getattr(exc, "path", None) or "$",
            errors=(exc.message,),
        ) from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise DecodeError(
            f"The response does not decode: {exc}", path="$", errors=(str(exc),)
        ) from exc

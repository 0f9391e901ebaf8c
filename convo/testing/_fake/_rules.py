"""The 400s of the fake endpoint: every provider rule it can check on a raw JSON request.

`check(body, spec, secret=...)` walks the request as JSON (never through convo's
own types) and returns the first `Violation` found, or None. Each violation names
the rule id of `provider-rules.md` (R1 ... R18, or `schema` for a malformed body)
and carries the message the real service gives, nested as upstream JSON for the
rules Anthropic enforces behind Databricks (R22). Invariant: a request convo's
policies call valid must get None here, so every check follows the documented
rule, never a guess stricter than it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

import attrs

from convo.testing._fake._models import ModelSpec
from convo.testing._fake._prefix import prefix_digest
from convo.testing._fake._rules_sequence import (
    iter_markers,
    markers,
    pairing,
    reasoning_first,
    step_first_id,
    thought_signature,
    thought_signatures,
)
from convo.testing._fake._signing import verify, verify_bound
from convo.testing._fake._violation import Violation
from convo.testing._fake._violation import claude as _claude
from convo.testing._fake._violation import databricks as _databricks
from convo.testing._fake._violation import unknown_field as _unknown_field

__all__ = [
    "FAMILIES",
    "Violation",
    "check",
    "iter_markers",
    "step_first_id",
    "thought_signature",
]

FAMILIES: tuple[str, ...] = ("claude", "gpt-oss", "gpt", "gemini", "llama", "generic")

_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_MAX_IMAGE_BYTES = 5 * 1024 * 1024
_MAX_SIDE_PX = 8000
_DATA_URL = re.compile(r"^data:(?P<media>[^;,]+);base64,(?P<data>.*)$", re.DOTALL)
_MESSAGE_KEYS = {
    "system": {"role", "content"},
    "user": {"role", "content"},
    "assistant": {"role", "content", "tool_calls"},
    "tool": {"role", "content", "tool_call_id"},
}
_TOOL_FUNCTION_KEYS = {"name", "description", "parameters", "cache_control"}


def check(body: Any, spec: ModelSpec, *, secret: bytes) -> Violation | None:
    """The first rule `body` breaks for a model described by `spec`, or None."""
    if not isinstance(body, Mapping):
        return _databricks("schema", "Request body must be a JSON object.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _databricks(
            "schema", "Missing required field 'messages' (a non-empty list)."
        )
    for checker in (_top_level, _thinking, _tools):
        found = checker(body, spec)
        if found is not None:
            return found
    for index, msg in enumerate(messages):
        found = _message(msg, index, spec, _Keys(secret=secret, body=body, index=index))
        if found is not None:
            return found
    for checker in (pairing, reasoning_first, markers):
        found = checker(body, spec)
        if found is not None:
            return found
    return thought_signatures(body, spec, secret)


# --- top level -------------------------------------------------------------------


def _top_level(body: Mapping[str, Any], spec: ModelSpec) -> Violation | None:
    for key in body:
        if key == "reasoning_effort" and spec.claude_rules:
            return _claude(
                "R15",
                "reasoning_effort: Extra inputs are not permitted. Claude models take "
                "`thinking` ({type: enabled, budget_tokens}) instead of an effort label.",
            )
        if key not in spec.fields:
            return _unknown_field(spec, key)
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in spec.efforts:
        allowed = ", ".join(repr(e) for e in spec.efforts)
        return _databricks(
            "R15",
            f"Invalid reasoning_effort {effort!r} for {spec.name}: supported values are "
            f"{allowed}. Unsupported values are rejected rather than remapped.",
        )
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            return _databricks("schema", f"{key} must be an integer greater than 0.")
    if "stream" in body and not isinstance(body["stream"], bool):
        return _databricks("schema", "stream must be a boolean.")
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _thinking(body: Mapping[str, Any], spec: ModelSpec) -> Violation | None:
    thinking = body.get("thinking")
    if thinking is None or not spec.claude_rules:
        return None
    if (
        not isinstance(thinking, Mapping)
        or thinking.get("type") not in spec.thinking_types
    ):
        kind = thinking.get("type") if isinstance(thinking, Mapping) else thinking
        allowed = " or ".join(f"'{t}'" for t in spec.thinking_types)
        return _claude(
            "R14",
            f"thinking.type: Input should be {allowed} (got {kind!r}) for {spec.name}",
        )
    if thinking["type"] != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
        return _claude(
            "R14",
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        )
    limit = body.get("max_tokens", body.get("max_completion_tokens"))
    if limit is not None and budget >= limit:
        return _claude(
            "R14",
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
            "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
        )
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        return _claude(
            "R14", "`temperature` may only be set to 1 when thinking is enabled."
        )
    if "top_k" in body:
        return _claude("R14", "`top_k` is not supported when thinking is enabled.")
    top_p = body.get("top_p")
    if top_p is not None and not (0.95 <= top_p <= 1):
        return _claude(
            "R14",
            "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.",
        )
    choice = body.get("tool_choice")
    if choice is not None and choice not in ("auto", "none"):
        return _claude(
            "R14", "Thinking may not be enabled when tool_choice forces tool use."
        )
    return None


def _tools(body: Mapping[str, Any], spec: ModelSpec) -> Violation | None:
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        return _databricks("schema", "tools must be a list.")
    for index, tool in enumerate(tools):
        where = f"tools.{index}"
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            return _databricks("schema", f"{where}: only function tools are supported.")
        function = tool.get("function")
        if not isinstance(function, Mapping) or not isinstance(
            function.get("name"), str
        ):
            return _databricks("schema", f"{where}.function.name: Field required")
        for key in function:
            if key == "strict" and spec.strict_tools:
                continue
            if key not in _TOOL_FUNCTION_KEYS:
                return _unknown_field(spec, f"{where}.function.{key}")
        for key in tool:
            if key not in ("type", "function", "cache_control"):
                return _unknown_field(spec, f"{where}.{key}")
    return None


# --- messages --------------------------------------------------------------------


def _message(msg: Any, index: int, spec: ModelSpec, keys: _Keys) -> Violation | None:
    where = f"messages.{index}"
    if not isinstance(msg, Mapping) or msg.get("role") not in _MESSAGE_KEYS:
        return _databricks(
            "schema", f"{where}.role: must be one of system, user, assistant, tool."
        )
    role = msg["role"]
    for key in msg:
        if key in ("reasoning_content", "thinking_blocks"):
            return _claude("R3", f"{where}.{key}: Extra inputs are not permitted")
        if key == "cache_control":
            return _claude(
                "R7",
                f"{where}.cache_control: Extra inputs are not permitted (put cache_control on a content block, not on the message or a string content)",
            )
        if key not in _MESSAGE_KEYS[role]:
            return _unknown_field(spec, f"{where}.{key}")
    content = msg.get("content")
    calls = msg.get("tool_calls")
    if calls is not None:
        found = _tool_calls(calls, where, spec)
        if found is not None:
            return found
    if content is None:
        if role == "assistant" and calls:
            return None
        if spec.claude_rules:
            return _claude(
                "R12",
                f"{where}: all messages must have non-empty content except for the optional final assistant message",
            )
        return _databricks("schema", f"{where}.content: Field required")
    if isinstance(content, str):
        if spec.claude_rules and not content.strip():
            return _claude(
                "R12",
                f"{where}.content: text content blocks must contain non-whitespace text",
            )
        return None
    if not isinstance(content, list):
        return _databricks(
            "schema",
            f"{where}.content: must be a string, a list of content parts or null.",
        )
    if spec.claude_rules and not content and not calls:
        return _claude(
            "R12",
            f"{where}: all messages must have non-empty content except for the optional final assistant message",
        )
    for position, part in enumerate(content):
        found = _part(part, f"{where}.content.{position}", role, spec, keys)
        if found is not None:
            return found
    if (
        spec.claude_rules
        and role == "assistant"
        and not calls
        and content
        and all(
            isinstance(p, Mapping) and p.get("type") == "reasoning" for p in content
        )
    ):
        return _claude(
            "R13",
            f"{where}.content: an assistant message may not consist of thinking blocks only",
        )
    if role == "tool" and spec.claude_rules:
        for position, part in enumerate(content):
            if part.get("type") != "text":
                return _claude(
                    "R18",
                    f"{where}.content.{position}.tool_result.content: Input tag '{part.get('type')}' found using 'type' does not match any of the expected tags: 'text'",
                )
    return None


def _tool_calls(calls: Any, where: str, spec: ModelSpec) -> Violation | None:
    if not isinstance(calls, list):
        return _databricks("schema", f"{where}.tool_calls: must be a list.")
    for index, call in enumerate(calls):
        here = f"{where}.tool_calls.{index}"
        if (
            not isinstance(call, Mapping)
            or not isinstance(call.get("id"), str)
            or not call["id"]
        ):
            return _databricks("schema", f"{here}.id: Field required")
        function = call.get("function")
        if not isinstance(function, Mapping) or not isinstance(
            function.get("name"), str
        ):
            return _databricks("schema", f"{here}.function.name: Field required")
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            return _databricks(
                "schema", f"{here}.function.arguments: must be a JSON string."
            )
        if arguments:
            try:
                json.loads(arguments)
            except ValueError:
                return _databricks(
                    "schema", f"{here}.function.arguments: not valid JSON."
                )
        marker = call.get("cache_control")
        if marker is not None:
            found = _marker_shape(marker, f"{here}.cache_control")
            if found is not None:
                return found
    return None


def _part(
    part: Any, where: str, role: str, spec: ModelSpec, keys: _Keys
) -> Violation | None:
    if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
        return _databricks("schema", f"{where}.type: Field required")
    kind = part["type"]
    marker = part.get("cache_control")
    if marker is not None:
        found = _marker_shape(marker, f"{where}.cache_control")
        if found is not None:
            return found
    if kind == "text":
        text = part.get("text")
        if not isinstance(text, str):
            return _databricks("schema", f"{where}.text: Field required")
        if spec.claude_rules and not text.strip():
            if marker is not None:
                return _claude(
                    "R7",
                    f"{where}.cache_control: cache_control cannot be set for empty text blocks",
                )
            return _claude(
                "R12",
                f"{where}.text: text content blocks must contain non-whitespace text",
            )
        return None
    if kind == "image_url":
        if role not in ("user", "tool"):
            return _databricks(
                "schema", f"{where}: image content is only allowed in user messages."
            )
        if not spec.images:
            return _databricks(
                "R18", f"{where}: {spec.name} does not support image inputs."
            )
        return _image(part, where)
    if kind == "reasoning":
        if role != "assistant":
            return _claude(
                "R3",
                f"{where}: reasoning blocks are only allowed inside an assistant message's content list (found in a {role} message)",
            )
        if marker is not None:
            return _claude(
                "R7",
                f"{where}.cache_control: thinking blocks cannot carry cache_control directly",
            )
        return _reasoning(part, where, spec, keys)
    return _databricks(
        "schema",
        f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected tags: 'text', 'image_url', 'reasoning'",
    )


def _marker_shape(marker: Any, where: str) -> Violation | None:
    if not isinstance(marker, Mapping) or marker.get("type") != "ephemeral":
        return _claude("R8", f"{where}.type: Input should be 'ephemeral'")
    ttl = marker.get("ttl", "5m")
    if ttl not in ("5m", "1h") or set(marker) - {"type", "ttl"}:
        return _claude("R8", f"{where}.ttl: Input should be '5m' or '1h'")
    return None


def _image(part: Mapping[str, Any], where: str) -> Violation | None:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else None
    if not isinstance(url, str):
        return _databricks("schema", f"{where}.image_url.url: Field required")
    match = _DATA_URL.match(url)
    if match is None:
        return _claude(
            "R18",
            f"{where}.image_url: URL sources are not supported; send the image as a base64 data URL (data:image/png;base64,...)",
        )
    media = match["media"]
    if media not in _IMAGE_TYPES:
        return _claude(
            "R18",
            f"{where}.image_url: Image does not match the provided media type {media}; supported types are image/jpeg, image/png, image/gif and image/webp",
        )
    data = match["data"]
    if len(data) > _MAX_IMAGE_BYTES:
        return _claude(
            "R18",
            f"{where}.image_url: image exceeds 5 MB maximum: {len(data)} bytes > {_MAX_IMAGE_BYTES} bytes",
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return _claude("R18", f"{where}.image_url: invalid base64 data")
    size = _dimensions(raw)
    if size is not None and max(size) > _MAX_SIDE_PX:
        return _claude(
            "R18",
            f"{where}.image_url: image dimensions exceed max allowed size: {_MAX_SIDE_PX} pixels",
        )
    return None


def _dimensions(raw: bytes) -> tuple[int, int] | None:
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) >= 24:
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if raw[:6] in (b"GIF87a", b"GIF89a") and len(raw) >= 10:
        return int.from_bytes(raw[6:8], "little"), int.from_bytes(raw[8:10], "little")
    return None


def _reasoning(
    part: Mapping[str, Any], where: str, spec: ModelSpec, keys: _Keys
) -> Violation | None:
    summary = part.get("summary")
    if not isinstance(summary, list) or not summary:
        return _databricks(
            "schema", f"{where}.summary: Field required (a non-empty list)"
        )
    texts: list[str] = []
    signatures: list[str] = []
    encrypted = False
    for index, item in enumerate(summary):
        kind = item.get("type") if isinstance(item, Mapping) else None
        if kind == "summary_text" and isinstance(item.get("text"), str):
            texts.append(item["text"])
            signature = item.get("signature")
            if signature:
                signatures.append(str(signature))
        elif kind == "summary_encrypted_text" and isinstance(item.get("data"), str):
            encrypted = True
        else:
            return _databricks(
                "schema",
                f"{where}.summary.{index}: expected summary_text or summary_encrypted_text",
            )
    if not spec.signs_reasoning:
        return None
    if encrypted:
        return _claude("R1", f"{where}: Invalid `data` in `redacted_thinking` block")
    if not signatures:
        return _claude("R4", f"{where}.thinking.signature: Field required")
    text = "".join(texts)
    signature, _, bound = signatures[-1].partition(".")
    secret = keys.secret
    if not verify(secret, spec.family, text, signature):
        foreign = any(
            verify(secret, f, text, signature) for f in FAMILIES if f != spec.family
        )
        return _claude(
            "R4" if foreign else "R1",
            f"{where}: Invalid `signature` in `thinking` block",
        )
    if not spec.binds_reasoning_to_prefix:
        return None
    prefix = prefix_digest(keys.body, keys.body["messages"][: keys.index])
    if bound and verify_bound(secret, spec.family, text, prefix, signatures[-1]):
        return None
    return _claude(
        "R5",
        f"{where}: Invalid `signature` in `thinking` block: the thinking block no longer matches the "
        "prefix it was generated after (tools, system and every earlier message, earlier thinking "
        "included, must be sent unchanged)",
    )


@attrs.frozen(kw_only=True)
class _Keys:
    """What verifying a reasoning block needs: the secret, the request, the message index."""

    secret: bytes
    body: Mapping[str, Any]
    index: int

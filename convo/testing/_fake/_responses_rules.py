"""The Responses routes' replay rules, as the fake endpoint enforces them.

Written from docs/responses.md, not from `convo.wire.responses`: the fake is an
independent check. Stateless, like the real routes: every id and blob the fake
issues is an HMAC under its secret, so a replay is verified from the request
alone (and by any fake endpoint with the same secret).

- reasoning `encrypted_content` binds route, family, the `rs_` id and the
  summary text: a changed id is an `item_id mismatch` (RR9); another route,
  family or endpoint, or an edited summary (RR11), does not verify (400
  `invalid_encrypted_content`, RR10);
- a reasoning item without `encrypted_content` is looked up and not found
  (404, RR7); a reasoning item must be followed by a call or a message (RR4);
- an `fc_` id issued with reasoning names it: the call must come after that
  very reasoning item (RR3);
- every output answers a call sent before it, and every call is answered
  before the next user message (R10, RR6);
- no `previous_response_id` or `item_reference` (RR1); no keys outside the
  spec on the body or on items, `cache_control` included (RR14);
- only function tools for non-OpenAI models (RR12); Gemini calls come back
  with their signature (`encrypted_content`) when they carry their `fc_` id
  (RR2); assistant messages of GPT models come back with their `phase` (RR16).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from convo.testing._fake._models import ModelSpec
from convo.testing._fake._signing import sign
from convo.testing._fake._violation import Violation

__all__ = [
    "BODY_FIELDS",
    "ResponsesViolation",
    "call_item_id",
    "chat_view",
    "check_request",
    "gemini_call_blob",
    "reasoning_blob",
]

BODY_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "max_output_tokens",
        "temperature",
        "top_p",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "text",
        "reasoning",
        "include",
        "store",
        "stream",
        "stream_options",
        "metadata",
        "user",
        "truncation",
        "safety_identifier",
        "previous_response_id",
    }
)
_ITEM_KEYS: dict[str, frozenset[str]] = {
    "message": frozenset({"type", "role", "content", "id", "status", "phase"}),
    "reasoning": frozenset(
        {"type", "id", "summary", "encrypted_content", "status", "content"}
    ),
    "function_call": frozenset(
        {"type", "id", "call_id", "name", "arguments", "status", "encrypted_content"}
    ),
    "function_call_output": frozenset({"type", "id", "call_id", "output", "status"}),
}
_PART_KEYS = frozenset(
    {"type", "text", "annotations", "logprobs", "image_url", "detail", "refusal"}
)


@attrs.frozen(kw_only=True)
class ResponsesViolation:
    """A broken replay rule and the HTTP status the route answers it with."""

    violation: Violation
    status: int = 400


def _bad(
    rule: str, text: str, *, status: int = 400, code: str = "BAD_REQUEST"
) -> ResponsesViolation:
    inner = Violation(rule=rule, text=text, error_code=code)
    return ResponsesViolation(violation=inner, status=status)


def _mac(secret: bytes, *parts: str) -> str:
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        mac.update(len(data).to_bytes(8, "big"))
        mac.update(data)
    return mac.hexdigest()


def reasoning_blob(
    secret: bytes, route: str, family: str, rs_id: str, summary: str
) -> str:
    """The `encrypted_content` the fake issues for a reasoning item.

    `enc_<id tag>.<signature>`: the tag tells a changed `rs_` id (RR9) from a
    blob another route, family or endpoint made (RR10)."""
    tag = _mac(secret, "rs-id", rs_id)[:12]
    return f"enc_{tag}." + sign(secret, f"{route}/{family}", f"{rs_id}\x00{summary}")


def call_item_id(secret: bytes, rs_id: str | None, call_id: str) -> str:
    """The `fc_` id of a call; one emitted with reasoning names its `rs_` id (RR3)."""
    return "fc_" + _mac(secret, "fc", rs_id or "", call_id)[:32]


def gemini_call_blob(secret: bytes, route: str, call_id: str, name: str) -> str:
    """Gemini's thought signature on a `function_call` item."""
    return "sig_" + _mac(secret, "gemini-call", route, call_id, name)[:40]


def _summary(item: Mapping[str, Any]) -> str | None:
    summary = item.get("summary")
    if not isinstance(summary, list):
        return None
    texts = []
    for part in summary:
        if not isinstance(part, Mapping) or part.get("type") != "summary_text":
            return None
        texts.append(str(part.get("text", "")))
    return "\x1f".join(texts)


def _keys(item: Mapping[str, Any], where: str) -> ResponsesViolation | None:
    allowed = _ITEM_KEYS.get(str(item.get("type")))
    if allowed is None:
        return _bad("RR14", f"Invalid value: '{item.get('type')}' at {where}.type.")
    for key in item:
        if key not in allowed:
            return _bad("RR14", f"Unknown parameter: '{where}.{key}'.")
    content = item.get("content")
    if item.get("type") == "message" and isinstance(content, list):
        for i, part in enumerate(content):
            if not isinstance(part, Mapping):
                return _bad("RR14", f"Invalid content part at {where}.content[{i}].")
            for key in part:
                if key not in _PART_KEYS:
                    return _bad(
                        "RR14", f"Unknown parameter: '{where}.content[{i}].{key}'."
                    )
    if item.get("type") == "message" and content is None:
        return _bad("RR13", f"Invalid '{where}.content': null.")
    return None


def _normalised(raw: object) -> list[Mapping[str, Any]] | ResponsesViolation:
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if not isinstance(raw, list):
        return _bad("schema", "'input' must be a string or a list of items.")
    items: list[Mapping[str, Any]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            return _bad("schema", f"Invalid item at input[{i}].")
        if "type" not in item and "role" in item:
            item = {"type": "message", **item}
        items.append(item)
    return items


def _reasoning_item(
    item: Mapping[str, Any], where: str, *, route: str, family: str, secret: bytes
) -> ResponsesViolation | None:
    rs_id = item.get("id")
    blob = item.get("encrypted_content")
    if not isinstance(blob, str):
        return _bad(
            "RR7",
            f"Item with id '{rs_id}' not found. Items are not persisted when `store` "
            "is set to false. Try again with `store` set to true, or remove this "
            "item from your input.",
            status=404,
            code="NOT_FOUND",
        )
    summary = _summary(item)
    if summary is None or not isinstance(rs_id, str):
        return _bad("RR11", f"Invalid reasoning item at {where}.")
    if not blob.startswith(f"enc_{_mac(secret, 'rs-id', rs_id)[:12]}."):
        return _bad(
            "RR9",
            f"item_id mismatch: the encrypted content of item {rs_id} belongs to "
            "another item id.",
        )
    if blob != reasoning_blob(secret, route, family, rs_id, summary):
        return _bad(
            "RR10",
            f"The encrypted content for item {rs_id} could not be verified "
            "(invalid_encrypted_content).",
        )
    return None


def check_request(
    payload: Mapping[str, Any], spec: ModelSpec, *, route: str, secret: bytes
) -> ResponsesViolation | None:
    """The first replay rule `payload` breaks on `route`, or None."""
    for key in payload:
        if key not in BODY_FIELDS:
            return _bad("RR14", f"Unknown parameter: '{key}'.")
    if payload.get("previous_response_id") is not None:
        return _bad(
            "RR1", "previous_response_id is not supported: send the whole conversation."
        )
    max_out = payload.get("max_output_tokens")
    if max_out is not None and (not isinstance(max_out, int) or max_out < 16):
        return _bad(
            "R16", "Invalid 'max_output_tokens': integer below minimum value 16."
        )
    tools = payload.get("tools") or []
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            if spec.family != "gpt":
                return _bad(
                    "RR12", f"Only 'function' tools are supported (tools[{i}])."
                )
        elif "function" in tool:
            return _bad("RR14", f"Unknown parameter: 'tools[{i}].function'.")
        elif tool.get("cache_control") is not None:
            return _bad("RR14", f"Unknown parameter: 'tools[{i}].cache_control'.")
    reasoning = payload.get("reasoning")
    if isinstance(reasoning, Mapping) and reasoning.get("effort") is not None:
        efforts = spec.efforts or (
            ("low", "medium", "high") if spec.signs_reasoning else ()
        )
        if reasoning["effort"] not in efforts:
            return _bad(
                "R15", f"Unsupported value: reasoning.effort {reasoning['effort']!r}."
            )
    items = _normalised(payload.get("input"))
    if isinstance(items, ResponsesViolation):
        return items
    return _check_items(items, spec, route=route, secret=secret)


def _followed(items: Sequence[Mapping[str, Any]], n: int) -> bool:
    """Whether reasoning item `n` is followed by a call, reasoning or an answer (RR4)."""
    follower = items[n + 1] if n + 1 < len(items) else None
    return follower is not None and (
        follower.get("type") in ("function_call", "reasoning")
        or (follower.get("type") == "message" and follower.get("role") == "assistant")
    )


def _function_call(
    item: Mapping[str, Any],
    where: str,
    spec: ModelSpec,
    route: str,
    secret: bytes,
    last_reasoning: str | None,
) -> ResponsesViolation | None:
    """A replayed `function_call` item: ids, name, its reasoning and signature."""
    call_id = item.get("call_id")
    if not isinstance(call_id, str) or not 1 <= len(call_id) <= 64:
        return _bad("schema", f"Invalid '{where}.call_id'.")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        return _bad("RR6", f"Invalid '{where}.name': empty string.")
    fc_id = item.get("id")
    plain = call_item_id(secret, None, call_id)
    reasoned = call_item_id(secret, last_reasoning, call_id) if last_reasoning else None
    if fc_id is not None and fc_id not in (plain, reasoned):
        return _bad(
            "RR3",
            f"Item '{fc_id}' of type 'function_call' was provided without "
            "its required 'reasoning' item.",
        )
    if spec.thought_signatures and fc_id is not None:
        blob = item.get("encrypted_content")
        if blob != gemini_call_blob(secret, route, call_id, name):
            return _bad(
                "RR2",
                f"Function call {call_id} in the history is missing its thought "
                "signature (encrypted_content).",
            )
    return None


def _check_items(
    items: Sequence[Mapping[str, Any]], spec: ModelSpec, *, route: str, secret: bytes
) -> ResponsesViolation | None:
    calls: dict[str, int] = {}
    answered: set[str] = set()
    last_reasoning: str | None = None
    for n, item in enumerate(items):
        where = f"input[{n}]"
        kind = item.get("type")
        if kind == "item_reference":
            return _bad(
                "RR1", "item_reference is not supported: the route is stateless."
            )
        bad = _keys(item, where)
        if bad is not None:
            return bad
        role = item.get("role")
        if kind == "reasoning":
            bad = _reasoning_item(
                item, where, route=route, family=spec.family, secret=secret
            )
            if bad is not None:
                return bad
            if not _followed(items, n):
                return _bad(
                    "RR4",
                    f"Item '{item.get('id')}' of type 'reasoning' was provided without "
                    "its required following item.",
                )
            last_reasoning = str(item.get("id"))
            continue
        if kind == "function_call":
            bad = _function_call(item, where, spec, route, secret, last_reasoning)
            if bad is not None:
                return bad
            calls[str(item["call_id"])] = n
            continue
        last_reasoning = (
            None if kind != "message" or role != "assistant" else last_reasoning
        )
        if kind == "function_call_output":
            call_id = item.get("call_id")
            if call_id not in calls:
                return _bad(
                    "R10",
                    f"No tool call found for function call output with call_id {call_id}.",
                )
            answered.add(str(call_id))
            continue
        if kind == "message" and role == "assistant":
            if (
                spec.family == "gpt"
                and item.get("id") is not None
                and "phase" not in item
            ):
                return _bad(
                    "RR16",
                    f"Assistant message {item.get('id')} was replayed without its phase.",
                )
            continue
        if kind == "message" and role == "user":
            missing = [c for c in calls if c not in answered]
            if missing:
                return _bad(
                    "R10", f"No tool output found for function call {missing[0]}."
                )
            if not spec.images and _has_image(item):
                return _bad("R18", "This model does not support image inputs.")
    return None


def _has_image(item: Mapping[str, Any]) -> bool:
    content = item.get("content")
    return isinstance(content, list) and any(
        isinstance(p, Mapping) and p.get("type") == "input_image" for p in content
    )


def _text(content: object) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, Mapping) and isinstance(part.get("text"), str):
            parts.append({"type": "text", "text": part["text"]})
        elif isinstance(part, Mapping) and isinstance(part.get("refusal"), str):
            parts.append({"type": "text", "text": part["refusal"]})
    return parts


def chat_view(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The request as chat messages, tools and tool_choice, for the fake's model."""
    items = _normalised(payload.get("input"))
    assert not isinstance(items, ResponsesViolation)  # noqa: S101 - checked first
    messages: list[dict[str, Any]] = []
    if isinstance(payload.get("instructions"), str):
        messages.append({"role": "system", "content": payload["instructions"]})
    for item in items:
        kind = item.get("type")
        if kind == "message":
            role = {"developer": "system"}.get(
                str(item.get("role")), str(item.get("role"))
            )
            messages.append({"role": role, "content": _text(item.get("content"))})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {
                    "name": item.get("name"),
                    "arguments": item.get("arguments"),
                },
            }
            if messages and messages[-1]["role"] == "assistant":
                messages[-1].setdefault("tool_calls", []).append(call)
            else:
                messages.append(
                    {"role": "assistant", "content": "", "tool_calls": [call]}
                )
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item.get("call_id"),
                    "content": _text(output),
                }
            )
    tools = [
        {
            "type": "function",
            "function": {
                "name": t.get("name"),
                "parameters": t.get("parameters") or {},
            },
        }
        for t in payload.get("tools") or ()
        if isinstance(t, Mapping) and t.get("type") == "function"
    ]
    view: dict[str, Any] = {"messages": messages, "tools": tools}
    choice = payload.get("tool_choice")
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        view["tool_choice"] = {
            "type": "function",
            "function": {"name": choice.get("name")},
        }
    elif isinstance(choice, str):
        view["tool_choice"] = choice
    return view

"""The fake endpoint's deterministic "model": what it answers to a valid request.

Rules, applied to the raw JSON request in this order:

1. A scripted `ScriptedReply` (if the endpoint was given a script) is used as is.
2. The last message is a tool result: answer with text summarising every result
   of the current tool session ("get_weather returned: ...").
3. Tools are offered, `tool_choice` is not "none" and the last message is a user
   message: call every tool whose *subject* the user text mentions — the tool name
   itself, or any word of the name (split on `_`, `-` and camelCase) other than a
   generic verb such as get/search/list, compared case-insensitively, plurals
   allowed. A forced `tool_choice` calls the named tool; "required" with no match
   calls the first tool. Arguments follow the tool's JSON schema: string properties
   take words of the user text (proper nouns first), numbers the first number in
   it (else 1), booleans true, enums their first value.
4. Otherwise: "You said: <the last user text>".

Reasoning text is produced when the request asks for it (Claude `thinking`
enabled) or the model always reasons (GPT OSS). Invariant: the same request and
seed always give the same answer, ids included.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = ["Answer", "ScriptedCall", "ScriptedReply", "ToolCall", "think"]

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_VERBS = frozenset(
    [
        "get",
        "set",
        "fetch",
        "search",
        "lookup",
        "look",
        "up",
        "find",
        "list",
        "create",
        "read",
        "query",
        "run",
        "do",
        "call",
        "check",
        "make",
        "add",
        "update",
        "delete",
        "remove",
        "compute",
        "send",
        "tool",
        "the",
        "a",
        "an",
        "of",
        "for",
        "to",
        "by",
    ]
)
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "in",
        "on",
        "at",
        "of",
        "for",
        "to",
        "and",
        "or",
        "is",
        "are",
        "was",
        "what",
        "whats",
        "what's",
        "how",
        "who",
        "when",
        "where",
        "why",
        "please",
        "can",
        "could",
        "would",
        "will",
        "you",
        "me",
        "my",
        "i",
        "it",
        "its",
        "this",
        "that",
        "with",
        "from",
        "by",
        "be",
        "do",
        "does",
        "about",
        "tell",
        "give",
        "show",
        "use",
        "call",
        "check",
        "find",
        "get",
        "now",
        "today",
        "there",
        "here",
    ]
)


@attrs.frozen(kw_only=True)
class ScriptedCall:
    """A tool call a scripted reply makes: the tool name and its arguments."""

    name: str
    arguments: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ScriptedReply:
    """A scripted answer: text, tool calls and reasoning to give instead of the heuristic."""

    text: str | None = None
    tool_calls: tuple[ScriptedCall, ...] = ()
    reasoning: str | None = None
    """Reasoning text; None lets the model reason as usual when reasoning is on."""
    finish_reason: str | None = None


@attrs.frozen(kw_only=True)
class ToolCall:
    """One tool call in an answer, arguments already a JSON string."""

    id: str
    name: str
    arguments: str
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    """Provider fields on the call (Gemini's thought signature), echoed by clients."""


@attrs.frozen(kw_only=True)
class Answer:
    """What the model says: optional reasoning, optional text, tool calls, finish reason."""

    reasoning: str | None
    text: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p["text"]
            for p in content
            if isinstance(p, Mapping)
            and p.get("type") == "text"
            and isinstance(p.get("text"), str)
        )
    return ""


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for msg in reversed(messages):
        if msg.get("role") == "user":
            return _text_of(msg.get("content")).strip()
    return ""


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[\s_\-.]+", spaced) if w]


def _mentions(tool_name: str, text: str) -> bool:
    lowered = text.lower()
    if tool_name.lower() in lowered:
        return True
    words = {w.lower().strip("'") for w in _WORD.findall(text)}
    for subject in _name_words(tool_name):
        if subject in _VERBS or len(subject) < 3:
            continue
        if subject in words or f"{subject}s" in words or f"{subject}es" in words:
            return True
    return False


def _candidates(text: str, tool_name: str) -> list[str]:
    excluded = set(_name_words(tool_name))
    words = _WORD.findall(text)
    usable = [
        w
        for w in words
        if w.lower() not in _STOP
        and w.lower() not in excluded
        and not _NUMBER.fullmatch(w)
    ]
    proper = [
        w for i, w in enumerate(words) if i > 0 and w[:1].isupper() and w in usable
    ]
    rest = [w for w in usable if w not in proper]
    return proper + list(reversed(rest))


def _value(schema: Any, words: list[str], text: str) -> Any:
    if not isinstance(schema, Mapping):
        return words.pop(0) if words else "something"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind in ("integer", "number"):
        found = _NUMBER.search(text)
        if found is None:
            return 1
        number = float(found.group())
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        return True
    if kind == "array":
        return [_value(schema.get("items"), words, text)]
    if kind == "object":
        return _object(schema, words, text)
    return words.pop(0) if words else "something"


def _object(schema: Mapping[str, Any], words: list[str], text: str) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    return {name: _value(sub, words, text) for name, sub in properties.items()}


def _arguments(tool: Mapping[str, Any], text: str) -> dict[str, Any]:
    function = tool.get("function") or {}
    name = str(function.get("name", ""))
    schema = function.get("parameters") or function.get("parametersJsonSchema") or {}
    return (
        _object(schema, _candidates(text, name), text)
        if isinstance(schema, Mapping)
        else {}
    )


def _call_id(family: str, seed: int, key: str, index: int) -> str:
    digest = hashlib.sha256(f"{seed}:{key}:{index}".encode()).hexdigest()[:24]
    return f"toolu_{digest}" if family == "claude" else f"call_{digest}"


def _results(messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    for msg in messages:
        for call in msg.get("tool_calls") or ():
            if isinstance(call, Mapping):
                names[str(call.get("id"))] = str(
                    (call.get("function") or {}).get("name", "tool")
                )
    out: list[tuple[str, str]] = []
    for msg in reversed(messages):
        role = msg.get("role")
        if role == "user":
            break
        if role == "tool":
            out.append(
                (
                    names.get(str(msg.get("tool_call_id")), "tool"),
                    _text_of(msg.get("content")),
                )
            )
    return list(reversed(out))


def _chosen_tools(body: Mapping[str, Any], text: str) -> list[Mapping[str, Any]]:
    tools = [
        t
        for t in body.get("tools") or ()
        if isinstance(t, Mapping) and isinstance(t.get("function"), Mapping)
    ]
    choice = body.get("tool_choice", "auto")
    if not tools or choice == "none":
        return []
    if isinstance(choice, Mapping):
        wanted = (choice.get("function") or {}).get("name")
        return [t for t in tools if t["function"].get("name") == wanted][:1]
    chosen = [t for t in tools if _mentions(str(t["function"].get("name", "")), text)]
    if not chosen and choice == "required":
        chosen = tools[:1]
    return chosen


def think(
    body: Mapping[str, Any],
    *,
    family: str,
    reasons: bool,
    seed: int,
    script: ScriptedReply | None = None,
) -> Answer:
    """The deterministic answer to a valid request (see the module docstring for the rules)."""
    messages: Sequence[Mapping[str, Any]] = body.get("messages") or ()
    stable = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    key = hashlib.sha256(
        json.dumps(stable, sort_keys=True, default=str).encode()
    ).hexdigest()
    user_text = _last_user_text(messages)
    short = user_text if len(user_text) <= 80 else user_text[:77] + "..."
    if script is not None:
        calls = tuple(
            ToolCall(
                id=_call_id(family, seed, key, i),
                name=c.name,
                arguments=json.dumps(dict(c.arguments)),
            )
            for i, c in enumerate(script.tool_calls)
        )
        reasoning = (
            script.reasoning
            if script.reasoning is not None
            else f"Following the script for: {short}"
        )
        finish = script.finish_reason or ("tool_calls" if calls else "stop")
        return Answer(
            reasoning=reasoning if reasons else None,
            text=script.text,
            tool_calls=calls,
            finish_reason=finish,
        )
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        results = _results(messages)
        text = "Here is what the tools returned: " + "; ".join(
            f"{n} returned: {r}" for n, r in results
        )
        plan = f"The tools answered {len(results)} call(s); I will summarise them."
        return Answer(
            reasoning=plan if reasons else None,
            text=text,
            tool_calls=(),
            finish_reason="stop",
        )
    chosen = _chosen_tools(body, user_text) if last.get("role") == "user" else []
    if chosen:
        calls = tuple(
            ToolCall(
                id=_call_id(family, seed, key, i),
                name=str(t["function"]["name"]),
                arguments=json.dumps(_arguments(t, user_text)),
            )
            for i, t in enumerate(chosen)
        )
        names = ", ".join(c.name for c in calls)
        plan = f'The user asked: "{short}". I should call {names}.'
        return Answer(
            reasoning=plan if reasons else None,
            text=f"Let me call {names}.",
            tool_calls=calls,
            finish_reason="tool_calls",
        )
    plan = f'The user asked: "{short}". I can answer directly.'
    text = f"You said: {user_text}" if user_text else "Hello."
    return Answer(
        reasoning=plan if reasons else None,
        text=text,
        tool_calls=(),
        finish_reason="stop",
    )

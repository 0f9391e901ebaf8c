"""Provider rules that span messages: tool pairing, reasoning first, cache markers, thought signatures.

R10 (each call answered exactly once before the next non-tool message, no
orphans, Claude's results consecutive), R11 (non-Claude: a tool message right
after a message with tool_calls), R2 (thinking on: the final assistant message of a
tool loop starts with its reasoning), R6/R8 (at most 4 markers, 1h before 5m in
tools → system → messages order) and R17 (Gemini thought signatures). Invariant:
each check reads the raw JSON only and returns the first violation or None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convo.testing._fake._models import ModelSpec
from convo.testing._fake._signing import sign
from convo.testing._fake._violation import Violation
from convo.testing._fake._violation import claude as _claude
from convo.testing._fake._violation import databricks as _databricks

__all__ = [
    "SKIP_THOUGHT_SIGNATURE",
    "iter_markers",
    "markers",
    "pairing",
    "reasoning_first",
    "step_first_id",
    "thought_signature",
    "thought_signatures",
]

SKIP_THOUGHT_SIGNATURE = "skip_thought_signature_validator"
"""Google's documented placeholder for history the model did not produce."""
_MAX_BREAKPOINTS = 4


def pairing(body: Mapping[str, Any], spec: ModelSpec) -> Violation | None:
    messages: Sequence[Mapping[str, Any]] = body["messages"]
    pending: dict[str, int] = {}
    for index, msg in enumerate(messages):
        role = msg["role"]
        if role == "tool":
            call_id = msg.get("tool_call_id")
            if not isinstance(call_id, str):
                return _databricks(
                    "schema", f"messages.{index}.tool_call_id: Field required"
                )
            before = messages[index - 1] if index else None
            after_calls = (
                before is not None
                and before["role"] == "assistant"
                and bool(before.get("tool_calls"))
            )
            if not spec.claude_rules and not after_calls:
                return _databricks(
                    "R11",
                    f"messages.{index}: a message with role 'tool' must be a response to a preceding message with 'tool_calls'",
                )
            if spec.claude_rules and not (
                after_calls or (before is not None and before["role"] == "tool")
            ):
                return _claude(
                    "R10",
                    f"messages.{index}: unexpected `tool_use_id` found in `tool_result` blocks: {call_id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
                )
            if call_id not in pending:
                return _claude(
                    "R10",
                    f"messages.{index}: unexpected `tool_use_id` found in `tool_result` blocks: {call_id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
                )
            del pending[call_id]
            continue
        if pending:
            return _missing_results(index, pending)
        calls = msg.get("tool_calls") if role == "assistant" else None
        for call in calls or ():
            if call["id"] in pending:
                return _claude(
                    "R10",
                    f"messages.{index}: `tool_use` ids must be unique (repeated {call['id']})",
                )
            pending[call["id"]] = index
    if pending:
        return _missing_results(len(messages), pending)
    return None


def _missing_results(index: int, pending: Mapping[str, int]) -> Violation:
    ids = ", ".join(pending)
    where = min(pending.values())
    return _claude(
        "R10",
        f"messages.{where}: `tool_use` ids were found without `tool_result` blocks immediately after: {ids}. Each `tool_use` block must have a corresponding `tool_result` block in the next message (before messages.{index}).",
    )


def reasoning_first(body: Mapping[str, Any], spec: ModelSpec) -> Violation | None:
    """R2 (Claude, thinking on): inside a tool loop the final assistant message starts with thinking.

    Documented (Anthropic, extended thinking with tool use): "pass thinking
    blocks back to the API for the last assistant message", and the error "a
    final assistant message must start with a thinking block (preceeding the
    lastmost set of tool_use and tool_result blocks)". Also documented: thinking
    blocks of earlier, non-tool-loop turns may be omitted, and servers that do
    not keep them in context (Sonnet 4 / 4.5, Opus 4.1) strip them; so this
    check never looks at earlier messages, whose blocks, when present, are still
    verified one by one (R1, R4 in `_rules`).

    Not checked, because not documented: that *earlier* assistant messages of
    the current tool session (between the last user message and the final
    assistant message) still carry their thinking. Real servers may well want
    them too (the docs ask for "the entire sequence of consecutive thinking
    blocks" unmodified), but only their alteration, not their omission, is
    documented as an error; the fake refuses alteration through the
    signature checks and accepts omission there.
    """
    thinking = body.get("thinking")
    if (
        not spec.claude_rules
        or not isinstance(thinking, Mapping)
        or thinking.get("type") == "disabled"
    ):
        return None
    messages: Sequence[Mapping[str, Any]] = body["messages"]
    if messages[-1]["role"] != "tool":
        return None
    index = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    content = messages[index].get("content")
    first = content[0].get("type") if isinstance(content, list) and content else None
    if first == "reasoning":
        return None
    found = "tool_use" if not content else "text"
    return _claude(
        "R2",
        f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. "
        "When `thinking` is enabled, a final `assistant` message must start with a thinking block "
        "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include "
        "thinking blocks from previous turns. To avoid this requirement, disable `thinking`.",
    )


def iter_markers(body: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Every cache_control marker of a request as (path, marker), in tools → system → messages order."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    for index, tool in enumerate(body.get("tools") or ()):
        if isinstance(tool, Mapping):
            function = tool.get("function")
            if isinstance(function, Mapping) and isinstance(
                function.get("cache_control"), Mapping
            ):
                found.append(
                    (f"tools.{index}.function.cache_control", function["cache_control"])
                )
            if isinstance(tool.get("cache_control"), Mapping):
                found.append((f"tools.{index}.cache_control", tool["cache_control"]))
    messages = [m for m in body.get("messages") or () if isinstance(m, Mapping)]
    ordered = [(i, m) for i, m in enumerate(messages) if m.get("role") == "system"]
    ordered += [(i, m) for i, m in enumerate(messages) if m.get("role") != "system"]
    for index, msg in ordered:
        content = msg.get("content")
        for position, part in enumerate(content if isinstance(content, list) else ()):
            if isinstance(part, Mapping) and isinstance(
                part.get("cache_control"), Mapping
            ):
                found.append(
                    (
                        f"messages.{index}.content.{position}.cache_control",
                        part["cache_control"],
                    )
                )
        for position, call in enumerate(msg.get("tool_calls") or ()):
            if isinstance(call, Mapping) and isinstance(
                call.get("cache_control"), Mapping
            ):
                found.append(
                    (
                        f"messages.{index}.tool_calls.{position}.cache_control",
                        call["cache_control"],
                    )
                )
    return found


def markers(body: Mapping[str, Any], spec: ModelSpec) -> Violation | None:
    if not spec.claude_rules:
        return None
    markers = iter_markers(body)
    if len(markers) > _MAX_BREAKPOINTS:
        return _claude(
            "R6",
            f"A maximum of {_MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {len(markers)}.",
        )
    seen_short = None
    for path, marker in markers:
        ttl = marker.get("ttl", "5m")
        if ttl == "5m" and seen_short is None:
            seen_short = path
        if ttl == "1h" and seen_short is not None:
            return _claude(
                "R8",
                f"{path}: a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block ({seen_short}). "
                "Note that blocks are processed in the following order: `tools`, `system`, `messages`.",
            )
    return None


def thought_signature(secret: bytes, call_id: str, name: str) -> str:
    """The Gemini thought signature the fake puts on its tool call `call_id`."""
    return sign(secret, "gemini-thought", f"{call_id}\x00{name}")


def step_first_id(secret: bytes, call_id: str) -> str:
    """`call_id` made self-certifying as the first call of one of the fake's Gemini answers."""
    return f"{call_id}_{sign(secret, 'gemini-step', call_id)[:8].replace('/', '_').replace('+', '-')}"


def _is_step_first(secret: bytes, call_id: str) -> bool:
    base, _, _tag = call_id.rpartition("_")
    return bool(base) and step_first_id(secret, base) == call_id


def thought_signatures(
    body: Mapping[str, Any], spec: ModelSpec, secret: bytes
) -> Violation | None:
    """R17 (Gemini 3), for the current turn (the messages after the last user message).

    Google documents that the first function call of each step carries a thought
    signature to echo. Which messages count as steps once a client splits parallel
    calls (R11) is not documented, so the fake requires: the turn's first call; every
    call it issued as the first of an answer (its id says so); and that any signature
    sent is the one issued (or Google's `skip_thought_signature_validator`).
    """
    if not spec.thought_signatures:
        return None
    messages: Sequence[Mapping[str, Any]] = body["messages"]
    starts = [i for i, m in enumerate(messages) if m["role"] == "user"]
    first_seen = False
    for index in range(starts[-1] + 1 if starts else 0, len(messages)):
        msg = messages[index]
        for position, call in enumerate(
            msg.get("tool_calls") or () if msg["role"] == "assistant" else ()
        ):
            extra = call.get("extra_content")
            google = extra.get("google") if isinstance(extra, Mapping) else None
            found = (
                google.get("thought_signature") if isinstance(google, Mapping) else None
            )
            name = str(call["function"]["name"])
            required = (not first_seen and position == 0) or _is_step_first(
                secret, call["id"]
            )
            first_seen = True
            valid = found == SKIP_THOUGHT_SIGNATURE or found == thought_signature(
                secret, call["id"], name
            )
            if valid or (found is None and not required):
                continue
            if found is None:
                text = (
                    "Function call is missing a thought_signature in functionCall parts. This is "
                    "required for tools to work correctly, and missing thought_signature may lead to "
                    f"degraded model performance. Additional data, function call `default_api:{name}` , "
                    f"position {index}."
                )
            else:
                text = f"Invalid thought_signature on function call `default_api:{name}`, position {index}."
            return Violation(rule="R17", text=text, error_code="INVALID_ARGUMENT")
    return None

"""Targets: what convo knows about one served model.

A target says which wire format an endpoint speaks, which family made it (for
reasoning provenance), how reasoning is requested, which request fields it
accepts (Databricks answers unknown fields with 400), its prompt-cache rules,
image and size limits, tool-message ordering, and whether signed reasoning
must come back in tool loops. Built-in targets are registered by
`convo.targets`; users register their own with `register_target`.
"""

from __future__ import annotations

import warnings
from typing import Literal

import attrs

from convo._check import expect_instance
from convo.errors import UnknownTargetError, UsageError

__all__ = [
    "CacheRules",
    "Deprecation",
    "ImageLimits",
    "ReasoningRules",
    "ResponsesOptions",
    "Target",
    "TargetDeprecationWarning",
    "expect_target",
    "get_target",
    "register_target",
    "registered_targets",
]


@attrs.frozen(kw_only=True)
class ReasoningRules:
    """How a target takes reasoning requests.

    - `none`: no reasoning parameters at all;
    - `budget`: `thinking: {type: enabled, budget_tokens}` (hybrid Claude);
    - `adaptive`: `thinking: {type: adaptive}` plus an effort (newer Claude);
    - `effort`: `reasoning_effort` with `efforts` as the allowed values.
    """

    style: Literal["none", "budget", "adaptive", "effort"] = "none"
    efforts: tuple[str, ...] = ()
    default_effort: str | None = None
    min_budget: int = 1024
    budget_warning_above: int | None = None
    """Budgets above this work but "may vary" (the seed says 32K for Claude)."""
    forbids_sampling_with_thinking: bool = False
    """With thinking on: no temperature or top_k, top_p only in [0.95, 1] (R14)."""


@attrs.frozen(kw_only=True)
class CacheRules:
    """Prompt caching: whether markers are taken, how many, and when they pay off."""

    supported: bool = False
    max_breakpoints: int = 4
    min_cacheable_tokens: int = 1024
    ttls: tuple[str, ...] = ("5m", "1h")


@attrs.frozen(kw_only=True)
class ImageLimits:
    """Image limits of a target (rule R18)."""

    supported: bool = True
    max_base64_bytes: int = 5 * 1024 * 1024
    max_side_px: int = 8000
    max_images: int = 100


@attrs.frozen(kw_only=True)
class ResponsesOptions:
    """Choices of the `responses` wire format that no source settles yet.

    Every field is UNCONFIRMED against a live Databricks workspace (see
    docs/responses.md, "Unconfirmed"); the defaults follow the Open Responses
    spec and OpenAI's SDK. Change them per target when a route disagrees.
    """

    send_store_false: bool = True
    """Send `store: false` (stateless replay, R1). Unconfirmed on open-responses
    and the gateway; if a route refuses the field, set False to omit it."""
    include_encrypted_reasoning: bool = True
    """Send `include: ["reasoning.encrypted_content"]` (R8). Unconfirmed whether
    open-responses needs or accepts it."""
    assistant_text_part: Literal["output_text", "input_text"] = "output_text"
    """How replayed assistant text goes (R17): `output_text` as the spec says,
    or `input_text`, as one client found open-responses requires (a conflict)."""
    reasoning_ids: Literal["keep", "omit"] = "keep"
    """Replay `rs_` ids unchanged (R9, the default) or leave them out (as
    openai-agents' `reasoning_item_id_policy="omit"`); never regenerated."""
    budget_efforts: tuple[tuple[int, str], ...] = ((2048, "low"), (8192, "medium"))
    """How a `ThinkingBudget` is sent, as `reasoning.effort` (the format has no
    budget): the effort of the first (ceiling, effort) pair whose ceiling the
    budget does not pass, else `budget_top_effort`. Unconfirmed for Claude."""
    budget_top_effort: str = "high"
    reasoning_summary: Literal["auto", "concise", "detailed"] | None = "auto"
    """`reasoning.summary` sent with an effort, so summaries stream; None omits it.
    Unconfirmed for Claude and Gemini on open-responses."""


class TargetDeprecationWarning(DeprecationWarning):
    """A built-in or registered target is retiring; the message gives the dates."""


@attrs.frozen(kw_only=True)
class Deprecation:
    """A retirement notice, warned about when the target is used."""

    note: str
    pay_per_token_retirement: str | None = None
    """ISO date from which pay-per-token workloads are retired, if announced."""
    provisioned_throughput_retirement: str | None = None
    """ISO date from which provisioned-throughput workloads are retired, if announced."""

    def warn(self, target_name: str, *, stacklevel: int = 3) -> None:
        """Emit a `TargetDeprecationWarning` naming the target and the dates."""
        dates = []
        if self.pay_per_token_retirement:
            dates.append(f"pay-per-token from {self.pay_per_token_retirement}")
        if self.provisioned_throughput_retirement:
            dates.append(
                f"provisioned throughput from {self.provisioned_throughput_retirement}"
            )
        when = f" (retired: {'; '.join(dates)})" if dates else ""
        warnings.warn(
            f"Target {target_name!r} is deprecated{when}. {self.note}",
            TargetDeprecationWarning,
            stacklevel=stacklevel,
        )


def _positive(
    _instance: object, attribute: attrs.Attribute[int], value: int | None
) -> None:
    if value is not None and (isinstance(value, bool) or value < 1):
        raise UsageError(
            f"Target.{attribute.name} must be a positive number of tokens or None",
            where=attribute.name,
            received=value,
            fix="Pass the figure from the provider's model page, or None if unknown.",
        )


@attrs.frozen(kw_only=True)
class Target:
    """One served model. See the module docstring for what each part governs."""

    name: str
    """The endpoint (model) name sent in `model` or the invocations URL."""
    wire: str = "chat"
    """The wire format (`convo.wire.wire_for`): "chat", "anthropic" or "responses"."""
    route: str | None = None
    """Which of its format's routes the target is served on, when the format has
    several (`responses`: `open-responses`, `responses`, `ai-gateway`). It picks
    the URL, and it is the signing domain of the target's reasoning: reasoning
    whose `Provenance.route` differs is foreign and dropped (RR10)."""
    provider: str = "openai"
    family: str = "generic"
    """Reasoning from one family is never sent to another (rule R4)."""
    reasoning: ReasoningRules = ReasoningRules()
    accepted_fields: frozenset[str] = frozenset()
    """Top-level request fields the endpoint takes; anything else is refused (R16)."""
    cache: CacheRules = CacheRules()
    images: ImageLimits = ImageLimits()
    max_request_bytes: int = 4 * 1024 * 1024
    requires_signatures: bool = False
    """Replayed reasoning must be signed by this family (Claude); unsigned is dropped."""
    signs_each_reasoning_part: bool = False
    """Each replayed reasoning part needs its own signature (the Messages API
    sends every part as its own `thinking` block); otherwise one signature
    closing the block suffices (Databricks chat's streamed form)."""
    prompt_tokens_exclude_cache: bool = False
    """The reported `prompt_tokens` leaves out cache reads and writes, which come
    beside it (Claude on Databricks chat completions); `count_view` adds them."""
    keeps_reasoning_in_context: bool = False
    """The server keeps earlier reasoning in context and binds it to its prefix (R5).

    False (the safe default): the server reads only the reasoning of the last
    assistant turn or tool-use session, so earlier reasoning is not part of
    what an answer was generated from (`convo.policies.prefix_digest`)."""
    reasoning_required_in_tool_loop: bool = False
    """With thinking on, the assistant turn continuing a tool loop must keep its reasoning (R2)."""
    tool_results_need_preceding_call: bool = False
    """Each tool message must directly follow the assistant message with its call (R11)."""
    rejects_empty_text: bool = False
    """No empty or whitespace-only text blocks (Claude, R12)."""
    supports_strict_tools: bool = False
    echoes_tool_call_extras: bool = True
    """Unknown fields on tool calls (thought signatures) are sent back (R17)."""
    deprecation: Deprecation | None = None
    rejected_fields: frozenset[str] = frozenset()
    """Top-level fields the endpoint answers with 400 even when passed through
    `RequestParams.extra` (R16), e.g. `parallel_tool_calls` on Claude."""
    rejected_message_fields: frozenset[str] = frozenset()
    """Message-level fields the endpoint rejects (`name` on Databricks, R16); the
    chat encoder leaves them out of every message it builds."""
    empty_assistant_content: Literal["omit", "null"] = "omit"
    """How an assistant message with tool calls and no content is sent (R12)."""
    responses: ResponsesOptions = ResponsesOptions()
    """Unconfirmed choices of the `responses` format (ignored by the others)."""
    context_window: int | None = attrs.field(default=None, validator=_positive)
    """Tokens the model takes in one request, input and output together (None:
    unknown; `convo.policies.fit` then needs the window passed explicitly)."""
    max_output_tokens: int | None = attrs.field(default=None, validator=_positive)
    """The most tokens one answer may have (None: unknown)."""


_REGISTRY: dict[str, Target] = {}


def expect_target(value: object, where: str = "target") -> Target:
    """`value` if it is a `Target`; else a `UsageError` naming `where`."""
    return expect_instance(
        value, Target, where, fix="Pass a Target, e.g. convo.get_target(name)."
    )


def register_target(target: Target, *, replace: bool = False) -> Target:
    """Register `target` under its name and return it.

    Raises:
        UsageError: `target` is not a Target, or the name is taken and
            `replace` is False.
    """
    expect_target(target)
    if target.name in _REGISTRY and not replace and _REGISTRY[target.name] != target:
        raise UsageError(
            f"A different target named {target.name!r} is registered already",
            where="target",
            fix="Pass replace=True to replace it.",
        )
    _REGISTRY[target.name] = target
    return target


def get_target(name: str) -> Target:
    """The registered target named `name`.

    Raises:
        UnknownTargetError: nothing is registered under that name.
        UsageError: `name` is not a str.
    """
    given: object = name  # checked at run time: callers are not all typed
    if not isinstance(given, str):
        raise UsageError(
            "A target name must be a str",
            where="name",
            received=f"<{type(given).__name__}>",
            fix="Pass a served model's name, e.g. 'databricks-claude-sonnet-4-5'.",
        )
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownTargetError(
            f"No target named {name!r}",
            key=name,
            fix=f"Registered targets: {known}. Register yours with register_target().",
        ) from None


def registered_targets() -> tuple[Target, ...]:
    """Every registered target, sorted by name."""
    return tuple(_REGISTRY[k] for k in sorted(_REGISTRY))

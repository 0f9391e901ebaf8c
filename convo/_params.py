"""Request parameters: what a caller asks of one request, target-neutral.

A wire format translates these per target (reasoning budget or effort, which
fields exist) and refuses what the target would reject (rules R14-R16).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import attrs

from convo._json import JSON, JSONObject, json_object
from convo.errors import InvalidContentError, UsageError

__all__ = [
    "AdaptiveThinking",
    "Effort",
    "Reasoning",
    "RequestParams",
    "ResponseFormat",
    "ThinkingBudget",
    "ToolChoice",
]


@attrs.frozen(kw_only=True)
class ThinkingBudget:
    """Extended thinking with a token budget (Claude hybrid models)."""

    budget_tokens: int


def _level(_instance: object, _attribute: object, value: str) -> None:
    given: object = value  # checked at run time: callers are not all typed
    if not isinstance(given, str) or not given.strip():
        raise UsageError(
            "An effort level must be a non-empty string",
            where="level",
            received=given,
            fix="Pass the level the target takes, e.g. Effort('high').",
        )


@attrs.frozen
class Effort:
    """A reasoning effort level (`reasoning_effort`, or adaptive Claude's effort).

    `Effort("high")` and `Effort(level="high")` are the same value.
    """

    level: str = attrs.field(validator=_level)


@attrs.frozen(kw_only=True)
class AdaptiveThinking:
    """Adaptive thinking (newer Claude models), with an optional effort."""

    effort: str | None = None


Reasoning: TypeAlias = ThinkingBudget | Effort | AdaptiveThinking


def _json(value: Mapping[str, Any] | None) -> JSONObject | None:
    return None if value is None else json_object(value, path="$.response_format")


def _extra(value: Mapping[str, Any]) -> JSONObject:
    return json_object(value, path="$.extra")


@attrs.frozen(kw_only=True)
class ResponseFormat:
    """Structured output: `text`, `json_object`, or `json_schema` with a schema."""

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema: Mapping[str, JSON] | None = attrs.field(
        default=None, converter=_json, hash=False
    )
    strict: bool | None = None


ToolChoice: TypeAlias = "Literal['auto', 'none', 'required'] | str"
"""`auto`, `none`, `required`, or the name of one tool to force."""


def _max_tokens(_instance: object, _attribute: object, value: int | None) -> None:
    if value is None or (not isinstance(value, bool) and value >= 1):
        return
    raise InvalidContentError(
        "max_tokens must be a positive integer",
        path="$.params.max_tokens",
        received=value,
        fix="Pass max_tokens=1 or more, or None to leave it unset.",
    )


@attrs.frozen(kw_only=True)
class RequestParams:
    """Parameters of one request. None means "not sent"."""

    max_tokens: int | None = attrs.field(default=None, validator=_max_tokens)
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] | None = None
    n: int | None = None
    stream: bool = False
    tool_choice: str | None = None
    response_format: ResponseFormat | None = None
    reasoning: Reasoning | None = None
    extra: Mapping[str, JSON] = attrs.field(factory=dict, converter=_extra, hash=False)
    """Fields sent verbatim at the top level: the explicit escape hatch.

    Extra fields bypass the target's field list on purpose; they are still
    refused if they collide with a field convo sets itself.
    """

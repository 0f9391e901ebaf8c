"""Tool definitions offered to the model with a request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from convo._blocks import CacheControl
from convo._json import JSON, JSONObject, check_text, json_object
from convo.errors import UsageError

__all__ = ["Tool"]


def _schema(value: Mapping[str, Any]) -> JSONObject:
    return json_object(value, path="$.parameters")


def _extra(value: Mapping[str, Any]) -> JSONObject:
    return json_object(value, path="$.extra")


def _name(_instance: object, _attribute: object, value: str) -> None:
    check_text(value, path="$.name")
    if not value or len(value) > 128:
        raise UsageError(
            "A tool name must have 1 to 128 characters",
            where="name",
            received=value,
            fix="Pass a shorter, non-empty name.",
        )


@attrs.frozen(kw_only=True)
class Tool:
    """A function the model may call: name, description and a JSON Schema."""

    name: str = attrs.field(validator=_name)
    description: str = ""
    parameters: Mapping[str, JSON] = attrs.field(
        factory=lambda: {"type": "object", "properties": {}},
        converter=_schema,
        hash=False,
    )
    """The JSON Schema of the arguments object."""
    strict: bool | None = None
    """OpenAI strict mode; sent only to targets that take it (rule R16)."""
    cache_control: CacheControl | None = None
    extra: Mapping[str, JSON] = attrs.field(factory=dict, converter=_extra, hash=False)
    """Provider fields of the tool definition, sent verbatim."""

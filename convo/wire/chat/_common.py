"""Small helpers every part of the chat wire shares: paths, errors, constants.

Invariant: every failure raised from here is a `convo.errors` class carrying
the JSON path of the offending value, so a caller can point at it.
"""

from __future__ import annotations

from typing import Any, NoReturn

from convo._blocks import CacheControl, Provenance
from convo._targets import Target
from convo.errors import DecodeError, message

__all__ = [
    "MEMO_PREFIX",
    "cache_control_json",
    "fail",
    "parse_cache_control",
    "provenance_for",
]

MEMO_PREFIX = "chat:"


def fail(
    what: str, *, where: str, received: object = ..., fix: str | None = None
) -> NoReturn:
    """Raise a `DecodeError` in the house message format."""
    raise DecodeError(
        message(what, where=where, received=received, fix=fix),
        path=where,
        errors=(f"{what} @ {where}",),
    )


def cache_control_json(cc: CacheControl) -> dict[str, Any]:
    """The wire form of a cache marker."""
    if cc.ttl is None:
        return {"type": "ephemeral"}
    return {"type": "ephemeral", "ttl": cc.ttl}


def parse_cache_control(value: object, *, where: str) -> CacheControl:
    """A cache marker from its wire form."""
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        fail('cache_control must be {"type": "ephemeral"}', where=where, received=value)
    ttl = value.get("ttl")
    if ttl not in (None, "5m", "1h") or set(value) - {"type", "ttl"}:
        fail("cache_control has an unknown ttl or key", where=where, received=value)
    return CacheControl(ttl=ttl)


def provenance_for(target: Target | None, model: str | None) -> Provenance | None:
    """Who produced reasoning decoded for `target` (rule R4).

    Without a target, the registered target named like the response's model is
    used; failing that, the family is inferred from well-known name fragments,
    and None is returned for a model convo cannot place.
    """
    if target is None and model is not None:
        from convo._targets import _REGISTRY

        target = _REGISTRY.get(model)
        if target is None:
            lowered = model.lower()
            for fragment, provider, family in _KNOWN_FAMILIES:
                if fragment in lowered:
                    return Provenance(provider=provider, family=family, model=model)
            return None
    if target is None:
        return None
    return Provenance(
        provider=target.provider, family=target.family, model=model or target.name
    )


_KNOWN_FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("claude", "anthropic", "claude"),
    ("gpt-oss", "openai", "gpt-oss"),
    ("gemini", "google", "gemini"),
    ("gpt-5", "openai", "gpt-5"),
    ("llama", "meta", "llama"),
)

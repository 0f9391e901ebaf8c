"""Who produced reasoning a route sent back (rule R4), for routes serving many families."""

from __future__ import annotations

from convo._blocks import Provenance
from convo._targets import Target

__all__ = ["provenance_for"]

_KNOWN_FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("claude", "anthropic", "claude"),
    ("gpt-oss", "openai", "gpt-oss"),
    ("gemini", "google", "gemini"),
    ("gpt-5", "openai", "gpt-5"),
    ("llama", "meta", "llama"),
)


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

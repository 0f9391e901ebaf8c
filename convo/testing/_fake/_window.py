"""The context window, as the fake endpoint enforces it (rule id `window`).

The fake counts input tokens its own way (`convo.testing._fake._cache.blocks_of`:
bytes / 4 of each block's canonical JSON), the same count its usage reports,
so a request is over the window exactly when the usage it would report says so.
Messages follow each provider's documented wording:

- Claude: "prompt is too long: N tokens > W maximum", and when the prompt fits
  but not with `max_tokens`: "input length and `max_tokens` exceed context
  limit: N + M > W, decrease input length or `max_tokens` and try again";
- OpenAI-style (GPT, GPT OSS, Llama, generic): "This model's maximum context
  length is W tokens. However, you requested N+M tokens (N in the messages, M in
  the completion). ...";
- Gemini (input limit only): "The input token count (N) exceeds the maximum
  number of tokens allowed (W)."
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convo.testing._fake._models import ModelSpec
from convo.testing._fake._violation import Violation, claude, databricks

__all__ = ["over_window", "requested_output"]


def requested_output(body: Mapping[str, Any]) -> int:
    """The answer's token cap the request asks for; 0 when it names none (the
    provider then caps the answer at what is left, so the input alone counts)."""
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def over_window(
    body: Mapping[str, Any], spec: ModelSpec, tokens: int
) -> Violation | None:
    """The 400 for a request of `tokens` input tokens over `spec`'s window, or None."""
    window = spec.context_window
    if window is None:
        return None
    output = requested_output(body)
    if spec.family == "claude":
        if tokens > window:
            return claude(
                "window", f"prompt is too long: {tokens} tokens > {window} maximum"
            )
        if tokens + output > window:
            return claude(
                "window",
                f"input length and `max_tokens` exceed context limit: {tokens} + "
                f"{output} > {window}, decrease input length or `max_tokens` and try again",
            )
        return None
    if spec.family == "gemini":
        if tokens > window:
            return databricks(
                "window",
                f"The input token count ({tokens}) exceeds the maximum number of "
                f"tokens allowed ({window}).",
            )
        return None
    if tokens + output > window:
        return databricks(
            "window",
            f"This model's maximum context length is {window} tokens. However, you "
            f"requested {tokens + output} tokens ({tokens} in the messages, {output} "
            "in the completion). Please reduce the length of the messages or completion.",
        )
    return None

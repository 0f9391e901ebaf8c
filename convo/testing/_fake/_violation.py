"""A broken provider rule as the fake endpoint reports it (the Databricks 400 envelope).

Invariant: every 400 the fake gives for a rule is built here, so the envelope
shape (`error_code`, `message`, with upstream JSON nested as a string, R22) and
the rule id in `x-fake-rule` are uniform.
"""

from __future__ import annotations

import json

import attrs

from convo.testing._fake._models import ModelSpec

__all__ = ["Violation", "claude", "databricks", "unknown_field"]


@attrs.frozen(kw_only=True)
class Violation:
    """One broken rule: its id, the service's message, and whether that message is upstream JSON."""

    rule: str
    text: str
    upstream: bool = False
    """True: the message is Anthropic's, nested as a JSON string in the Databricks envelope."""
    error_code: str = "BAD_REQUEST"

    def envelope(self, *, native: bool = False) -> dict[str, str]:
        """The Databricks error body; `native` nests Anthropic's own error object."""
        if native and self.upstream:
            inner = {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": self.text},
            }
            return {"error_code": self.error_code, "message": json.dumps(inner)}
        text = json.dumps({"message": self.text}) if self.upstream else self.text
        return {"error_code": self.error_code, "message": text}


def claude(rule: str, text: str) -> Violation:
    return Violation(rule=rule, text=text, upstream=True)


def databricks(rule: str, text: str) -> Violation:
    return Violation(rule=rule, text=text)


def unknown_field(spec: ModelSpec, path: str, rule: str = "R16") -> Violation:
    if spec.claude_rules:
        return claude(rule, f"{path}: Extra inputs are not permitted")
    name = path.rsplit(".", 1)[-1]
    return databricks(rule, f'Invalid request: json: unknown field "{name}" at {path}')

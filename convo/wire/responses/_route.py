"""Where a Responses request goes: the target's `route` picks the path.

| `Target.route`   | Databricks path                      | `model` in the body       |
|------------------|--------------------------------------|---------------------------|
| `open-responses` | `/serving-endpoints/open-responses`  | serving endpoint name     |
| `responses`      | `/serving-endpoints/responses`       | serving endpoint name     |
| `ai-gateway`     | `/ai-gateway/mlflow/v1/responses`    | service name (`system.ai.…`) |

With an OpenAI-style base URL the path is `{base}/responses`, as the `openai`
SDK posts it. Invariant: the route is a property of the target, never of the
request, so the same target always goes to the same URL.
"""

from __future__ import annotations

from typing import Final

from convo._targets import Target, expect_target
from convo._targets_responses import RESPONSES_ROUTES
from convo.errors import LookupFailedError

__all__ = ["NAME", "ROUTES", "endpoint_suffix", "route_of"]

NAME = "responses"
"""`Target.wire` of this format."""

ROUTES: Final[dict[str, str]] = {
    "open-responses": "/serving-endpoints/open-responses",
    "responses": "/serving-endpoints/responses",
    "ai-gateway": "/ai-gateway/mlflow/v1/responses",
}
"""Databricks path of each route (docs/responses.md, "Routes")."""


def route_of(target: Target) -> str:
    """The route `target` is served on.

    Raises:
        LookupFailedError: the target names no route of this format.
    """
    route = target.route
    if route is None or route not in RESPONSES_ROUTES:
        raise LookupFailedError(
            f"Target {target.name!r} speaks the responses format but names no "
            "route of it",
            key=str(route),
            received=route,
            fix=f"Set Target.route to one of {', '.join(sorted(ROUTES))}, or use "
            "convo.targets.responses_target().",
        )
    return route


def endpoint_suffix(target: Target, *, databricks: bool) -> str:
    """The path after the Databricks host, or after an OpenAI-style base URL."""
    expect_target(target)
    route = route_of(target)
    return ROUTES[route] if databricks else "/responses"

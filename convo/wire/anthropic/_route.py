"""Where a Messages API request goes.

Databricks: `{host}/serving-endpoints/anthropic/v1/messages` (the model is
named in the body). Base URL: `{base}/v1/messages`, the Anthropic SDK's
base-URL convention.
"""

from __future__ import annotations

from convo._targets import Target

__all__ = ["NAME", "endpoint_suffix"]

NAME = "anthropic"
"""`Target.wire` of this format."""


def endpoint_suffix(target: Target, *, databricks: bool) -> str:
    """The path after the Databricks host, or after an Anthropic-style base URL."""
    del target  # one route serves every Claude model
    return "/serving-endpoints/anthropic/v1/messages" if databricks else "/v1/messages"

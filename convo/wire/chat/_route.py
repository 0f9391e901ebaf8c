"""Where a chat-completions request goes.

Databricks: `{host}/serving-endpoints/{name}/invocations` (the endpoint's name
in the path, percent-encoded; `.` and `..` escaped so no URL normaliser drops
them). OpenAI-compatible base URL: `{base}/chat/completions`.
"""

from __future__ import annotations

import urllib.parse

from convo._targets import Target, expect_target

__all__ = ["NAME", "endpoint_suffix"]

NAME = "chat"
"""`Target.wire` of this format."""


def endpoint_suffix(target: Target, *, databricks: bool) -> str:
    """The path after the Databricks host, or after an OpenAI-style base URL."""
    expect_target(target)
    if not databricks:
        return "/chat/completions"
    name = urllib.parse.quote(target.name, safe="")
    if name in (".", ".."):
        name = name.replace(".", "%2E")
    return f"/serving-endpoints/{name}/invocations"

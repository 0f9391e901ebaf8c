"""Shape checks of a chat-completions request; the rest is the shared check.

The rules about targets, parameters and blocks (R6, R7, R8, R12, R14, R15,
R16, R18 limits) are checked once for every format by
`convo.wire._shared._check.check_request`, before encoding. What is left here
is what only this route refuses:
- R18: Claude on Databricks chat completions rejects an image inside a `tool`
  message (the Messages route takes it in a `tool_result`).

Invariant: checks only read; they raise only `RequestRejectedError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from convo._targets import Target
from convo.wire._shared._check import LargeThinkingBudgetWarning
from convo.wire._shared._facts import Facts
from convo.wire._shared._reject import reject

__all__ = ["LargeThinkingBudgetWarning", "check_shape"]


def check_shape(target: Target, facts: Sequence[tuple[int, Facts]]) -> None:
    """Refuse what only the chat route rejects (`facts`: the turns' notable facts).

    Raises:
        RequestRejectedError: an image in a tool message to Claude (R18).
    """
    if target.family != "claude":
        return
    for t, f in facts:
        for where, _image, place in f.images:
            if place == "tool":
                raise reject(
                    "Claude on Databricks rejects images inside a tool message",
                    rule="R18",
                    target=target,
                    path=f"$.turns[{t}].{where}",
                    fix="Send the image in a user turn after the tool results.",
                )

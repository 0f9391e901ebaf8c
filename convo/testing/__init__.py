"""Testing kit: the fake serving endpoint, Hypothesis strategies and policy laws.

- `convo.testing.fake`: the offline fake Databricks endpoint; needs nothing
  beyond convo itself (the README demo and `convo fake-server` run on it);
- `convo.testing.strategies` and `convo.testing.laws`: Hypothesis strategies and
  the laws a policy claims; they need the `testing` extra
  (`pip install 'convo[testing]'`).

The most used strategies are re-exported here and imported on first use, so
importing `convo.testing.fake` never imports Hypothesis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convo.testing.strategies import blocks, conversations, tools, turns

_STRATEGIES = frozenset({"blocks", "conversations", "tools", "turns"})


def __getattr__(name: str) -> Any:
    # The strategies import Hypothesis (the `testing` extra): import on use.
    if name in _STRATEGIES:
        return getattr(importlib.import_module("convo.testing.strategies"), name)
    msg = f"module 'convo.testing' has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = ["blocks", "conversations", "tools", "turns"]

"""Testing kit: Hypothesis strategies for convo values (`convo.testing.strategies`).

Import the strategies from `convo.testing.strategies`; the most used ones are
re-exported here.
"""

from __future__ import annotations

from convo.testing.strategies import blocks, conversations, tools, turns

__all__ = ["blocks", "conversations", "tools", "turns"]

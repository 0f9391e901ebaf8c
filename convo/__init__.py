"""convo: conversation state and multi-turn reasoning for chatbot backends.

The top level holds the values a backend works with (blocks, turns, the
conversation graph, tools, request parameters, targets). Everything else lives
in namespaces: `convo.policies`, `convo.wire.<format>`, `convo.store`,
`convo.client`, `convo.testing` and `convo.errors`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from convo._blocks import (
    Block,
    CacheControl,
    ImageBlock,
    Provenance,
    ReasoningBlock,
    ReasoningPart,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._events import (
    Finished,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageUpdate,
)
from convo._graph import Conversation, Node
from convo._ids import TurnId
from convo._params import (
    AdaptiveThinking,
    Effort,
    RequestParams,
    ResponseFormat,
    ThinkingBudget,
)
from convo._render import render_tree
from convo._targets import (
    ResponsesOptions,
    Target,
    get_target,
    register_target,
    registered_targets,
)
from convo._tools import Tool
from convo._turns import (
    FinishReason,
    MemoKey,
    PartialTurn,
    Role,
    Turn,
    Usage,
    assistant,
    system,
    tool_results,
    user,
)
from convo.errors import ConvoError

# Registers the built-in targets, so get_target("databricks-...") always works.
from convo import targets as _targets  # noqa: F401  # isort: skip

if TYPE_CHECKING:
    from convo._chat import COMPACT_PROMPT, AsyncChat, Chat, Reply, Summarizer

_LAZY = frozenset({"AsyncChat", "COMPACT_PROMPT", "Chat", "Reply", "Summarizer"})


def __getattr__(name: str) -> Any:
    # Chat pulls in the store (SQLAlchemy) and the client (httpx): import on use.
    if name in _LAZY:
        return getattr(importlib.import_module("convo._chat"), name)
    msg = f"module 'convo' has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "COMPACT_PROMPT",
    "AdaptiveThinking",
    "AsyncChat",
    "Block",
    "CacheControl",
    "Chat",
    "Conversation",
    "ConvoError",
    "Effort",
    "FinishReason",
    "Finished",
    "ImageBlock",
    "MemoKey",
    "Node",
    "PartialTurn",
    "Provenance",
    "ReasoningBlock",
    "ReasoningDelta",
    "ReasoningPart",
    "Reply",
    "RequestParams",
    "ResponseFormat",
    "ResponsesOptions",
    "Role",
    "StreamEvent",
    "Summarizer",
    "SummaryEncryptedText",
    "SummaryText",
    "Target",
    "TextBlock",
    "TextDelta",
    "ThinkingBudget",
    "Tool",
    "ToolCallBlock",
    "ToolCallDelta",
    "ToolResultBlock",
    "Turn",
    "TurnId",
    "Usage",
    "UsageUpdate",
    "assistant",
    "get_target",
    "register_target",
    "registered_targets",
    "render_tree",
    "system",
    "tool_results",
    "user",
]

"""convo: conversation state and multi-turn reasoning for chatbot backends.

The top level holds the values a backend works with (blocks, turns, the
conversation graph, tools, request parameters, targets). Everything else lives
in namespaces: `convo.policies`, `convo.wire.<format>`, `convo.store`,
`convo.client`, `convo.testing` and `convo.errors`.
"""

from __future__ import annotations

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
from convo._targets import Target, get_target, register_target, registered_targets
from convo._tools import Tool
from convo._turns import (
    FinishReason,
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

__all__ = [
    "AdaptiveThinking",
    "Block",
    "CacheControl",
    "Conversation",
    "ConvoError",
    "Effort",
    "FinishReason",
    "Finished",
    "ImageBlock",
    "Node",
    "PartialTurn",
    "Provenance",
    "ReasoningBlock",
    "ReasoningDelta",
    "ReasoningPart",
    "RequestParams",
    "ResponseFormat",
    "Role",
    "StreamEvent",
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
    "system",
    "tool_results",
    "user",
]

"""The Databricks / OpenAI-compatible chat-completions wire format.

Encode a request view into a payload (dict or canonical bytes), validate it
against its target's rules, decode a response, assemble a stream, import an
existing `messages` array, decode an error response, and split a payload for
the `openai` SDK. Importing this module registers the built-in targets
(`convo.targets`), so targets exist whenever the chat wire is used.
"""

from __future__ import annotations

import convo.targets as _targets  # noqa: F401 - registers the built-in targets
from convo.wire.chat._decode import decode_response
from convo.wire.chat._encode import (
    encode_request,
    encode_request_bytes,
    encode_turn_messages,
)
from convo.wire.chat._errors import decode_error
from convo.wire.chat._import import import_messages
from convo.wire.chat._openai import to_openai_kwargs
from convo.wire.chat._stream import StreamAssembler, StreamSnapshot, accumulate, step
from convo.wire.chat._validate import LargeThinkingBudgetWarning, validate_request

__all__ = [
    "encode_request",
    "encode_request_bytes",
    "encode_turn_messages",
    "validate_request",
    "decode_response",
    "StreamAssembler",
    "import_messages",
    "decode_error",
    "to_openai_kwargs",
    "LargeThinkingBudgetWarning",
    "StreamSnapshot",
    "accumulate",
    "step",
]

"""The Databricks / OpenAI-compatible chat-completions wire format.

Encode a request view into a payload (dict or canonical bytes), validate it
against its target's rules, decode a response, assemble a stream, import an
existing `messages` array, decode an error response, and split a payload for
the `openai` SDK. Importing this module registers the built-in targets
(`convo.targets`), so targets exist whenever the chat wire is used.

Decisions worth knowing (details in each module's docstring):
- reasoning goes back only as `reasoning` parts inside `content` (R3), byte for
  byte (R1); a tool call's unknown fields are echoed on the same call (R17);
- `stream` is sent only when true (the seed's own non-streaming bodies omit it);
  `model` is sent unless `include_model=False` (the invocations URL names it);
- `cache_control` of a tool definition goes inside `tools[i].function`;
- message-level `name` is never sent to Databricks targets (R16); on import it
  is kept in the turn's metadata (tool messages: in the result's `extra`);
- a response part of an unknown `type` is refused with `UnknownBlockTypeError`
  rather than silently dropped or textified;
- targets with `tool_results_need_preceding_call` (R11) get parallel calls split
  into assistant(A), tool(A), assistant(B), tool(B);
- the rules about targets, parameters and blocks are checked by the shared,
  format-neutral `convo.wire._shared._check` (the same ids on every route);
  this format adds its shape checks (`_validate`). Every refusal is a
  `RequestRejectedError` naming the rule; a budget above 32K warns with
  `LargeThinkingBudgetWarning`, a retiring target with
  `convo.targets.TargetDeprecationWarning`.
"""

from __future__ import annotations

import convo.targets as _targets  # noqa: F401 - registers the built-in targets
from convo.wire.chat._decode import decode_response
from convo.wire.chat._encode import (
    encode_request,
    encode_request_bytes,
    encode_turn_messages,
    validate_request,
)
from convo.wire.chat._errors import decode_error
from convo.wire.chat._import import import_messages
from convo.wire.chat._route import NAME, endpoint_suffix
from convo.wire.chat._sdk import to_openai_kwargs
from convo.wire.chat._stream import StreamAssembler
from convo.wire.chat._stream_fold import StreamSnapshot, accumulate, step
from convo.wire.chat._validate import LargeThinkingBudgetWarning

__all__ = [
    "NAME",
    "LargeThinkingBudgetWarning",
    "StreamAssembler",
    "StreamSnapshot",
    "accumulate",
    "decode_error",
    "decode_response",
    "encode_request",
    "encode_request_bytes",
    "encode_turn_messages",
    "endpoint_suffix",
    "import_messages",
    "step",
    "to_openai_kwargs",
    "validate_request",
]

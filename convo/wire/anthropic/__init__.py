"""The Anthropic Messages API wire format (also served by Databricks).

Four operations, with the same names as `convo.wire.chat`:
- encode: `encode_request`, `encode_request_bytes`, `validate_request`;
- decode: `decode_response`, `decode_error`;
- stream: `StreamAssembler` (plus `message_events` / `encode_sse` to produce a
  stream from a response, for tests and fake endpoints);
- import: `import_messages`.
`anthropic_target(target)` gives a Claude target's native Messages route.

Invariants: convo blocks map to Messages blocks and back without loss (signed
reasoning byte-exact, part order kept); the same view always encodes to the
same bytes; decoders raise only `convo.errors` classes.
"""

from __future__ import annotations

from convo.wire.anthropic._decode import decode_response
from convo.wire.anthropic._encode import (
    encode_request,
    encode_request_bytes,
    validate_request,
)
from convo.wire.anthropic._errors import decode_error
from convo.wire.anthropic._import import import_messages
from convo.wire.anthropic._route import NAME, endpoint_suffix
from convo.wire.anthropic._stream import StreamAssembler, encode_sse, message_events
from convo.wire.anthropic._targets import MESSAGES_FIELDS, anthropic_target

__all__ = [
    "MESSAGES_FIELDS",
    "NAME",
    "StreamAssembler",
    "anthropic_target",
    "decode_error",
    "decode_response",
    "encode_request",
    "encode_request_bytes",
    "encode_sse",
    "endpoint_suffix",
    "import_messages",
    "message_events",
    "validate_request",
]

"""The Responses wire format: Open Responses, OpenAI Responses, the AI Gateway.

Same operations and module roles as `convo.wire.chat` and
`convo.wire.anthropic`:
- route: `endpoint_suffix` (the target's `route` picks the path);
- encode: `encode_request`, `encode_request_bytes` (`_encode`,
  `_encode_items`); `validate_request` (`_validate`);
- decode: `decode_response` (`_decode`), `decode_error` (`_errors`);
- stream: `StreamAssembler` (`_stream`), and `response_events` / `encode_sse`
  to produce a stream from a response (`_stream_events`, for tests and the
  fake endpoint);
- import: `import_messages` (`_import`).

Decisions (docs/responses.md): stateless replay of every item unchanged
(`store: false`, `include: ["reasoning.encrypted_content"]`, `rs_` ids and
blobs as received, never regenerated); reasoning goes back only to the route
and family that issued it; item fields blocks do not model live in
`Turn.metadata["responses"]`, tied to their route; behaviours no source
confirms are `convo.ResponsesOptions` fields on the target.
"""

from __future__ import annotations

from convo.wire.responses._decode import ITEMS_KEY, decode_response
from convo.wire.responses._encode import encode_request, encode_request_bytes
from convo.wire.responses._errors import decode_error
from convo.wire.responses._import import import_messages
from convo.wire.responses._route import NAME, ROUTES, endpoint_suffix
from convo.wire.responses._stream import StreamAssembler
from convo.wire.responses._stream_events import encode_sse, response_events
from convo.wire.responses._validate import validate_request

__all__ = [
    "ITEMS_KEY",
    "NAME",
    "ROUTES",
    "StreamAssembler",
    "decode_error",
    "decode_response",
    "encode_request",
    "encode_request_bytes",
    "encode_sse",
    "endpoint_suffix",
    "import_messages",
    "response_events",
    "validate_request",
]

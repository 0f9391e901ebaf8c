"""Turn an error response of a Responses route into a typed `APIStatusError`.

Both envelopes these routes send are understood (docs/responses.md,
"Errors"): the OpenAI / Open Responses `{"error": {"message", "type",
"param", "code"}}` and the Databricks `{"error_code": ..., "message": ...}`,
whose message may nest the upstream JSON, unwrapped layer by layer (R22).
The status picks the class, as on every route. Invariant: never raises.
"""

from __future__ import annotations

from convo.wire._shared._errors import decode_error

__all__ = ["decode_error"]

"""Turn an error response of the Messages route into a typed `APIStatusError`.

The route answers with Anthropic's `{"type": "error", "error": {"type",
"message"}, "request_id"?}`, or, on Databricks, with `{"error_code",
"message"}` holding that JSON as a string (R22); both are handled once in
`convo.wire._shared._errors` (an `overloaded_error` is a `ServerError`
whatever its status); this module is the format's entry point.
"""

from __future__ import annotations

from convo.wire._shared._errors import decode_error

__all__ = ["decode_error"]

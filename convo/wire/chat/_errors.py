"""Turn an error response of a chat endpoint into a typed `APIStatusError` (R22).

Chat routes answer with the shared envelopes (Databricks `{"error_code",
"message"}` with the upstream JSON nested in `message`, OpenAI's `{"error":
{...}}`, plain `ERROR_CODE: message` text), all handled once in
`convo.wire._shared._errors`; this module is the format's entry point.
"""

from __future__ import annotations

from convo.wire._shared._errors import decode_error

__all__ = ["decode_error"]

"""A fake Databricks serving endpoint for tests, demos and offline development.

`FakeEndpoint` answers chat completions (and Claude's native Messages route) like
Databricks does, from raw JSON and independently of convo's own encoder:
deterministic answers (tool calls when a tool's subject is mentioned, summaries of
tool results, echoes otherwise; or scripted `Reply`s), Claude reasoning signed with
an HMAC it verifies on replay, GPT OSS reasoning unsigned, Gemini thought
signatures on tool calls, streaming in the Databricks SSE shape, the 400s of the
provider rules (each names its rule in the `x-fake-rule` header), simulated prompt
caching (Claude: 5-minute / 1-hour entries on an injectable clock), and injected
faults. Every request is recorded (`endpoint.requests`, credentials left out). Use it as an httpx transport (`endpoint.transport()`,
`endpoint.async_transport()`) or as a loopback HTTP server
(`with serve(endpoint) as url:`; `convo fake-server --port N`).

Example:
    endpoint = FakeEndpoint(faults=[Fault.rate_limited(retry_after=1)])
    client = httpx.Client(transport=endpoint.transport(), base_url="https://fake")
"""

from __future__ import annotations

from convo.testing._fake._app import FakeEndpoint, RawResponse, RecordedRequest
from convo.testing._fake._brain import Reply, ScriptedCall
from convo.testing._fake._faults import STREAM_ERROR_EVENT, Fault
from convo.testing._fake._models import DEFAULT_MODELS, ModelSpec, default_models
from convo.testing._fake._server import serve
from convo.testing._fake._signing import sign, verify
from convo.testing._fake._transport import AsyncFakeTransport, FakeTransport

__all__ = [
    "FakeEndpoint",
    "serve",
    "FakeTransport",
    "AsyncFakeTransport",
    "Fault",
    "STREAM_ERROR_EVENT",
    "Reply",
    "ScriptedCall",
    "ModelSpec",
    "DEFAULT_MODELS",
    "default_models",
    "RecordedRequest",
    "RawResponse",
    "sign",
    "verify",
]

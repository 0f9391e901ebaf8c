"""A fake Databricks serving endpoint for tests, demos and offline development.

`FakeEndpoint` answers like Databricks, from raw JSON and independently of convo's
own encoder (so it is an honest check of what convo sends):

- routes: `POST /serving-endpoints/{name}/invocations`,
  `POST /serving-endpoints/chat/completions` (model in the body) and
  `POST /serving-endpoints/anthropic/v1/messages` (Claude, native Messages);
- deterministic answers: tool calls when the user mentions a tool's subject, a
  summary after tool results, "You said: ..." otherwise, or scripted `ScriptedReply`s;
- reasoning: Claude's signed with an HMAC it verifies on replay (bound to its
  exact prefix on Opus 4.5, R5), GPT OSS's unsigned; Gemini thought signatures on
  tool calls (R17);
- streaming in the Databricks SSE shape (reasoning fragments, signature last,
  usage snapshot on every chunk, `data: [DONE]`);
- the 400s of the provider rules in the Databricks envelope, each naming its rule
  in the `x-fake-rule` header (R1-R8, R10-R18, `schema`);
- simulated Claude prompt caching (5-minute / 1-hour entries, injectable clock);
- injected faults (`Fault`): 429 with retry hints, 5xx/529, a dropped connection,
  a slow trickle, an error event mid-stream, malformed JSON;
- every request recorded (`endpoint.requests`), credentials left out; a bearer
  token is required (401 otherwise).

Use it as an httpx transport (`endpoint.transport()`, `endpoint.async_transport()`)
or as a loopback HTTP server (`with serve(endpoint) as url:`;
`convo fake-server --port N`).

Example:
    endpoint = FakeEndpoint(faults=[Fault.rate_limited(retry_after=1)])
    client = httpx.Client(transport=endpoint.transport(), base_url="https://fake")
"""

from __future__ import annotations

from convo.testing._fake._app import FakeEndpoint
from convo.testing._fake._brain import ScriptedCall, ScriptedReply
from convo.testing._fake._faults import STREAM_ERROR_EVENT, Fault
from convo.testing._fake._models import DEFAULT_MODELS, ModelSpec, default_models
from convo.testing._fake._raw import RawResponse, RecordedRequest
from convo.testing._fake._server import serve
from convo.testing._fake._signing import sign, verify
from convo.testing._fake._transport import AsyncFakeTransport, FakeTransport

__all__ = [
    "DEFAULT_MODELS",
    "STREAM_ERROR_EVENT",
    "AsyncFakeTransport",
    "FakeEndpoint",
    "FakeTransport",
    "Fault",
    "ModelSpec",
    "RawResponse",
    "RecordedRequest",
    "ScriptedCall",
    "ScriptedReply",
    "default_models",
    "serve",
    "sign",
    "verify",
]

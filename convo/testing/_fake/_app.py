"""The fake Databricks serving endpoint: raw HTTP request in, raw HTTP answer out.

`FakeEndpoint.handle(method, path, headers, body)` is the whole service, shared by
the httpx transports and the loopback server. Routes: `POST
/serving-endpoints/{name}/invocations`, `POST /serving-endpoints/chat/completions`
(model in the body), `POST /serving-endpoints/anthropic/v1/messages` (Claude
only, native Messages) and the Responses routes (`_responses_route`), the table
`_routes.ROUTES`. It records the request, checks the
bearer token (401), consumes an injected fault, routes the path (404/405), parses
the JSON (400), checks every provider rule (400 naming the rule in `x-fake-rule`),
accounts prompt caching, asks the deterministic model for an answer, signs its
reasoning and renders it whole or as SSE events. Invariant: the endpoint's state
(recorded requests, cache, fault queue, counters) changes only under its lock, so
concurrent requests from the threaded server are safe.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from convo.errors import UsageError
from convo.testing._fake._brain import Answer, ScriptedReply, think
from convo.testing._fake._cache import PromptCache, blocks_of
from convo.testing._fake._faults import STREAM_ERROR_EVENT, Fault
from convo.testing._fake._models import ModelSpec, default_models
from convo.testing._fake._prefix import prefix_digest
from convo.testing._fake._raw import RawResponse, RecordedRequest
from convo.testing._fake._responses import completion_tokens, usage
from convo.testing._fake._responses_route import Served, Service, ServiceCall
from convo.testing._fake._routes import Answered, Surface, route_for
from convo.testing._fake._rules import (
    Violation,
    check,
    step_first_id,
    thought_signature,
)
from convo.testing._fake._signing import sign, sign_bound
from convo.testing._fake._transport import AsyncFakeTransport, FakeTransport
from convo.testing._fake._window import over_window

__all__ = ["FakeEndpoint"]

_HIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_MAX_REQUEST_BYTES = 32 * 1024 * 1024


class FakeEndpoint:
    """A deterministic, offline Databricks serving endpoint (chat completions).

    Args:
        models: names (looked up in the built-in table) or `ModelSpec`s served.
        secret: the HMAC key reasoning signatures are made with.
        seed: varies ids deterministically.
        faults: faults applied, in order, to the next requests.
        script: scripted replies used, in order, before the heuristic model.
        clock: seconds since the epoch (cache ttls, `created`).
        sleep: how a trickle waits in the sync transport and the server.
        max_request_bytes: larger bodies get a 400 (Databricks cites 32 MiB).
    """

    def __init__(
        self,
        *,
        models: Iterable[str | ModelSpec] | None = None,
        secret: bytes = b"convo-fake-endpoint",
        seed: int = 0,
        faults: Iterable[Fault] = (),
        script: Iterable[ScriptedReply] = (),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_request_bytes: int = _MAX_REQUEST_BYTES,
    ) -> None:
        self.models: dict[str, ModelSpec] = {m.name: m for m in _specs(models)}
        self._secret = secret
        self._seed = seed
        self._clock = clock
        self.sleep = sleep
        self._max_request_bytes = max_request_bytes
        self._lock = threading.Lock()
        self._faults: list[list[Any]] = []
        self._script: list[ScriptedReply] = list(script)
        self._requests: list[RecordedRequest] = []
        self._responses: list[RawResponse] = []
        self._cache = PromptCache(clock)
        self._counter = 0
        self.inject(*faults)

    # --- public controls -----------------------------------------------------------

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Every request received so far, in order."""
        with self._lock:
            return tuple(self._requests)

    @property
    def responses(self) -> tuple[RawResponse, ...]:
        """Every answer given so far, in order (parallel to `requests`)."""
        with self._lock:
            return tuple(self._responses)

    def inject(self, *faults: Fault) -> None:
        """Queue faults for the next requests (each for `fault.times` requests)."""
        with self._lock:
            self._faults.extend([f, f.times] for f in faults if f.times > 0)

    def add_script(self, *replies: ScriptedReply) -> None:
        """Queue scripted replies used before the heuristic model."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        """Forget requests, cache entries, faults and script."""
        with self._lock:
            self._requests.clear()
            self._responses.clear()
            self._faults.clear()
            self._script.clear()
            self._cache.clear()

    def signature(self, family: str, text: str) -> str:
        """The signature this endpoint gives reasoning `text` made by `family` (for tests)."""
        return sign(self._secret, family, text)

    def transport(self) -> FakeTransport:
        """An `httpx.BaseTransport` answering from this endpoint."""
        return FakeTransport(self)

    def async_transport(self) -> AsyncFakeTransport:
        """An `httpx.AsyncBaseTransport` answering from this endpoint."""
        return AsyncFakeTransport(self)

    # --- the service ---------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> RawResponse:
        """Answer one HTTP request."""
        with self._lock:
            self._counter += 1
            rid = f"fake-req-{self._seed}-{self._counter}"
            kept = tuple((k, v) for k, v in headers if k.lower() not in _HIDDEN_HEADERS)
            self._requests.append(
                RecordedRequest(method=method, path=path, headers=kept, body=body)
            )
            response = self._answer(method, path, headers, body, rid)
            response = attrs.evolve(
                response, headers=(*response.headers, ("x-request-id", rid))
            )
            self._responses.append(response)
            return response

    def _answer(
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        rid: str,
    ) -> RawResponse:
        auth = next((v for k, v in headers if k.lower() == "authorization"), "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(
                401,
                "UNAUTHENTICATED",
                "Credential was not sent or was of an unsupported type for this API.",
            )
        fault = self._next_fault()
        if fault is not None and fault.kind == "status":
            return RawResponse(
                status=fault.status,
                headers=(("content-type", "application/json"), *fault.headers()),
                parts=(fault.error_body(),),
            )
        route = route_for(path.split("?", 1)[0])
        if route is None:
            return _error(
                404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'"
            )
        if method.upper() != "POST":
            return _error(
                405,
                "BAD_REQUEST",
                f"Method {method} is not allowed for {path}; use POST.",
            )
        if len(body) > self._max_request_bytes:
            limit = self._max_request_bytes
            text = f"The request exceeds maximum allowed content length. Limit(bytes): {limit}"
            return _error(400, "BAD_REQUEST", text, rule="R18")
        try:
            payload = json.loads(body)
        except ValueError:
            text = "Could not parse the request body as JSON."
            return _error(400, "MALFORMED_REQUEST", text, rule="schema")
        surface, name = route
        if name is None:
            name = payload.get("model") if isinstance(payload, dict) else None
        if not isinstance(name, str) or not name:
            return _error(
                400, "BAD_REQUEST", "Missing required field 'model'.", rule="schema"
            )
        if surface.service is not None:
            return self._serve(surface.service, surface, payload, name, rid, fault)
        spec = self.models.get(name)
        if spec is None or not surface.serves(spec):
            return _error(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                f"The given endpoint {name!r} does not exist, please retry after checking the specified model and version deployment exists.",
            )
        native = surface.native_errors
        if surface.translate is not None:
            translated, violation = surface.translate(payload)
            if violation is not None or translated is None:
                return _violation(
                    violation or Violation(rule="schema", text="invalid request"),
                    native=native,
                )
            payload = {**translated, "model": name}
        violation = check(payload, spec, secret=self._secret)
        if violation is not None:
            return _violation(violation, native=native)
        rid = f"{surface.id_prefix}{rid}"
        return self._complete(payload, spec, rid, fault, surface=surface)

    def _serve(
        self,
        service: Service,
        surface: Surface,
        payload: Any,
        name: str,
        rid: str,
        fault: Fault | None,
    ) -> RawResponse:
        """A surface that serves requests whole (`Surface.service`)."""
        call = ServiceCall(
            payload=payload,
            name=name,
            models=self.models,
            rid=rid,
            secret=self._secret,
            seed=self._seed,
            created=int(self._clock()),
            script=lambda: self._script.pop(0) if self._script else None,
        )
        served = service(call)
        if served is None:
            return _error(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                f"The given model {name!r} does not exist.",
            )
        if not isinstance(served, Served):
            response = _violation(served.violation)
            return attrs.evolve(response, status=served.status)
        headers = (("served-model-name", name),)
        return _deliver(
            list(served.parts), served.streaming, headers, fault, surface.error_event
        )

    def _next_fault(self) -> Fault | None:
        if not self._faults:
            return None
        head = self._faults[0]
        head[1] -= 1
        if head[1] <= 0:
            self._faults.pop(0)
        fault: Fault = head[0]
        return fault

    def _complete(
        self,
        payload: Mapping[str, Any],
        spec: ModelSpec,
        rid: str,
        fault: Fault | None,
        *,
        surface: Surface,
    ) -> RawResponse:
        thinking = payload.get("thinking")
        reasons = spec.always_reasons or (
            spec.signs_reasoning
            and isinstance(thinking, Mapping)
            and thinking.get("type") in ("enabled", "adaptive")
        )
        blocks = blocks_of(payload, model=spec.name)
        over = over_window(payload, spec, blocks[-1].tokens if blocks else 0)
        if over is not None:
            return _violation(over, native=surface.native_errors)
        script = self._script.pop(0) if self._script else None
        answer = think(
            payload, family=spec.family, reasons=reasons, seed=self._seed, script=script
        )
        if spec.thought_signatures and answer.tool_calls:
            answer = _sign_first_call(answer, self._secret)
        signature = None
        if answer.reasoning is not None and spec.binds_reasoning_to_prefix:
            prefix = prefix_digest(payload, payload["messages"])
            signature = sign_bound(self._secret, spec.family, answer.reasoning, prefix)
        elif answer.reasoning is not None and spec.signs_reasoning:
            signature = sign(self._secret, spec.family, answer.reasoning)
        cache = self._cache.account(blocks, min_tokens=spec.min_cache_tokens)
        reasoning_tokens = completion_tokens(
            attrs.evolve(answer, text=None, tool_calls=())
        )
        counted = usage(
            cache,
            completion_tokens(answer),
            family=spec.family,
            reasoning_tokens=reasoning_tokens,
        )
        created = int(self._clock())
        model = spec.upstream_model or spec.name
        headers = (("served-model-name", spec.name),)
        done = Answered(
            answer=answer,
            signature=signature,
            rid=rid,
            created=created,
            model=model,
            usage=counted,
        )
        render = surface.render
        if render is None:  # pragma: no cover - a serviced surface never gets here
            msg = "a surface without a renderer serves requests whole"
            raise RuntimeError(msg)
        rendered = render(done, payload.get("stream") is True)
        return _deliver(
            rendered.parts, rendered.streaming, headers, fault, surface.error_event
        )


def _specs(models: Iterable[str | ModelSpec] | None) -> list[ModelSpec]:
    known = {m.name: m for m in default_models()}
    if models is None:
        return list(known.values())
    chosen: list[ModelSpec] = []
    for model in models:
        if isinstance(model, ModelSpec):
            chosen.append(model)
        elif model in known:
            chosen.append(known[model])
        else:
            raise UsageError(
                f"The fake endpoint has no built-in model named {model!r}",
                fix=f"Use one of {', '.join(known)}, or pass a ModelSpec "
                "(e.g. attrs.evolve(spec, name=...)).",
            )
    return chosen


def _sign_first_call(answer: Answer, secret: bytes) -> Answer:
    """Gemini: the answer's first call gets a step-first id and its thought signature (R17)."""
    first = answer.tool_calls[0]
    call_id = step_first_id(secret, first.id)
    google = {"thought_signature": thought_signature(secret, call_id, first.name)}
    signed = attrs.evolve(
        first, id=call_id, extra={"extra_content": {"google": google}}
    )
    return attrs.evolve(answer, tool_calls=(signed, *answer.tool_calls[1:]))


def _error(
    status: int, code: str, text: str, *, rule: str | None = None
) -> RawResponse:
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
    if rule is not None:
        headers = (*headers, ("x-fake-rule", rule))
    body = json.dumps({"error_code": code, "message": text}).encode()
    return RawResponse(status=status, headers=headers, parts=(body,), rule=rule)


def _violation(violation: Violation, *, native: bool = False) -> RawResponse:
    body = json.dumps(violation.envelope(native=native)).encode()
    headers = (("content-type", "application/json"), ("x-fake-rule", violation.rule))
    return RawResponse(status=400, headers=headers, parts=(body,), rule=violation.rule)


def _deliver(
    parts: list[bytes],
    streaming: bool,
    headers: tuple[tuple[str, str], ...],
    fault: Fault | None,
    error_event: bytes,
) -> RawResponse:
    kind = "text/event-stream" if streaming else "application/json"
    all_headers = (("content-type", kind), *headers)
    if fault is None:
        return RawResponse(
            status=200, headers=all_headers, parts=tuple(parts), streaming=streaming
        )
    if fault.kind == "malformed":
        broken = (
            parts[0][: max(1, len(parts[0]) // 2)]
            if not streaming
            else b'data: {"id": "chatcmpl-broken", "choices": [\n\n'
        )
        return RawResponse(
            status=200, headers=all_headers, parts=(broken,), streaming=streaming
        )
    if fault.kind == "trickle":
        return RawResponse(
            status=200,
            headers=all_headers,
            parts=tuple(parts),
            streaming=streaming,
            delay=fault.delay,
        )
    if fault.kind == "error_event":
        head = parts[: fault.after_parts] if streaming else []
        tail = error_event
        if not streaming:
            return RawResponse(
                status=200,
                headers=all_headers,
                parts=(json.dumps(STREAM_ERROR_EVENT).encode(),),
            )
        return RawResponse(
            status=200, headers=all_headers, parts=(*head, tail), streaming=True
        )
    if fault.kind == "drop":
        if not streaming:
            whole = parts[0]
            cut = max(1, len(whole) // 2)
            return RawResponse(
                status=200,
                headers=all_headers,
                parts=(whole[:cut], whole[cut:]),
                drop_after=1,
            )
        return RawResponse(
            status=200,
            headers=all_headers,
            parts=tuple(parts),
            streaming=True,
            drop_after=fault.after_parts,
        )
    return RawResponse(
        status=200, headers=all_headers, parts=tuple(parts), streaming=streaming
    )

"""The fake endpoint's Responses routes: Open Responses, OpenAI Responses, AI Gateway.

Each route is a `RouteInfo` (`OPEN_RESPONSES`, `OPENAI_RESPONSES`,
`AI_GATEWAY`), entered in the fake's route table (`_routes.ROUTES`) as a
surface whose `service` is `service_for(info)`: these routes check their own
replay rules and render their own items, so they serve a request whole.
`respond` serves one parsed request: it finds the model the route serves (Open Responses: every model but
GPT-5, which it sends to `/serving-endpoints/responses`; OpenAI Responses:
GPT models only; the gateway: `system.ai.<name>` service names), checks the
replay rules (`_responses_rules`, each broken rule a 400 or 404 naming it in
`x-fake-rule`), asks the same deterministic model as the chat route, and
renders a response object, whole or as SSE events (with `data: [DONE]` last
on Open Responses and the gateway, as the spec requires; OpenAI Responses
ends at the terminal event).

Reasoning is returned only with `reasoning.effort` (or on reasoning-only
models), with `encrypted_content` only when `include` asks for it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from convo.testing._fake._brain import Answer, ScriptedReply, think
from convo.testing._fake._models import ModelSpec
from convo.testing._fake._responses import completion_tokens
from convo.testing._fake._responses_rules import (
    ResponsesViolation,
    call_item_id,
    chat_view,
    check_request,
    gemini_call_blob,
    reasoning_blob,
)
from convo.testing._fake._violation import Violation
from convo.wire.responses import encode_sse, response_events

__all__ = [
    "AI_GATEWAY",
    "ERROR_EVENT",
    "OPENAI_RESPONSES",
    "OPEN_RESPONSES",
    "RESPONSES_ROUTES",
    "RouteInfo",
    "Served",
    "Service",
    "ServiceCall",
    "respond",
    "serves",
    "service_for",
    "spec_for",
]


@attrs.frozen(kw_only=True)
class RouteInfo:
    """What one Responses route serves and how it ends a stream."""

    route: str
    path: str
    service_names: bool = False
    """Models are named `system.ai.<name>` (the gateway)."""
    families: frozenset[str] | None = None
    """Families served; None: all."""
    refused_families: frozenset[str] = frozenset()
    refusal: str = ""
    ends_with_done: bool = True
    """The stream ends with `data: [DONE]` (the Open Responses spec)."""


OPEN_RESPONSES = RouteInfo(
    route="open-responses",
    path="/serving-endpoints/open-responses",
    refused_families=frozenset({"gpt"}),
    refusal="Use /serving-endpoints/responses for the OpenAI model {name}.",
)
OPENAI_RESPONSES = RouteInfo(
    route="responses",
    path="/serving-endpoints/responses",
    families=frozenset({"gpt"}),
    refusal="Model {name} is not served by the OpenAI Responses API; use "
    "/serving-endpoints/open-responses.",
    ends_with_done=False,
)
AI_GATEWAY = RouteInfo(
    route="ai-gateway", path="/ai-gateway/mlflow/v1/responses", service_names=True
)
RESPONSES_ROUTES: tuple[RouteInfo, ...] = (OPEN_RESPONSES, OPENAI_RESPONSES, AI_GATEWAY)
"""The Responses routes (docs/responses.md, "Routes")."""

_GATEWAY_PREFIX = "system.ai."


@attrs.frozen(kw_only=True)
class Served:
    """A served answer: SSE event payloads (streaming) or one JSON body."""

    parts: tuple[bytes, ...]
    streaming: bool


@attrs.frozen(kw_only=True)
class ServiceCall:
    """What a route serving requests whole is given by the endpoint."""

    payload: Mapping[str, Any]
    name: str
    """The model the body names."""
    models: Mapping[str, ModelSpec]
    rid: str
    secret: bytes
    seed: int
    created: int
    script: Callable[[], ScriptedReply | None]
    """Takes the next scripted reply, if any (only once the request is served)."""


Service = Callable[[ServiceCall], "Served | ResponsesViolation | None"]
"""A route serving requests whole: None when it does not serve the model (404)."""


def spec_for(
    models: Mapping[str, ModelSpec], info: RouteInfo, name: str
) -> ModelSpec | ResponsesViolation | None:
    """The model `name` on a route; a violation when the route does not serve it."""
    if info.service_names:
        if not name.startswith(_GATEWAY_PREFIX):
            return None
        spec = models.get("databricks-" + name[len(_GATEWAY_PREFIX) :])
        return None if spec is None else attrs.evolve(spec, name=name)
    spec = models.get(name)
    if spec is None:
        return None
    if spec.family in info.refused_families or (
        info.families is not None and spec.family not in info.families
    ):
        text = info.refusal.format(name=name)
        return ResponsesViolation(violation=Violation(rule="route", text=text))
    return spec


def _reasons(payload: Mapping[str, Any], spec: ModelSpec) -> bool:
    if spec.always_reasons:
        return True
    reasoning = payload.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, Mapping) else None
    return effort not in (None, "none") and spec.family in ("claude", "gpt", "gemini")


def _ids(rid: str) -> tuple[str, str]:
    digest = hashlib.sha256(rid.encode()).hexdigest()[:40]
    return f"rs_{digest}", f"msg_{digest}"


def _output(
    answer: Answer,
    spec: ModelSpec,
    *,
    route: str,
    rid: str,
    secret: bytes,
    include_blob: bool,
) -> list[dict[str, Any]]:
    rs_id, msg_id = _ids(rid)
    output: list[dict[str, Any]] = []
    reasoned = answer.reasoning is not None
    if answer.reasoning is not None:
        item: dict[str, Any] = {
            "type": "reasoning",
            "id": rs_id,
            "summary": [{"type": "summary_text", "text": answer.reasoning}],
        }
        if include_blob:
            item["encrypted_content"] = reasoning_blob(
                secret, route, spec.family, rs_id, answer.reasoning
            )
        output.append(item)
    if answer.text is not None:
        message: dict[str, Any] = {
            "type": "message",
            "id": msg_id,
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": answer.text, "annotations": []}
            ],
        }
        if spec.family == "gpt":
            message["phase"] = "commentary" if answer.tool_calls else "final_answer"
        output.append(message)
    for call in answer.tool_calls:
        fc: dict[str, Any] = {
            "type": "function_call",
            "id": call_item_id(secret, rs_id if reasoned else None, call.id),
            "call_id": call.id,
            "name": call.name,
            "arguments": call.arguments,
            "status": "completed",
        }
        if spec.thought_signatures:
            fc["encrypted_content"] = gemini_call_blob(
                secret, route, call.id, call.name
            )
        output.append(fc)
    return output


def respond(
    payload: Mapping[str, Any],
    spec: ModelSpec,
    *,
    info: RouteInfo,
    rid: str,
    secret: bytes,
    seed: int,
    script: Callable[[], ScriptedReply | None],
    created: int,
) -> Served | ResponsesViolation:
    """Check and answer one request on a route (see the module docstring)."""
    route = info.route
    violation = check_request(payload, spec, route=route, secret=secret)
    if violation is not None:
        return violation
    view = chat_view(payload)
    answer = think(
        view,
        family=spec.family,
        reasons=_reasons(payload, spec),
        seed=seed,
        script=script(),
    )
    include = payload.get("include")
    include_blob = (
        isinstance(include, list) and "reasoning.encrypted_content" in include
    )
    output = _output(
        answer, spec, route=route, rid=rid, secret=secret, include_blob=include_blob
    )
    prompt = max(1, len(json.dumps(payload.get("input"))) // 4)
    completion = completion_tokens(answer)
    reasoning_tokens = completion_tokens(attrs.evolve(answer, text=None, tool_calls=()))
    incomplete = answer.finish_reason == "length"
    response: dict[str, Any] = {
        "id": f"resp_{rid}",
        "object": "response",
        "created_at": created,
        "status": "incomplete" if incomplete else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "error": None,
        "model": spec.upstream_model or spec.name,
        "output": output,
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": prompt + completion,
        },
    }
    if payload.get("stream") is True:
        events = response_events(response, chunk=24)
        parts = [encode_sse([event], done=False) for event in events]
        if info.ends_with_done:
            parts.append(b"data: [DONE]\n\n")
        return Served(parts=tuple(parts), streaming=True)
    return Served(parts=(json.dumps(response).encode(),), streaming=False)


ERROR_EVENT = encode_sse(
    [
        {
            "type": "error",
            "code": "server_error",
            "message": "The upstream model stopped responding.",
            "param": None,
        }
    ],
    done=False,
)
"""The event an injected mid-stream error sends on these routes."""


def service_for(info: RouteInfo) -> Service:
    """The service of route `info`: find the model, check, answer."""

    def serve(call: ServiceCall) -> Served | ResponsesViolation | None:
        spec = spec_for(call.models, info, call.name)
        if spec is None or isinstance(spec, ResponsesViolation):
            return spec
        return respond(
            call.payload,
            spec,
            info=info,
            rid=call.rid,
            secret=call.secret,
            seed=call.seed,
            script=call.script,
            created=call.created,
        )

    return serve


def serves(route: str | None, name: str, models: Mapping[str, ModelSpec]) -> bool:
    """Whether the fake, serving `models`, answers model `name` on Responses route `route`."""
    info = next((i for i in RESPONSES_ROUTES if i.route == route), None)
    return info is not None and isinstance(spec_for(models, info, name), ModelSpec)

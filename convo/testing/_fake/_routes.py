"""The fake endpoint's routes: a table of paths, each served by a `Surface`.

A `Surface` is one API shape the fake speaks: how a request in that shape
becomes the chat-completions payload the rules and the model read
(`translate`), which models it serves, how refusals are enveloped, and how an
answer is rendered whole or as SSE events. A `Route` maps a path template
(`{name}` is the endpoint's name; without it the body's `model` names it) to
its surface. Adding a route is one entry in `ROUTES`; nothing else in the fake
compares a route or a format name. A surface with a `service` (the Responses
routes) serves a parsed request whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from convo.testing._fake._anthropic import (
    ERROR_EVENT,
    message_response,
    message_stream,
    translate,
)
from convo.testing._fake._brain import Answer
from convo.testing._fake._faults import STREAM_ERROR_EVENT
from convo.testing._fake._models import ModelSpec
from convo.testing._fake._responses import completion, stream_events
from convo.testing._fake._responses_route import (
    AI_GATEWAY,
    OPEN_RESPONSES,
    OPENAI_RESPONSES,
    RouteInfo,
    Service,
    service_for,
)
from convo.testing._fake._responses_route import (
    ERROR_EVENT as RESPONSES_ERROR_EVENT,
)
from convo.testing._fake._rules import Violation

__all__ = ["CHAT", "MESSAGES", "ROUTES", "Rendered", "Route", "Surface", "route_for"]

Translate = Callable[[Any], tuple[dict[str, Any] | None, Violation | None]]


@attrs.frozen(kw_only=True)
class Rendered:
    """What an answer renders to: the body parts and whether they are SSE events."""

    parts: list[bytes]
    streaming: bool


@attrs.frozen(kw_only=True)
class Answered:
    """Everything a surface needs to render one answer."""

    answer: Answer
    signature: str | None
    rid: str
    created: int
    model: str
    usage: Mapping[str, Any]


def _chat_render(done: Answered, streaming: bool) -> Rendered:
    if streaming:
        events = stream_events(
            done.answer,
            signature=done.signature,
            rid=done.rid,
            created=done.created,
            model=done.model,
            final_usage=done.usage,
        )
        return Rendered(parts=events, streaming=True)
    body = completion(
        done.answer,
        signature=done.signature,
        rid=done.rid,
        created=done.created,
        model=done.model,
        usage=done.usage,
    )
    return Rendered(parts=[json.dumps(body).encode()], streaming=False)


def _messages_render(done: Answered, streaming: bool) -> Rendered:
    if streaming:
        events = message_stream(
            done.answer,
            signature=done.signature,
            rid=done.rid,
            model=done.model,
            usage=done.usage,
        )
        return Rendered(parts=events, streaming=True)
    whole = message_response(
        done.answer,
        signature=done.signature,
        rid=done.rid,
        model=done.model,
        usage=done.usage,
    )
    return Rendered(parts=[json.dumps(whole).encode()], streaming=False)


def _all_models(_spec: ModelSpec) -> bool:
    return True


def _claude_only(spec: ModelSpec) -> bool:
    return spec.family == "claude"


@attrs.frozen(kw_only=True)
class Surface:
    """One API shape the fake speaks."""

    id_prefix: str
    """The prefix of the ids of its responses (`chatcmpl-`, `msg_`)."""
    serves: Callable[[ModelSpec], bool]
    """Whether a model is served on this surface (else 404)."""
    translate: Translate | None
    """A request in this shape -> the chat payload the rules read (None: it is one)."""
    native_errors: bool
    """Refusals use this surface's own error envelope, not Databricks'."""
    error_event: bytes
    """The SSE event an injected mid-stream error sends."""
    render: Callable[[Answered, bool], Rendered] | None
    """An answer -> its body, whole or streamed (None: `service` renders)."""
    service: Service | None = None
    """A surface that serves requests whole (its own model names, rules and
    rendering: the Responses routes, `_responses_route`); None: the shared
    path above (translate, the provider rules, the model, `render`)."""


CHAT = Surface(
    id_prefix="chatcmpl-",
    serves=_all_models,
    translate=None,
    native_errors=False,
    error_event=f"data: {json.dumps(STREAM_ERROR_EVENT)}\n\n".encode(),
    render=_chat_render,
)
"""Databricks / OpenAI chat completions."""

MESSAGES = Surface(
    id_prefix="msg_",
    serves=_claude_only,
    translate=translate,
    native_errors=True,
    error_event=ERROR_EVENT,
    render=_messages_render,
)
"""The Anthropic Messages API (Claude only)."""


def _responses(info: RouteInfo) -> Surface:
    return Surface(
        id_prefix="resp_",
        serves=_all_models,
        translate=None,
        native_errors=False,
        error_event=RESPONSES_ERROR_EVENT,
        render=None,
        service=service_for(info),
    )


OPEN_RESPONSES_SURFACE = _responses(OPEN_RESPONSES)
"""Open Responses: Claude, Gemini and the hosted open models."""
OPENAI_RESPONSES_SURFACE = _responses(OPENAI_RESPONSES)
"""OpenAI Responses: GPT models only."""
AI_GATEWAY_SURFACE = _responses(AI_GATEWAY)
"""The Unity AI Gateway's Responses route: `system.ai.*` service names."""


@attrs.frozen(kw_only=True)
class Route:
    """A path template and the surface that serves it.

    `path` is matched exactly; a `{name}` segment matches one non-empty path
    segment, the endpoint's name (else the body's `model` names the model).
    """

    path: str
    surface: Surface

    def match(self, path: str) -> tuple[bool, str | None]:
        """(whether `path` is this route, the endpoint name it holds)."""
        head, marker, tail = self.path.partition("{name}")
        if not marker:
            return path == self.path, None
        if not (path.startswith(head) and path.endswith(tail)):
            return False, None
        name = path[len(head) : len(path) - len(tail)]
        if not name or "/" in name:
            return False, None
        return True, name


ROUTES: tuple[Route, ...] = (
    Route(path="/serving-endpoints/chat/completions", surface=CHAT),
    Route(path="/serving-endpoints/anthropic/v1/messages", surface=MESSAGES),
    Route(path="/serving-endpoints/{name}/invocations", surface=CHAT),
    Route(path=OPEN_RESPONSES.path, surface=OPEN_RESPONSES_SURFACE),
    Route(path=OPENAI_RESPONSES.path, surface=OPENAI_RESPONSES_SURFACE),
    Route(path=AI_GATEWAY.path, surface=AI_GATEWAY_SURFACE),
)
"""Every route the fake serves, first match wins."""


def route_for(
    path: str, routes: tuple[Route, ...] = ROUTES
) -> tuple[Surface, str | None] | None:
    """(surface, endpoint name or None when the body names the model), or None."""
    clean = "/" + path.strip("/")
    for route in routes:
        matched, name = route.match(clean)
        if matched:
            return route.surface, name
    return None

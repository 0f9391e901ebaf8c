"""to_openai_kwargs: the openai SDK sends exactly the payload convo built."""

from __future__ import annotations

import inspect
import json

import httpx
import openai
from openai.resources.chat.completions import Completions

from convo import RequestParams, ThinkingBudget, Tool, get_target, user
from convo.wire import chat
from convo.wire.chat._sdk import OPENAI_CREATE_FIELDS

CLAUDE = get_target("databricks-claude-sonnet-4-5")
REPLY = {
    "id": "x",
    "object": "chat.completion",
    "created": 1,
    "model": CLAUDE.name,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "ok"},
            "finish_reason": "stop",
        }
    ],
}


class TestToOpenAIKwargs:
    def test_non_openai_fields_go_to_extra_body(self):
        payload = {
            "model": "m",
            "messages": [],
            "thinking": {"type": "enabled"},
            "top_k": 3,
        }
        kwargs = chat.to_openai_kwargs(payload)
        assert kwargs == {
            "model": "m",
            "messages": [],
            "extra_body": {"thinking": {"type": "enabled"}, "top_k": 3},
        }
        assert "extra_body" not in payload

    def test_the_field_list_matches_the_installed_sdk(self):
        names = set(inspect.signature(Completions.create).parameters) - {
            "self",
            "extra_headers",
            "extra_query",
            "extra_body",
            "timeout",
        }
        assert names <= OPENAI_CREATE_FIELDS

    def test_the_sdk_sends_the_same_json(self):
        sent: list[bytes] = []

        def handler(request: httpx.Request) -> httpx.Response:
            sent.append(request.content)
            return httpx.Response(200, json=REPLY)

        client = openai.OpenAI(
            api_key="dummy",
            base_url="https://example.invalid/serving-endpoints",
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),  # type: ignore[arg-type]
        )
        payload = chat.encode_request(
            [user("Why is the sky blue?")],
            target=CLAUDE,
            params=RequestParams(
                max_tokens=4096,
                top_k=None,
                reasoning=ThinkingBudget(budget_tokens=2048),
            ),
            tools=[Tool(name="lookup", description="d")],
        )
        client.chat.completions.create(**chat.to_openai_kwargs(payload))
        assert json.loads(sent[0]) == payload

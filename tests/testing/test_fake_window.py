"""The fake endpoint enforces each model's context window with its provider's 400."""

from __future__ import annotations

from typing import Any

import attrs
import httpx

from convo.testing._fake._cache import blocks_of
from convo.testing.fake import FakeEndpoint, default_models

WINDOW = 1_000


def small(name: str) -> FakeEndpoint:
    models = [attrs.evolve(m, context_window=WINDOW) for m in default_models()]
    return FakeEndpoint(models=[m for m in models if m.name == name])


def body(name: str, chars: int, max_tokens: int) -> dict[str, Any]:
    return {
        "model": name,
        "messages": [{"role": "user", "content": "x" * chars}],
        "max_tokens": max_tokens,
    }


def post(name: str, payload: dict[str, Any]) -> httpx.Response:
    endpoint = small(name)
    with httpx.Client(
        transport=endpoint.transport(),
        base_url="https://fake.test",
        headers={"Authorization": "Bearer t"},
    ) as client:
        return client.post("/serving-endpoints/chat/completions", json=payload)


class TestWindow:
    def test_claude_refuses_a_prompt_over_the_window(self) -> None:
        response = post(
            "databricks-claude-sonnet-4-5",
            body("databricks-claude-sonnet-4-5", 5000, 10),
        )
        assert response.status_code == 400
        assert response.headers["x-fake-rule"] == "window"
        assert "prompt is too long" in response.json()["message"]

    def test_claude_refuses_a_prompt_that_fits_only_without_max_tokens(self) -> None:
        name = "databricks-claude-sonnet-4-5"
        response = post(name, body(name, 2000, 600))
        assert response.status_code == 400
        assert "exceed context limit" in response.json()["message"]

    def test_openai_style_models_name_messages_and_completion(self) -> None:
        name = "databricks-gpt-oss-120b"
        response = post(name, body(name, 2000, 600))
        assert response.status_code == 400
        message = response.json()["message"]
        assert "maximum context length is 1000 tokens" in message
        assert "in the completion" in message

    def test_gemini_counts_the_input_alone(self) -> None:
        name = "databricks-gemini-3-pro"
        assert post(name, body(name, 2000, 600)).status_code == 200
        response = post(name, body(name, 5000, 10))
        assert "input token count" in response.json()["message"]

    def test_usage_reports_the_count_the_window_is_judged_by(self) -> None:
        name = "databricks-gpt-oss-120b"
        payload = body(name, 2000, 100)
        response = post(name, payload)
        assert response.status_code == 200
        counted = blocks_of(payload, model=name)[-1].tokens
        assert response.json()["usage"]["prompt_tokens"] == counted

    def test_the_limit_is_exact_in_the_fakes_own_count(self) -> None:
        name = "databricks-gpt-oss-120b"
        tokens = blocks_of(body(name, 2000, 1), model=name)[-1].tokens
        assert post(name, body(name, 2000, WINDOW - tokens)).status_code == 200
        assert post(name, body(name, 2000, WINDOW - tokens + 1)).status_code == 400

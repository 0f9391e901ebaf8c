"""Laws of the fake endpoint over generated requests."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from convo.testing.fake import FakeEndpoint

CLAUDE = "databricks-claude-sonnet-4-5"
PATH = "/serving-endpoints/chat/completions"
NAMES = ("get_weather", "search_flights", "lookup_order", "convert_currency")

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80
).filter(lambda t: t.strip() != "")
tool_sets = st.lists(st.sampled_from(NAMES), unique=True, max_size=3)


def _tool(name: str) -> dict[str, Any]:
    props = {
        "city": {"type": "string"},
        "count": {"type": "integer"},
        "flag": {"type": "boolean"},
    }
    return {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {"type": "object", "properties": props},
        },
    }


def _post(endpoint: FakeEndpoint, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(
        transport=endpoint.transport(),
        base_url="https://f",
        headers={"Authorization": "Bearer t"},
    ) as http:
        return http.post(PATH, json=body)


def _assemble(raw: str) -> dict[str, Any]:
    reasoning: dict[str, str] = {"text": "", "signature": ""}
    text = ""
    calls: dict[int, dict[str, Any]] = {}
    usage: dict[str, Any] = {}
    finish = None
    for event in raw.split("\n\n"):
        if not event.startswith("data: {"):
            continue
        chunk = json.loads(event[len("data: ") :])
        usage = chunk["usage"]
        choice = chunk["choices"][0]
        finish = choice["finish_reason"] or finish
        content = choice["delta"].get("content")
        if isinstance(content, list):
            part = content[0]["summary"][0]
            reasoning["text"] += part["text"]
            reasoning["signature"] = part.get("signature") or reasoning["signature"]
        elif content:
            text += content
        for fragment in choice["delta"].get("tool_calls") or []:
            slot = calls.setdefault(fragment["index"], {"arguments": ""})
            slot.update({k: v for k, v in fragment.items() if k in ("id",)})
            slot["name"] = fragment.get("function", {}).get("name", slot.get("name"))
            slot["arguments"] += fragment.get("function", {}).get("arguments", "")
    return {
        "reasoning": reasoning,
        "text": text,
        "calls": [calls[i] for i in sorted(calls)],
        "usage": usage,
        "finish": finish,
    }


class TestLaws:
    @settings(max_examples=40)
    @given(text=texts, names=tool_sets, thinking=st.booleans())
    def test_a_streamed_answer_assembles_to_the_whole_answer(
        self, text: str, names: list[str], thinking: bool
    ) -> None:
        """Law: concatenating the stream's deltas gives exactly the non-streamed answer, usage included."""
        body: dict[str, Any] = {
            "model": CLAUDE,
            "max_tokens": 4000,
            "messages": [{"role": "user", "content": text}],
        }
        if names:
            body["tools"] = [_tool(n) for n in names]
        if thinking:
            body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
        whole = _post(FakeEndpoint(clock=lambda: 0.0), body).json()
        streamed = _assemble(
            _post(FakeEndpoint(clock=lambda: 0.0), {**body, "stream": True}).text
        )
        message = whole["choices"][0]["message"]
        content = message["content"]
        if thinking:
            assert content[0]["summary"][0] == {
                "type": "summary_text",
                **streamed["reasoning"],
            }
            assert content[1]["text"] == streamed["text"]
        else:
            assert (content or "") == streamed["text"]
        expected = [
            {
                "id": c["id"],
                "name": c["function"]["name"],
                "arguments": c["function"]["arguments"],
            }
            for c in message.get("tool_calls", [])
        ]
        assert streamed["calls"] == expected
        assert all(isinstance(json.loads(c["arguments"]), dict) for c in expected)
        assert streamed["usage"] == whole["usage"]
        assert streamed["finish"] == whole["choices"][0]["finish_reason"]

    @settings(max_examples=40)
    @given(
        text=texts,
        position=st.integers(min_value=0),
        replacement=st.characters(blacklist_categories=("Cs", "Cc")),
    )
    def test_any_change_to_signed_reasoning_is_refused(
        self, text: str, position: int, replacement: str
    ) -> None:
        """Law: a signed reasoning block replays only byte-identical; any changed character is a 400."""
        endpoint = FakeEndpoint(clock=lambda: 0.0)
        body: dict[str, Any] = {
            "model": CLAUDE,
            "max_tokens": 4000,
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "messages": [{"role": "user", "content": text}],
        }
        answer = _post(endpoint, body).json()["choices"][0]["message"]
        reasoning = answer["content"][0]["summary"][0]
        original = reasoning["text"]
        index = position % len(original)
        changed = original[:index] + replacement + original[index + 1 :]
        follow = {
            **body,
            "messages": [
                *body["messages"],
                answer,
                {"role": "user", "content": "more"},
            ],
        }
        assert _post(endpoint, follow).status_code == 200
        reasoning["text"] = changed
        status = _post(endpoint, follow).status_code
        assert status == (200 if changed == original else 400)

    @settings(max_examples=30)
    @given(
        turns=st.lists(
            st.tuples(texts, st.booleans(), st.integers(0, 400)), min_size=1, max_size=6
        )
    )
    def test_cache_usage_always_adds_up(
        self, turns: list[tuple[str, bool, int]]
    ) -> None:
        """Law: cache read + creation + uncached input == all input tokens; reads never exceed the last request's input."""
        now = [0.0]
        endpoint = FakeEndpoint(clock=lambda: now[0])
        system = {
            "role": "system",
            "content": [
                {
                    "type": "text",
                    "text": "Manual. " * 700,
                    "cache_control": {"type": "ephemeral"},
                }
            ],
        }
        history: list[dict[str, Any]] = []
        previous_input = 0
        for text, marked, wait in turns:
            now[0] += wait
            part: dict[str, Any] = {"type": "text", "text": text}
            if marked:
                part["cache_control"] = {"type": "ephemeral"}
            messages = [system, *history, {"role": "user", "content": [part]}]
            response = _post(
                endpoint, {"model": CLAUDE, "max_tokens": 4000, "messages": messages}
            )
            assert response.status_code == 200, response.text
            usage = response.json()["usage"]
            total_input = (
                usage["prompt_tokens"]
                + usage["cache_read_input_tokens"]
                + usage["cache_creation_input_tokens"]
            )
            assert (
                min(
                    usage["prompt_tokens"],
                    usage["cache_read_input_tokens"],
                    usage["cache_creation_input_tokens"],
                )
                >= 0
            )
            assert usage["total_tokens"] == total_input + usage["completion_tokens"]
            assert usage["cache_read_input_tokens"] <= previous_input
            previous_input = total_input
            history += [
                {"role": "user", "content": text},
                {
                    "role": "assistant",
                    "content": response.json()["choices"][0]["message"]["content"],
                },
            ]

"""Reasoning the fake endpoint signs verifies on untouched replay and nowhere else."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx

from convo.testing.fake import FakeEndpoint, sign, verify

CLAUDE = "databricks-claude-sonnet-4-5"
THINKING: dict[str, Any] = {
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "max_tokens": 4000,
}
TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def _first_turn(post: Any, **extra: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "What is the weather in Oslo?"}
    ]
    response = post(
        {"model": CLAUDE, "messages": messages, "tools": [TOOL], **THINKING, **extra}
    )
    assert response.status_code == 200, response.text
    return messages, response.json()["choices"][0]["message"]


def _continue(
    post: Any, messages: list[dict[str, Any]], answer: dict[str, Any]
) -> httpx.Response:
    follow = [*messages, answer]
    follow += [
        {"role": "tool", "tool_call_id": c["id"], "content": "3 C"}
        for c in answer["tool_calls"]
    ]
    response: httpx.Response = post(
        {"model": CLAUDE, "messages": follow, "tools": [TOOL], **THINKING}
    )
    return response


class TestSignatures:
    def test_are_deterministic_and_bound_to_text_family_and_secret(self) -> None:
        signature = sign(b"k", "claude", "text")
        assert signature == sign(b"k", "claude", "text")
        assert verify(b"k", "claude", "text", signature)
        assert not verify(b"k", "claude", "text!", signature)
        assert not verify(b"k", "gpt-oss", "text", signature)
        assert not verify(b"other", "claude", "text", signature)

    def test_the_answer_carries_a_signature_the_endpoint_made(
        self, endpoint: FakeEndpoint, post: Any
    ) -> None:
        _, answer = _first_turn(post)
        part = answer["content"][0]["summary"][0]
        assert part["signature"] == endpoint.signature("claude", part["text"])


class TestReplay:
    def test_accepts_the_untouched_answer_replayed_in_a_tool_loop(
        self, post: Any
    ) -> None:
        messages, answer = _first_turn(post)
        response = _continue(post, messages, answer)
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["finish_reason"] == "stop"

    def test_rejects_an_altered_reasoning_text(self, post: Any) -> None:
        messages, answer = _first_turn(post)
        changed = copy.deepcopy(answer)
        changed["content"][0]["summary"][0]["text"] += " (edited)"
        response = _continue(post, messages, changed)
        assert response.status_code == 400
        assert response.headers["x-fake-rule"] == "R1"
        assert (
            "Invalid `signature` in `thinking` block"
            in json.loads(response.json()["message"])["message"]
        )

    def test_rejects_an_altered_signature(self, post: Any) -> None:
        messages, answer = _first_turn(post)
        changed = copy.deepcopy(answer)
        signature = changed["content"][0]["summary"][0]["signature"]
        changed["content"][0]["summary"][0]["signature"] = (
            "A" if signature[0] != "A" else "B"
        ) + signature[1:]
        response = _continue(post, messages, changed)
        assert response.status_code == 400
        assert response.headers["x-fake-rule"] == "R1"

    def test_rejects_reasoning_signed_by_another_endpoint(
        self, clock: Any, post: Any
    ) -> None:
        other = FakeEndpoint(secret=b"another-workspace", clock=clock)
        with httpx.Client(
            transport=other.transport(),
            base_url="https://other",
            headers={"Authorization": "Bearer t"},
        ) as http:
            messages, answer = _first_turn(
                lambda b: http.post("/serving-endpoints/chat/completions", json=b)
            )
        response = _continue(post, messages, answer)
        assert response.status_code == 400
        assert response.headers["x-fake-rule"] == "R1"

    def test_rejects_reasoning_signed_for_another_family_as_foreign(
        self, endpoint: FakeEndpoint, post: Any
    ) -> None:
        text = "Borrowed thoughts."
        block = {
            "type": "reasoning",
            "summary": [
                {
                    "type": "summary_text",
                    "text": text,
                    "signature": endpoint.signature("gemini", text),
                }
            ],
        }
        messages = [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [block, {"type": "text", "text": "ok"}]},
            {"role": "user", "content": "go on"},
        ]
        response = post({"model": CLAUDE, "messages": messages, **THINKING})
        assert response.status_code == 400
        assert response.headers["x-fake-rule"] == "R4"

    def test_a_streamed_answer_replays_fragment_by_fragment(self, post: Any) -> None:
        messages = [{"role": "user", "content": "What is the weather in Oslo?"}]
        stream = post(
            {
                "model": CLAUDE,
                "messages": messages,
                "tools": [TOOL],
                "stream": True,
                **THINKING,
            }
        )
        parts: list[dict[str, Any]] = []
        calls: dict[int, dict[str, Any]] = {}
        for line in stream.text.split("\n\n"):
            if not line.startswith("data: {"):
                continue
            delta = json.loads(line[6:])["choices"][0]["delta"]
            for item in (
                delta.get("content") or []
                if isinstance(delta.get("content"), list)
                else []
            ):
                parts.extend(item["summary"])
            for fragment in delta.get("tool_calls") or []:
                slot = calls.setdefault(
                    fragment["index"],
                    {
                        "id": "",
                        "type": "function",
                        "function": {"name": "", "arguments": ""},
                    },
                )
                slot["id"] = fragment.get("id") or slot["id"]
                slot["function"]["name"] += fragment.get("function", {}).get("name", "")
                slot["function"]["arguments"] += fragment.get("function", {}).get(
                    "arguments", ""
                )
        assert parts[-1]["text"] == ""
        assert parts[-1]["signature"]
        answer = {
            "role": "assistant",
            "content": [{"type": "reasoning", "summary": parts}],
            "tool_calls": list(calls.values()),
        }
        response = _continue(post, messages, answer)
        assert response.status_code == 200, response.text

    def test_gpt_oss_reasoning_is_unsigned_and_replays_freely(self, post: Any) -> None:
        request = {
            "model": "databricks-gpt-oss-20b",
            "messages": [{"role": "user", "content": "hi"}],
        }
        answer = post(request).json()["choices"][0]["message"]
        reasoning = answer["content"][0]
        assert reasoning["type"] == "reasoning"
        assert "signature" not in reasoning["summary"][0]
        reasoning["summary"][0]["text"] = "anything at all"
        follow = {
            **request,
            "messages": [
                *request["messages"],
                answer,
                {"role": "user", "content": "more"},
            ],
        }
        assert post(follow).status_code == 200


OPUS = "databricks-claude-opus-4-5"


class TestPrefixBinding:
    """Opus 4.5 binds each thinking block to the prefix it was generated after (R5)."""

    def _chat(self, post: Any, system: str = "Be brief.") -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        for text in ("Why is the sky blue?", "And sunsets?"):
            messages.append({"role": "user", "content": text})
            response = post({"model": OPUS, "messages": messages, **THINKING})
            assert response.status_code == 200, response.text
            messages.append(response.json()["choices"][0]["message"])
        messages.append({"role": "user", "content": "Thanks!"})
        return messages

    def test_history_replayed_unchanged_is_accepted(self, post: Any) -> None:
        messages = self._chat(post)
        assert (
            post({"model": OPUS, "messages": messages, **THINKING}).status_code == 200
        )

    def test_markers_and_string_versus_list_content_do_not_count_as_changes(
        self, post: Any
    ) -> None:
        messages = self._chat(post)
        messages[0] = {
            "role": "system",
            "content": [
                {
                    "type": "text",
                    "text": "Be brief.",
                    "cache_control": {"type": "ephemeral"},
                }
            ],
        }
        messages[1] = {
            "role": "user",
            "content": [{"type": "text", "text": "Why is the sky blue?"}],
        }
        assert (
            post({"model": OPUS, "messages": messages, **THINKING}).status_code == 200
        )

    def test_dropping_earlier_reasoning_breaks_the_later_blocks_prefix(
        self, post: Any
    ) -> None:
        messages = self._chat(post)
        messages[2] = {**messages[2], "content": [messages[2]["content"][1]]}
        response = post({"model": OPUS, "messages": messages, **THINKING})
        assert response.status_code == 400
        assert response.headers["x-fake-rule"] == "R5"
        assert (
            "messages.4.content.0" in json.loads(response.json()["message"])["message"]
        )

    def test_a_changed_system_prompt_is_refused(self, post: Any) -> None:
        messages = self._chat(post)
        messages[0] = {"role": "system", "content": "Be verbose."}
        assert (
            post({"model": OPUS, "messages": messages, **THINKING}).headers[
                "x-fake-rule"
            ]
            == "R5"
        )

    def test_older_models_do_not_bind_to_the_prefix(self, post: Any) -> None:
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Why?"}]
        answer = post({"model": CLAUDE, "messages": messages, **THINKING}).json()[
            "choices"
        ][0]["message"]
        changed = [
            {"role": "user", "content": "Something else entirely"},
            answer,
            {"role": "user", "content": "ok"},
        ]
        assert (
            post({"model": CLAUDE, "messages": changed, **THINKING}).status_code == 200
        )


GEMINI = "databricks-gemini-3-pro"
GEMINI_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def body(model: str, *, messages: list[Any], tools: list[Any]) -> dict[str, Any]:
    return {"model": model, "max_tokens": 4000, "messages": messages, "tools": tools}


def call(call_id: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
    }


def result(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "3 C"}


class TestGeminiThoughtSignatures:
    def _first(self, post: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": "Weather in Oslo?"}
        ]
        answer = post(body(GEMINI, messages=messages, tools=[GEMINI_TOOL])).json()
        return messages, answer["choices"][0]["message"]

    def _replay(
        self, post: Any, messages: list[dict[str, Any]], answer: dict[str, Any]
    ) -> Any:
        follow = [*messages, answer, result(answer["tool_calls"][0]["id"])]
        return post(body(GEMINI, messages=follow, tools=[GEMINI_TOOL]))

    def test_tool_calls_carry_a_signature_that_replays(self, post: Any) -> None:
        messages, answer = self._first(post)
        assert answer["tool_calls"][0]["extra_content"]["google"]["thought_signature"]
        assert self._replay(post, messages, answer).status_code == 200

    def test_a_dropped_signature_is_a_400(self, post: Any) -> None:
        messages, answer = self._first(post)
        del answer["tool_calls"][0]["extra_content"]
        response = self._replay(post, messages, answer)
        assert response.status_code == 400
        assert response.headers["x-fake-rule"] == "R17"
        assert "missing a thought_signature" in response.json()["message"]

    def test_an_altered_signature_is_a_400(self, post: Any) -> None:
        messages, answer = self._first(post)
        answer["tool_calls"][0]["extra_content"]["google"]["thought_signature"] = (
            "forged"
        )
        assert self._replay(post, messages, answer).headers["x-fake-rule"] == "R17"

    def test_history_made_elsewhere_needs_googles_placeholder(self, post: Any) -> None:
        made_up: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [call("call_mine")],
        }
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": "Weather in Oslo?"}
        ]
        assert self._replay(post, messages, made_up).headers["x-fake-rule"] == "R17"
        made_up["tool_calls"][0]["extra_content"] = {
            "google": {"thought_signature": "skip_thought_signature_validator"}
        }
        assert self._replay(post, messages, made_up).status_code == 200

    def test_calls_of_earlier_turns_are_not_checked(self, post: Any) -> None:
        made_up: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [call("call_old")],
        }
        messages: list[Any] = [
            {"role": "user", "content": "Weather in Oslo?"},
            made_up,
            result("call_old"),
            {"role": "assistant", "content": "3 C"},
            {"role": "user", "content": "Thanks"},
        ]
        assert (
            post(body(GEMINI, messages=messages, tools=[GEMINI_TOOL])).status_code
            == 200
        )

"""The fake endpoint's simulated prompt cache: reads, writes, ttl and minimum length."""

from __future__ import annotations

from typing import Any

import pytest

CLAUDE = "databricks-claude-sonnet-4-5"
EPH: dict[str, Any] = {"type": "ephemeral"}
LONG_SYSTEM = (
    "You are a careful assistant for the product manual. " * 120
)  # about 1,500 tokens
TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "search_docs",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    },
}


def _system(text: str = LONG_SYSTEM, **marker: Any) -> dict[str, Any]:
    return {
        "role": "system",
        "content": [{"type": "text", "text": text, "cache_control": {**EPH, **marker}}],
    }


def _user(text: str, *, marked: bool) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "text", "text": text}
    if marked:
        part["cache_control"] = EPH
    return {"role": "user", "content": [part]}


class Conversation:
    """Runs a multi-turn chat, moving the rolling marker to the newest user message."""

    def __init__(
        self,
        post: Any,
        *,
        model: str = CLAUDE,
        system: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        self.post = post
        self.model = model
        self.system = system or _system()
        self.extra = extra
        self.history: list[dict[str, Any]] = []

    def say(self, text: str, **override: Any) -> dict[str, Any]:
        messages = [self.system, *self.history, _user(text, marked=True)]
        response = self.post(
            {
                "model": self.model,
                "max_tokens": 4000,
                "messages": messages,
                **self.extra,
                **override,
            }
        )
        assert response.status_code == 200, response.text
        answer = response.json()["choices"][0]["message"]
        self.history += [
            _user(text, marked=False),
            {"role": "assistant", "content": answer["content"]},
        ]
        usage: dict[str, Any] = response.json()["usage"]
        return usage


def _input(usage: dict[str, Any]) -> int:
    return int(
        usage["prompt_tokens"]
        + usage["cache_read_input_tokens"]
        + usage["cache_creation_input_tokens"]
    )


class TestPromptCache:
    def test_reads_from_the_second_request_on(self, post: Any) -> None:
        chat = Conversation(post)
        first = chat.say("What does error E42 mean?")
        second = chat.say("And E43?")
        third = chat.say("Thanks. And E44?")
        assert first["cache_read_input_tokens"] == 0
        assert first["cache_creation_input_tokens"] == _input(first)
        assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
        assert third["cache_read_input_tokens"] == _input(second)
        assert (
            second["cache_creation_input_tokens"]
            == _input(second) - second["cache_read_input_tokens"]
        )

    def test_usage_fields_add_up(self, post: Any) -> None:
        chat = Conversation(post)
        for text in ("one", "two", "three"):
            usage = chat.say(text)
            assert usage["total_tokens"] == _input(usage) + usage["completion_tokens"]
            split = usage["cache_creation"]
            assert (
                split["ephemeral_5m_input_tokens"] + split["ephemeral_1h_input_tokens"]
                == usage["cache_creation_input_tokens"]
            )

    def test_entries_expire_after_five_minutes(self, clock: Any, post: Any) -> None:
        chat = Conversation(post)
        chat.say("one")
        clock.advance(301)
        assert chat.say("two")["cache_read_input_tokens"] == 0

    def test_a_hit_refreshes_the_ttl(self, clock: Any, post: Any) -> None:
        chat = Conversation(post)
        chat.say("one")
        clock.advance(200)
        assert chat.say("two")["cache_read_input_tokens"] > 0
        clock.advance(200)
        assert chat.say("three")["cache_read_input_tokens"] > 0

    def test_one_hour_entries_survive_five_minutes(self, clock: Any, post: Any) -> None:
        chat = Conversation(post, system=_system(ttl="1h"))
        first = chat.say("one")
        assert first["cache_creation"]["ephemeral_1h_input_tokens"] > 0
        clock.advance(600)
        second = chat.say("two")
        assert (
            0 < second["cache_read_input_tokens"] < first["cache_creation_input_tokens"]
        )

    def test_prefixes_below_the_minimum_are_not_cached(self, post: Any) -> None:
        chat = Conversation(post, system=_system("Be brief."))
        assert chat.say("one")["cache_creation_input_tokens"] == 0
        assert chat.say("two")["cache_read_input_tokens"] == 0

    def test_opus_4_5_needs_4096_tokens(self, post: Any) -> None:
        chat = Conversation(post, model="databricks-claude-opus-4-5")
        assert chat.say("one")["cache_creation_input_tokens"] == 0
        big = Conversation(
            post, model="databricks-claude-opus-4-5", system=_system(LONG_SYSTEM * 3)
        )
        assert big.say("one")["cache_creation_input_tokens"] >= 4096

    def test_no_markers_no_caching(self, post: Any) -> None:
        messages = [
            {"role": "system", "content": LONG_SYSTEM},
            {"role": "user", "content": "hi"},
        ]
        for _ in range(2):
            usage = post({"model": CLAUDE, "messages": messages}).json()["usage"]
            assert (
                usage["cache_read_input_tokens"]
                == usage["cache_creation_input_tokens"]
                == 0
            )

    def test_changing_tools_invalidates_everything(self, post: Any) -> None:
        chat = Conversation(post, tools=[TOOL])
        chat.say("one")
        other = {
            "type": "function",
            "function": {**TOOL["function"], "description": "changed"},
        }
        assert chat.say("two", tools=[other])["cache_read_input_tokens"] == 0

    def test_changing_thinking_keeps_only_the_system_prefix(self, post: Any) -> None:
        chat = Conversation(post)
        first = chat.say("one")
        thinking = {"type": "enabled", "budget_tokens": 1024}
        second = chat.say("two", thinking=thinking)
        assert (
            0 < second["cache_read_input_tokens"] < first["cache_creation_input_tokens"]
        )

    @pytest.mark.parametrize(("notes", "found"), [(10, True), (25, False)])
    def test_a_read_looks_back_at_most_20_blocks_from_a_breakpoint(
        self, post: Any, notes: int, found: bool
    ) -> None:
        start = {"role": "user", "content": [{"type": "text", "text": "start"}]}
        written = post({"model": CLAUDE, "messages": [_system(), start]}).json()[
            "usage"
        ]
        parts: list[dict[str, Any]] = [
            {"type": "text", "text": f"note {i}"} for i in range(notes)
        ]
        parts[-1]["cache_control"] = EPH
        plain_system = {
            "role": "system",
            "content": [{"type": "text", "text": LONG_SYSTEM}],
        }
        grown = {"role": "user", "content": [{"type": "text", "text": "start"}, *parts]}
        usage = post({"model": CLAUDE, "messages": [plain_system, grown]}).json()[
            "usage"
        ]
        assert (
            usage["cache_read_input_tokens"] == written["cache_creation_input_tokens"]
        ) is found
        assert (usage["cache_read_input_tokens"] == 0) is not found

    @pytest.mark.parametrize(
        "model", ["databricks-gpt-oss-120b", "databricks-meta-llama-3-1-405b-instruct"]
    )
    def test_other_families_report_plain_usage(self, post: Any, model: str) -> None:
        messages = [{"role": "user", "content": "hi"}]
        usage = post({"model": model, "messages": messages}).json()["usage"]
        assert "cache_read_input_tokens" not in usage
        assert (
            usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        )

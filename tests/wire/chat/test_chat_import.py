"""Importing an existing chat-completions messages array, and the encode/import round trip."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given, settings

from convo import (
    ReasoningBlock,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    get_target,
)
from convo._targets import CacheRules
from convo.errors import DecodeError, RequestRejectedError
from convo.testing.strategies import conversations
from convo.wire import chat

GENERIC = get_target("openai-compatible")
CLAUDE = get_target("databricks-claude-sonnet-4-5")


class TestImport:
    def test_consecutive_tool_messages_become_one_tool_turn_with_strings_kept(self):
        turns = chat.import_messages(
            [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "a",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        },
                        {
                            "id": "b",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "a", "content": "A", "name": "f"},
                {
                    "role": "tool",
                    "tool_call_id": "b",
                    "content": [{"type": "text", "text": "B"}],
                },
                {"role": "assistant", "content": "done"},
            ]
        )
        assert [t.role for t in turns] == ["user", "assistant", "tool", "assistant"]
        assert turns[2].blocks == (
            ToolResultBlock(call_id="a", content="A", extra={"name": "f"}),
            ToolResultBlock(call_id="b", content=(TextBlock(text="B"),)),
        )

    def test_message_level_fields_are_kept_in_metadata(self):
        (turn,) = chat.import_messages(
            [{"role": "user", "content": "hi", "name": "ann"}]
        )
        assert turn.metadata == {"chat.message": {"name": "ann"}}

    def test_a_developer_message_is_a_system_turn(self):
        (turn,) = chat.import_messages([{"role": "developer", "content": "rules"}])
        assert (turn.role, turn.metadata) == ("system", {"chat.role": "developer"})

    def test_reasoning_is_imported_byte_for_byte_with_the_targets_provenance(self):
        messages = [
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "reasoning",
                        "summary": [
                            {
                                "type": "summary_text",
                                "text": " a\u2028",
                                "signature": "",
                            }
                        ],
                    },
                    {"type": "text", "text": "b"},
                ],
            },
        ]
        turns = chat.import_messages(messages, target=CLAUDE)  # type: ignore[arg-type]
        block = turns[1].blocks[0]
        assert isinstance(block, ReasoningBlock)
        assert block.parts == (SummaryText(text=" a\u2028", signature=""),)
        assert block.provenance is not None
        assert block.provenance.family == "claude"

    @pytest.mark.parametrize(
        "messages",
        [
            "not a list",
            [{"role": "function", "content": "x"}],
            [{"role": "user", "content": 5}],
            [{"role": "tool", "content": "x"}],
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
                    ],
                }
            ],
            [{"role": "user", "content": "a\x00b"}],
        ],
    )
    def test_what_convo_cannot_hold_is_a_decode_error(self, messages: Any):
        with pytest.raises(DecodeError):
            chat.import_messages(messages)


# -- the round trip ------------------------------------------------------------------

_TEXT_KEYS = {"type", "text", "cache_control"}
_REASONING_KEYS = {"type", "summary", "cache_control"}
_CALL_KEYS = {"id", "type", "function", "index", "cache_control"}
_TOOL_KEYS = {"role", "tool_call_id", "content"}


def _clean(extra: Any, known: set[str]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if k not in known}


def expected_block(block: Any) -> Any:
    """What survives the wire: no provenance, error flags or result-level markers."""
    if isinstance(block, TextBlock):
        return attrs.evolve(block, extra=_clean(block.extra, _TEXT_KEYS))
    if isinstance(block, ReasoningBlock):
        return attrs.evolve(
            block, provenance=None, extra=_clean(block.extra, _REASONING_KEYS)
        )
    if isinstance(block, ToolCallBlock):
        return attrs.evolve(block, extra=_clean(block.extra, _CALL_KEYS))
    if isinstance(block, ToolResultBlock):
        content = block.content
        if not isinstance(content, str):
            content = tuple(expected_block(b) for b in content)
        return attrs.evolve(
            block,
            content=content,
            is_error=False,
            synthetic=False,
            extra=_clean(block.extra, _TOOL_KEYS),
        )
    return block


def flatten(turns: Any) -> list[tuple[str, tuple[Any, ...]]]:
    """(role, blocks) with consecutive tool turns merged and an assistant's lone empty text dropped."""
    out: list[tuple[str, tuple[Any, ...]]] = []
    for turn in turns:
        blocks = tuple(expected_block(b) for b in turn.blocks)
        if turn.role == "assistant":
            # The chat format carries content first and tool_calls after it.
            body = [b for b in blocks if not isinstance(b, ToolCallBlock)]
            calls = [b for b in blocks if isinstance(b, ToolCallBlock)]
            if (
                len(body) == 1
                and isinstance(body[0], TextBlock)
                and body[0].text == ""
                and not body[0].extra
            ):
                body = []
            blocks = (*body, *calls)
        if turn.role == "tool" and out and out[-1][0] == "tool":
            out[-1] = ("tool", out[-1][1] + blocks)
        else:
            out.append((turn.role, blocks))
    return out


class TestRoundTrip:
    @settings(max_examples=60)
    @given(conversations(max_turns=12, images=True))
    def test_import_of_encode_preserves_every_block_and_reasoning_bytes(self, conv):
        """import_messages(encode_request(view)["messages"]) == view, block for block."""
        turns = conv.path()
        messages = chat.encode_request(turns, target=GENERIC)["messages"]
        back = chat.import_messages(messages)
        assert flatten(back) == flatten(turns)
        for before, after in zip(
            [b for t in turns for b in t.reasoning],
            [b for t in back for b in t.reasoning],
            strict=True,
        ):
            assert before.parts == after.parts

    @settings(max_examples=30)
    @given(conversations(max_turns=10, cache_control=True))
    def test_markers_survive_the_round_trip_on_the_block_that_carries_them(self, conv):
        """Cache markers of text, reasoning and tool-call blocks come back where they were."""
        turns = conv.path()
        target = attrs.evolve(
            GENERIC,
            name="generic-caching",
            cache=CacheRules(supported=True, max_breakpoints=10_000),
        )
        rule: str | None = None
        try:
            messages = chat.encode_request(turns, target=target)["messages"]
        except RequestRejectedError as error:
            rule = error.rule
        if rule is not None:
            # markers on reasoning or empty text (R7), a shorter ttl first (R8)
            assert rule in ("R7", "R8")
            return
        back = chat.import_messages(messages)

        def marks(ts: Any) -> list[Any]:
            return [
                b.cache_control
                for t in ts
                for b in sorted(t.blocks, key=lambda b: isinstance(b, ToolCallBlock))
                if not isinstance(b, ToolResultBlock) and b.cache_control is not None
            ]

        assert marks(back) == marks(turns)

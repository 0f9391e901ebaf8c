"""Stream assembly: SSE bytes or chunks in, events out, one turn at the end."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convo import (
    PartialTurn,
    ReasoningBlock,
    ReasoningDelta,
    SummaryEncryptedText,
    SummaryText,
    TextDelta,
    ToolCallBlock,
    ToolCallDelta,
    Turn,
    Usage,
    UsageUpdate,
    get_target,
)
from convo.errors import ConvoError, DecodeError, ResponseTooLargeError, StreamError
from convo.wire import chat
from convo.wire.chat import StreamSnapshot, accumulate
from tests.wire._outcome import outcome

CLAUDE = get_target("databricks-claude-sonnet-4-5")
MODEL = CLAUDE.name


def chunk(
    delta: dict[str, Any] | None = None, *, finish: str | None = None, **top: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": MODEL,
    }
    body["choices"] = (
        [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    )
    body.update(top)
    return body


def sse(
    chunks: list[dict[str, Any]], *, newline: bytes = b"\n", done: bool = True
) -> bytes:
    out = b"".join(
        b"data: " + json.dumps(c).encode() + newline + newline for c in chunks
    )
    return out + (b"data: [DONE]" + newline + newline if done else b"")


def reasoning_delta(text: str, signature: str | None = "") -> dict[str, Any]:
    part: dict[str, Any] = {"type": "summary_text", "text": text}
    if signature is not None:
        part["signature"] = signature
    return {"content": [{"type": "reasoning", "summary": [part]}]}


# -- a response generator and its streamed form (test-local strategies) --------

texts = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12
)
sigs = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=", min_size=1, max_size=16)


@st.composite
def reasoning_items(draw: st.DrawFn) -> dict[str, Any]:
    """A reasoning part list a stream can express: unsigned parts only last or before encrypted."""
    parts: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                [
                    "signed",
                    "signature-only",
                    "encrypted",
                    "unsigned",
                    "unsigned-empty-sig",
                ]
            )
        )
        if kind == "signed":
            parts.append(
                {"type": "summary_text", "text": draw(texts), "signature": draw(sigs)}
            )
        elif kind == "signature-only":
            parts.append({"type": "summary_text", "text": "", "signature": draw(sigs)})
        elif kind == "encrypted":
            parts.append({"type": "summary_encrypted_text", "data": draw(sigs)})
        else:
            part = {"type": "summary_text", "text": draw(texts)}
            if kind == "unsigned-empty-sig":
                part["signature"] = ""
            parts.append(part)
            if draw(st.booleans()):
                parts.append({"type": "summary_encrypted_text", "data": draw(sigs)})
            break
    return {"type": "reasoning", "summary": parts}


@st.composite
def responses(draw: st.DrawFn) -> dict[str, Any]:
    """Non-streamed responses whose content kinds alternate (reasoning, text, ...)."""
    content: list[dict[str, Any]] = []
    kind = draw(st.sampled_from(["reasoning", "text"]))
    for _ in range(draw(st.integers(0, 4))):
        content.append(
            draw(reasoning_items())
            if kind == "reasoning"
            else {"type": "text", "text": draw(texts)}
        )
        kind = "text" if kind == "reasoning" else "reasoning"
    calls = []
    for i in range(draw(st.integers(0, 3))):
        args = draw(
            st.sampled_from(
                ["", "{}", '{"city":"Oslo"}', '{"a": [1, {"b": null}], "c": "\\u00e9"}']
            )
        )
        call: dict[str, Any] = {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": f"tool{i}", "arguments": args},
        }
        if draw(st.booleans()):
            call["extra_content"] = {"google": {"thought_signature": draw(sigs)}}
        calls.append(call)
    message: dict[str, Any] = {"role": "assistant"}
    if len(content) == 1 and content[0]["type"] == "text" and draw(st.booleans()):
        message["content"] = content[0]["text"]
    else:
        message["content"] = content or None
    if calls:
        message["tool_calls"] = calls
    finish = draw(
        st.sampled_from(
            ["stop", "tool_calls", "length", "end_turn", "pause_turn", "brand_new"]
        )
    )
    body: dict[str, Any] = {
        "id": "r",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    if draw(st.booleans()):
        body["usage"] = {
            "prompt_tokens": draw(st.integers(0, 99)),
            "completion_tokens": 3,
            "total_tokens": 9,
            "cache_read_input_tokens": draw(st.integers(0, 9)),
        }
    return body


def pieces(draw: st.DrawFn, text: str) -> list[str]:
    if len(text) <= 1:
        return [text]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(text) - 1), max_size=3))))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def streamed(draw: st.DrawFn, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks a server could send for `body`, fragmented arbitrarily."""
    message = body["choices"][0]["message"]
    content = message.get("content")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    out: list[dict[str, Any]] = []
    snapshot = {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}
    for item in content or []:
        if item["type"] == "text":
            for frag in pieces(draw, item["text"]):
                delta: Any = (
                    frag if draw(st.booleans()) else [{"type": "text", "text": frag}]
                )
                out.append(chunk({"content": delta}))
            continue
        for part in item["summary"]:
            if part["type"] == "summary_encrypted_text":
                out.append(
                    chunk({"content": [{"type": "reasoning", "summary": [part]}]})
                )
                continue
            signature = part.get("signature")
            frags = pieces(draw, part["text"]) if part["text"] else []
            for frag in frags:
                out.append(
                    chunk(reasoning_delta(frag, None if signature is None else ""))
                )
            if signature or not frags:
                out.append(chunk(reasoning_delta("", signature)))
    for index, call in enumerate(message.get("tool_calls", [])):
        first = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        first.update(
            {k: v for k, v in call.items() if k not in ("id", "type", "function")}
        )
        out.append(chunk({"tool_calls": [first]}))
        for frag in (
            pieces(draw, call["function"]["arguments"])
            if call["function"]["arguments"]
            else []
        ):
            out.append(
                chunk(
                    {"tool_calls": [{"index": index, "function": {"arguments": frag}}]}
                )
            )
    if draw(st.booleans()):
        out.append(chunk(None))
    final = chunk({}, finish=body["choices"][0]["finish_reason"])
    usage = body.get("usage")
    if usage is not None and draw(st.booleans()):
        out.append(final)
        out.append(chunk(None, usage=usage))
    else:
        if usage is not None:
            final["usage"] = usage
        out.append(final)
    for c in out[:-1]:
        if usage is not None and "usage" not in c and draw(st.booleans()):
            c["usage"] = snapshot
    return out


@st.composite
def response_and_stream(draw: st.DrawFn) -> tuple[dict[str, Any], bytes]:
    body = draw(responses())
    chunks = draw(streamed(body))
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    return body, sse(chunks, newline=newline)


def assemble(data: bytes, cuts: list[int]) -> Turn | PartialTurn:
    assembler = chat.StreamAssembler(target=CLAUDE)
    bounds = [0, *sorted(cuts), len(data)]
    for a, b in itertools.pairwise(bounds):
        assembler.feed(data[a:b])
    return outcome(assembler)


# -- unit behaviour --------------------------------------------------------------


class TestReasoningFragments:
    def test_fragments_concatenate_and_the_signature_only_part_closes_them_rule_r21(
        self,
    ):
        assembler = chat.StreamAssembler(target=CLAUDE)
        events = []
        for delta in (
            reasoning_delta("Distance "),
            reasoning_delta("80 km/h."),
            reasoning_delta("", "SIG"),
        ):
            events += assembler.feed_chunk(chunk(delta))
        events += assembler.feed_chunk(chunk({"content": "Answer"}, finish="stop"))
        turn = outcome(assembler)
        assert isinstance(turn, Turn)
        assert turn.reasoning[0].parts == (
            SummaryText(text="Distance 80 km/h.", signature="SIG"),
        )
        assert events[-2] == ReasoningDelta(text="", signature="SIG")
        assert events[-1] == TextDelta(text="Answer")

    def test_signature_only_parts_of_the_omitted_display_mode_survive_rule_r1(self):
        assembler = chat.StreamAssembler()
        assembler.feed_chunk(chunk(reasoning_delta("", "S1")))
        assembler.feed_chunk(chunk(reasoning_delta("", "S2")))
        assembler.feed_chunk(chunk({"content": "x"}, finish="stop"))
        turn = outcome(assembler)
        assert isinstance(turn, Turn)
        assert turn.reasoning[0].parts == (
            SummaryText(text="", signature="S1"),
            SummaryText(text="", signature="S2"),
        )

    def test_an_encrypted_part_arrives_whole(self):
        assembler = chat.StreamAssembler()
        events = assembler.feed_chunk(
            chunk(
                {
                    "content": [
                        {
                            "type": "reasoning",
                            "summary": [
                                {"type": "summary_encrypted_text", "data": "E"}
                            ],
                        }
                    ]
                }
            )
        )
        assembler.feed_chunk(chunk({}, finish="stop"))
        assert events == [ReasoningDelta(text="", encrypted="E")]
        turn = outcome(assembler)
        assert isinstance(turn, Turn)
        assert turn.reasoning[0].parts == (SummaryEncryptedText(data="E"),)


class TestToolCallFragments:
    def test_fragments_by_index_with_id_and_name_on_the_first(self):
        assembler = chat.StreamAssembler()
        events = assembler.feed_chunk(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "A",
                            "type": "function",
                            "function": {"name": "f", "arguments": ""},
                        }
                    ]
                }
            )
        )
        assembler.feed_chunk(
            chunk({"tool_calls": [{"index": 1, "id": "B", "function": {"name": "g"}}]})
        )
        assembler.feed_chunk(
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]})
        )
        assembler.feed_chunk(
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]})
        )
        assembler.feed_chunk(chunk({}, finish="tool_calls"))
        turn = outcome(assembler)
        assert isinstance(turn, Turn)
        assert turn.tool_calls == (
            ToolCallBlock(id="A", name="f", arguments='{"city":"Oslo"}'),
            ToolCallBlock(id="B", name="g", arguments="{}"),
        )
        assert events == [ToolCallDelta(index=0, id="A", name="f", arguments="")]

    @pytest.mark.parametrize(
        "fragments",
        [
            ['{"city":', '"Oslo"}', "{}"],
            ["{}", '{"city":', '"Oslo"}'],
            ['{"city":"Oslo"}', "{}"],
        ],
    )
    def test_a_stray_empty_object_fragment_does_not_corrupt_the_arguments(
        self, fragments
    ):
        assembler = chat.StreamAssembler()
        assembler.feed_chunk(
            chunk({"tool_calls": [{"index": 0, "id": "A", "function": {"name": "f"}}]})
        )
        for frag in fragments:
            assembler.feed_chunk(
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]})
            )
        assembler.feed_chunk(chunk({}, finish="tool_calls"))
        turn = outcome(assembler)
        assert isinstance(turn, Turn)
        assert turn.tool_calls[0].arguments == '{"city":"Oslo"}'

    def test_an_empty_object_inside_real_arguments_is_kept(self):
        assembler = chat.StreamAssembler()
        assembler.feed_chunk(
            chunk({"tool_calls": [{"index": 0, "id": "A", "function": {"name": "f"}}]})
        )
        for frag in ('{"a":', "{}", "}"):
            assembler.feed_chunk(
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]})
            )
        assembler.feed_chunk(chunk({}, finish="tool_calls"))
        turn = outcome(assembler)
        assert isinstance(turn, Turn)
        assert turn.tool_calls[0].arguments == '{"a":{}}'

    def test_a_cut_call_is_listed_as_missing_its_arguments(self):
        assembler = chat.StreamAssembler()
        assembler.feed_chunk(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "A",
                            "function": {"name": "f", "arguments": '{"ci'},
                        }
                    ]
                }
            )
        )
        partial = outcome(assembler)
        assert isinstance(partial, PartialTurn)
        assert partial.missing == ("finish_reason", "tool_call:A arguments")
        assert partial.salvage().tool_calls == ()


class TestUsageAndChunks:
    def test_usage_is_the_last_snapshot_never_a_sum_rule_r20(self):
        assembler = chat.StreamAssembler()
        events = []
        for n in (5, 10, 20):
            events += assembler.feed_chunk(
                chunk(
                    {"content": "x"},
                    usage={
                        "prompt_tokens": 7,
                        "completion_tokens": n,
                        "total_tokens": 7 + n,
                    },
                )
            )
        assembler.feed_chunk(chunk({}, finish="stop"))
        turn = outcome(assembler)
        assert isinstance(turn, Turn)
        assert turn.usage == Usage(
            prompt_tokens=7, completion_tokens=20, total_tokens=27
        )
        assert sum(isinstance(e, UsageUpdate) for e in events) == 3

    def test_a_usage_only_chunk_with_empty_choices_after_the_finish(self):
        assembler = chat.StreamAssembler()
        assembler.feed(
            sse(
                [
                    chunk({"content": "hi"}, finish="stop"),
                    chunk(None, usage={"prompt_tokens": 1}),
                ]
            )
        )
        turn = outcome(assembler)
        assert isinstance(turn, Turn)
        assert turn.usage == Usage(prompt_tokens=1)

    def test_comments_keep_alives_and_crlf_are_understood(self):
        data = b": keep-alive\r\n\r\n" + sse(
            [chunk({"content": "hi"}, finish="stop")], newline=b"\r\n"
        )
        assert assemble(data, [len(data) // 2]) == assemble(data, [])
        assert assemble(data, []).text == "hi"  # type: ignore[union-attr]

    def test_the_fold_is_pure(self):
        start = StreamSnapshot()
        one = accumulate(start, chunk({"content": "a"}))
        two = accumulate(one, chunk({"content": "b"}))
        assert start == StreamSnapshot()
        assert accumulate(one, chunk({"content": "b"})) == two


class TestEndings:
    def test_a_stream_without_finish_is_a_partial_turn_never_a_turn(self):
        assembler = chat.StreamAssembler()
        assembler.feed(sse([chunk({"content": "hel"})], done=True))
        partial = outcome(assembler)
        assert isinstance(partial, PartialTurn)
        assert partial.missing[0] == "finish_reason"
        assert partial.turn.text == "hel"

    def test_an_unsigned_reasoning_part_at_the_cut_is_reported(self):
        assembler = chat.StreamAssembler()
        assembler.feed_chunk(chunk(reasoning_delta("thinking")))
        partial = outcome(assembler)
        assert isinstance(partial, PartialTurn)
        assert "reasoning signature" in partial.missing

    def test_an_error_payload_mid_stream_raises_with_the_partial(self):
        assembler = chat.StreamAssembler()
        assembler.feed(sse([chunk({"content": "par"})], done=False))
        error_body = {
            "error_code": "INTERNAL_ERROR",
            "message": json.dumps(
                {
                    "type": "error",
                    "error": {"type": "overloaded_error", "message": "Overloaded"},
                }
            ),
        }
        with pytest.raises(StreamError) as info:
            assembler.feed(b"data: " + json.dumps(error_body).encode() + b"\n\n")
        assert isinstance(info.value.partial, PartialTurn)
        assert info.value.partial.turn.text == "par"
        assert "Overloaded" in info.value.message

    def test_an_openai_style_error_mid_stream_raises(self):
        assembler = chat.StreamAssembler()
        with pytest.raises(StreamError):
            assembler.feed_chunk({"error": {"message": "boom", "type": "server_error"}})

    def test_a_too_long_line_is_refused(self):
        assembler = chat.StreamAssembler(max_line_bytes=100)
        with pytest.raises(ResponseTooLargeError):
            assembler.feed(b"data: " + b"x" * 200)

    def test_too_many_events_are_refused(self):
        assembler = chat.StreamAssembler(max_events=2)
        with pytest.raises(ResponseTooLargeError):
            assembler.feed(sse([chunk({"content": "a"})] * 3))

    def test_deep_nesting_in_a_chunk_is_refused(self):
        assembler = chat.StreamAssembler(max_depth=10)
        with pytest.raises(DecodeError):
            assembler.feed(b"data: " + b"[" * 50 + b"]" * 50 + b"\n\n")


# -- laws --------------------------------------------------------------------------


class TestStreamLaws:
    @settings(max_examples=60)
    @given(response_and_stream(), st.data())
    def test_any_chunking_at_any_byte_gives_the_non_streamed_turn(self, pair, data):
        """assemble(split(sse(response))) == decode_response(response), for every split."""
        body, stream = pair
        cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
        expected = chat.decode_response(body, target=CLAUDE)
        assert assemble(stream, cuts) == expected

    @settings(max_examples=60)
    @given(response_and_stream(), st.data())
    def test_a_stream_cut_anywhere_is_a_prefix_or_a_typed_error(self, pair, data):
        """A cut stream yields a PartialTurn whose text prefixes the full text (or a typed error)."""
        body, stream = pair
        cut = data.draw(st.integers(0, len(stream)))
        full = chat.decode_response(body, target=CLAUDE)
        try:
            result = assemble(stream[:cut], [])
        except ConvoError:
            return
        if isinstance(result, PartialTurn):
            assert full.text.startswith(result.turn.text)
            assert all(
                isinstance(b, ReasoningBlock)
                or b in full.blocks
                or not isinstance(b, ToolCallBlock)
                for b in result.salvage().blocks
            )
        else:
            assert result.blocks == full.blocks
            assert result.finish_reason_raw == full.finish_reason_raw

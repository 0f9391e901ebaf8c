"""Laws of the responses wire, over generated response objects.

- RR2: an answer decoded from a response goes back, on its own route, as
  exactly the output items it came as (ids, blobs, summaries, phase, status,
  annotations, Gemini call signatures);
- a stream of the response, cut anywhere, assembles to the decoded turn;
- encoding is deterministic: the bytes are the canonical form of the payload.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from convo._blocks import TextBlock
from convo._json import canonical_bytes
from convo._turns import Turn
from convo.wire.responses import (
    decode_response,
    encode_request,
    encode_request_bytes,
    encode_sse,
    response_events,
)
from tests.wire.responses._helpers import (
    CLAUDE_GW,
    CLAUDE_OR,
    GEMINI_OR,
    GPT5,
    assemble,
)

_TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=40,
)
_ID = st.text(alphabet="abcdef0123456789", min_size=4, max_size=12)


@st.composite
def _reasoning(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": "rs_" + draw(_ID),
        "summary": [
            {"type": "summary_text", "text": t}
            for t in draw(st.lists(_TEXT, max_size=3))
        ],
        "encrypted_content": "enc_" + draw(_ID),
    }
    if draw(st.booleans()):
        item["status"] = "completed"
    return item


@st.composite
def _message(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "message",
        "id": "msg_" + draw(_ID),
        "role": "assistant",
        "status": "completed",
        "content": [
            {"type": "output_text", "text": t, "annotations": []}
            # Claude answers no blank text (and may not be sent any, R12).
            for t in draw(st.lists(_TEXT.filter(str.strip), min_size=1, max_size=3))
        ],
    }
    if draw(st.booleans()):
        item["phase"] = draw(st.sampled_from(["commentary", "final_answer"]))
    return item


@st.composite
def _call(draw: st.DrawFn, index: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "function_call",
        "id": "fc_" + draw(_ID),
        "call_id": f"call_{index}_" + draw(_ID),
        "name": draw(st.sampled_from(["get_weather", "get_time"])),
        "arguments": json.dumps({"city": draw(_TEXT)}),
        "status": "completed",
    }
    if draw(st.booleans()):
        item["encrypted_content"] = "sig_" + draw(_ID)
    return item


@st.composite
def responses(draw: st.DrawFn) -> dict[str, Any]:
    """A completed response: reasoning first (when any), then a message or calls."""
    output: list[dict[str, Any]] = []
    if draw(st.booleans()):
        output.append(draw(_reasoning()))
    calls = [draw(_call(i)) for i in range(draw(st.integers(0, 3)))]
    if draw(st.booleans()) or not calls:
        # Reasoning is always followed by its call or message (RR4).
        output.append(draw(_message()))
    output += calls
    return {
        "id": "resp_" + draw(_ID),
        "object": "response",
        "status": "completed",
        "model": "m",
        "output": output,
        "usage": {
            "input_tokens": draw(st.integers(0, 10_000)),
            "output_tokens": draw(st.integers(0, 10_000)),
            "total_tokens": draw(st.integers(0, 20_000)),
        },
    }


_TARGETS = st.sampled_from([CLAUDE_OR, GEMINI_OR, GPT5, CLAUDE_GW])


class TestReplayLaw:
    @given(response=responses(), target=_TARGETS)
    def test_an_answer_goes_back_as_exactly_the_items_it_came_as_rr2(
        self, response: dict[str, Any], target: Any
    ) -> None:
        answer = decode_response(response, target=target)
        user = Turn(role="user", blocks=(TextBlock(text="hi"),))
        items = encode_request([user, answer], target=target)["input"]
        assert items[1:] == response["output"]


class TestStreamLaw:
    @given(
        response=responses(),
        target=_TARGETS,
        delta=st.integers(1, 30),
        split=st.integers(1, 500),
    )
    def test_a_stream_cut_anywhere_assembles_to_the_decoded_turn(
        self, response: dict[str, Any], target: Any, delta: int, split: int
    ) -> None:
        data = encode_sse(response_events(response, chunk=delta), done=True)
        assert assemble(data, target=target, split=split) == decode_response(
            response, target=target
        )


class TestDeterminism:
    @given(response=responses(), target=_TARGETS)
    def test_the_bytes_are_the_canonical_payload_every_time(
        self, response: dict[str, Any], target: Any
    ) -> None:
        user = Turn(role="user", blocks=(TextBlock(text="hi"),))
        turns = [user, decode_response(response, target=target)]
        first = encode_request_bytes(turns, target=target)
        assert first == encode_request_bytes(turns, target=target)
        assert first == canonical_bytes(encode_request(turns, target=target))

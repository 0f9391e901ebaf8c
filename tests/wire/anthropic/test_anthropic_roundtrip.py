"""Round trips through the Messages format: blocks, requests, and signed reasoning bytes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from convo import (
    Block,
    Conversation,
    ImageBlock,
    Provenance,
    ReasoningBlock,
    RequestParams,
    SummaryEncryptedText,
    SummaryText,
    Target,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    tool_results,
)
from convo._json import canonical_bytes
from convo.testing.strategies import conversations, turns
from convo.wire.anthropic import (
    anthropic_target,
    decode_response,
    encode_request,
    encode_request_bytes,
    import_messages,
)
from convo.wire.anthropic._decode import blocks_from_content
from convo.wire.anthropic._encode_blocks import encode_turn_blocks

TARGET = anthropic_target(Target(name="databricks-claude-sonnet-4-5", family="claude"))
PARAMS = RequestParams(max_tokens=1000)
_KNOWN = {
    TextBlock: {"type", "text", "cache_control"},
    ToolCallBlock: {"type", "id", "name", "input", "cache_control"},
    ToolResultBlock: {"type", "tool_use_id", "content", "is_error", "cache_control"},
}


def _provenance(model: str | None) -> Provenance:
    return Provenance(provider="anthropic", family="claude", model=model)


def _extra(block: Any) -> dict[str, Any]:
    return {k: v for k, v in block.extra.items() if k not in _KNOWN[type(block)]}


def _normal_block(block: Block, model: str | None) -> Block | None:
    """What a block looks like after a trip through the Messages format."""
    if isinstance(block, TextBlock):
        if not block.text.strip():
            return None
        return attrs.evolve(block, extra=_extra(block))
    if isinstance(block, ReasoningBlock):
        return ReasoningBlock(parts=block.parts, provenance=_provenance(model))
    if isinstance(block, ToolCallBlock):
        arguments = canonical_bytes(block.parsed_arguments()).decode()
        return attrs.evolve(block, arguments=arguments, extra=_extra(block))
    if isinstance(block, ToolResultBlock):
        content = block.content
        if not isinstance(content, str):
            content = tuple(
                attrs.evolve(b, extra=_extra(b)) if isinstance(b, TextBlock) else b
                for b in content
                if not (isinstance(b, TextBlock) and not b.text.strip())
            )
        return attrs.evolve(
            block, content=content, synthetic=False, extra=_extra(block)
        )
    return block


def normalised(blocks: Sequence[Block], model: str | None) -> tuple[Block, ...]:
    """Blank text dropped, canonical arguments, adjacent reasoning merged, extras cleaned."""
    out: list[Block] = []
    for block in blocks:
        normal = _normal_block(block, model)
        if normal is None:
            continue
        if (
            isinstance(normal, ReasoningBlock)
            and out
            and isinstance(out[-1], ReasoningBlock)
        ):
            out[-1] = attrs.evolve(out[-1], parts=out[-1].parts + normal.parts)
            continue
        out.append(normal)
    return tuple(out)


def _sendable_reasoning(block: ReasoningBlock) -> ReasoningBlock | None:
    if block.provenance is not None and block.provenance.family != "claude":
        return None
    parts = tuple(
        p for p in block.parts if isinstance(p, SummaryEncryptedText) or p.signature
    )
    return attrs.evolve(block, parts=parts) if parts else None


def sendable(path: Sequence[Turn]) -> list[Turn]:
    """The path made sendable as the policies would: signed Claude reasoning only,
    every call answered, no blank-only turns."""
    out: list[Turn] = []
    open_calls: list[str] = []

    def close() -> None:
        if open_calls:
            out.append(
                tool_results(
                    *(
                        ToolResultBlock(call_id=c, content="(no result)")
                        for c in open_calls
                    )
                )
            )
            open_calls.clear()

    for turn in path:
        blocks: list[Block] = []
        for block in turn.blocks:
            if isinstance(block, ReasoningBlock):
                kept = _sendable_reasoning(block)
                if kept is not None:
                    blocks.append(kept)
            elif not (turn.role == "assistant" and isinstance(block, ImageBlock)):
                blocks.append(block)
        if turn.role in ("user", "system") and not any(
            (isinstance(b, TextBlock) and b.text.strip())
            or not isinstance(b, TextBlock)
            for b in blocks
        ):
            blocks.append(TextBlock(text="x"))
        if turn.role == "tool":
            for result in turn.tool_results:
                if result.call_id in open_calls:
                    open_calls.remove(result.call_id)
        else:
            close()
        if turn.role == "assistant":
            if not normalised(blocks, None):
                blocks.append(TextBlock(text="ok"))
            open_calls.extend(dict.fromkeys(c.id for c in turn.tool_calls))
        out.append(turn.with_blocks(blocks))
    close()
    if all(t.role == "system" for t in out):
        out.append(Turn(role="user", blocks=(TextBlock(text="q"),)))
    return out


def reasoning_parts(turns: Sequence[Turn]) -> list[Any]:
    return [p for t in turns for r in t.reasoning for p in r.parts]


class TestBlockMapping:
    @settings(max_examples=60)
    @given(turns(roles=["assistant", "user", "tool"]))
    def test_blocks_decode_back_to_themselves(self, turn: Turn) -> None:
        """blocks_from_content(encode(turn)) == turn's blocks, normalised."""
        encoded = [
            item for item, _ in encode_turn_blocks(turn, target=TARGET, where="$")
        ]
        allowed = (
            "text",
            "thinking",
            "redacted_thinking",
            "tool_use",
            "image",
            "tool_result",
        )
        decoded = blocks_from_content(
            encoded, where="$", provenance=_provenance(None), allowed=allowed
        )
        assert decoded == normalised(turn.blocks, None)

    @settings(max_examples=60)
    @given(turns(roles=["assistant"], images=False))
    def test_an_assistant_turn_decodes_back_from_its_message(self, turn: Turn) -> None:
        """decode_response(message of turn) keeps every block; reasoning byte-exact."""
        encoded = [
            item for item, _ in encode_turn_blocks(turn, target=TARGET, where="$")
        ]
        body = {
            "role": "assistant",
            "model": "m",
            "content": encoded,
            "stop_reason": None,
        }
        decoded = decode_response(canonical_bytes(body))
        assert decoded.blocks == normalised(turn.blocks, "m")
        assert reasoning_parts([decoded]) == reasoning_parts([turn])


class TestRequestRoundTrip:
    @settings(max_examples=40)
    @given(conversations(min_turns=1, max_turns=10, images=True))
    def test_import_of_an_encoded_request_encodes_to_the_same_bytes(
        self, conversation: Conversation
    ) -> None:
        """encode(import(encode(view))) == encode(view), byte for byte."""
        view = sendable(conversation.path())
        data = encode_request_bytes(view, target=TARGET, params=PARAMS)
        payload = encode_request(view, target=TARGET, params=PARAMS)
        imported = import_messages(payload["messages"], system=payload.get("system"))
        assert encode_request_bytes(imported, target=TARGET, params=PARAMS) == data

    @settings(max_examples=40)
    @given(conversations(min_turns=1, max_turns=10))
    def test_signed_reasoning_survives_byte_exact_in_order(
        self, conversation: Conversation
    ) -> None:
        """Rule R1: every sent reasoning part comes back identical, in order."""
        view = sendable(conversation.path())
        payload = encode_request(view, target=TARGET, params=PARAMS)
        imported = import_messages(payload["messages"], system=payload.get("system"))
        assert reasoning_parts(imported) == reasoning_parts(view)
        for part in reasoning_parts(imported):
            if isinstance(part, SummaryText):
                assert part.signature

    def test_signature_only_and_encrypted_parts_are_kept(self) -> None:
        block = ReasoningBlock(
            parts=(
                SummaryText(text="", signature="ONLY-SIG"),
                SummaryEncryptedText(data="OPAQUE"),
                SummaryText(text="tail", signature="S3"),
            ),
            provenance=_provenance("m"),
        )
        turn = Turn(role="assistant", blocks=(block, TextBlock(text="done")))
        view = [Turn(role="user", blocks=(TextBlock(text="q"),)), turn]
        payload = encode_request(view, target=TARGET, params=PARAMS)
        imported = import_messages(payload["messages"])
        assert imported[1].reasoning[0].parts == block.parts

    @given(
        st.sampled_from(
            ['{"b": 1, "a": [1.5, "é"]}', "{}", '{"a":{"z":null,"y":true}}']
        )
    )
    def test_tool_arguments_are_canonical_after_one_trip_and_stable_after(
        self, arguments: str
    ) -> None:
        """decode(encode(call)).arguments == canonical JSON, a fixpoint afterwards."""
        call = ToolCallBlock(id="t", name="f", arguments=arguments)
        turn = Turn(role="assistant", blocks=(call,))
        encoded = [
            item for item, _ in encode_turn_blocks(turn, target=TARGET, where="$")
        ]
        once = decode_response({"role": "assistant", "content": encoded})
        twice_turn = Turn(role="assistant", blocks=once.blocks)
        encoded_again = [
            item for item, _ in encode_turn_blocks(twice_turn, target=TARGET, where="$")
        ]
        twice = decode_response({"role": "assistant", "content": encoded_again})
        assert (
            once.tool_calls[0].arguments
            == canonical_bytes(call.parsed_arguments()).decode()
        )
        assert twice.blocks == once.blocks

"""The canonical format: lossless, deterministic, strict, and pinned by golden files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

import convo
from convo import (
    Block,
    CacheControl,
    Conversation,
    FinishReason,
    ImageBlock,
    Provenance,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    Usage,
)
from convo.errors import DecodeError, UnknownBlockTypeError, UnsupportedVersionError
from convo.testing import strategies as cst
from convo.testing.strategies import png_bytes
from convo.wire import canonical

FIXTURES = Path(__file__).parent / "fixtures" / "canonical"

# ----------------------------------------------------------------- golden values

PNG = png_bytes(2, 1, (255, 0, 128))
CLAUDE = Provenance(
    provider="anthropic", family="claude", model="databricks-claude-sonnet-4-5"
)


def signed_reasoning() -> ReasoningBlock:
    return ReasoningBlock(
        parts=(
            SummaryText(
                text="The user wants the weather; call the tool.",
                signature="EqQBCkYIBxgCKkBsig==",
            ),
            SummaryText(text="", signature="ErUBCkYIBxgCKkDonly=="),
            SummaryEncryptedText(data="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlx"),
        ),
        provenance=CLAUDE,
    )


def tool_call() -> ToolCallBlock:
    return ToolCallBlock(
        id="toolu_01A",
        name="get_weather",
        arguments='{"city": "Zürich", "unit":"c"}',
        extra={"thought_signature": "CiQBVKhc7g=="},
    )


def assistant_turn() -> Turn:
    return Turn(
        role="assistant",
        blocks=(
            signed_reasoning(),
            TextBlock(
                text="Let me check — one moment.\u2028🌦",
                extra={"citations": [{"url": "https://example.com", "n": 1}]},
            ),
            ImageBlock(media_type="image/png", data=PNG),
            tool_call(),
            ReasoningBlock(parts=(SummaryText(text="unsigned, unknown origin"),)),
        ),
        model="databricks-claude-sonnet-4-5",
        finish_reason=FinishReason.TOOL_CALLS,
        finish_reason_raw="tool_use",
        usage=Usage(prompt_tokens=120, completion_tokens=42, cache_read_tokens=100),
        generated_from="b2:" + "ab" * 32,
        metadata={"ui": {"collapsed": True}, "שלום": [1, 2.5, None]},
    )


def tool_turn() -> Turn:
    return convo.tool_results(
        ToolResultBlock(
            call_id="toolu_01A",
            content=(
                TextBlock(text="18°C, light rain"),
                ImageBlock(media_type="image/png", data=PNG),
            ),
        ),
        ToolResultBlock(
            call_id="toolu_01B", content="timeout", is_error=True, synthetic=True
        ),
    )


def branched_conversation() -> Conversation:
    conversation = (
        Conversation.new()
        .append(convo.system("You are terse."))
        .user("Weather in Zürich?")
        .append(
            convo.assistant(
                [signed_reasoning(), tool_call()],
                finish_reason=FinishReason.TOOL_CALLS,
                finish_reason_raw="tool_use",
            )
        )
        .tool_results(ToolResultBlock(call_id="toolu_01A", content="18°C"))
        .assistant("18°C and rainy.", finish_reason=FinishReason.STOP)
    )
    question = conversation.path_ids()[1]
    edited = conversation.edit(question, convo.user("Weather in Bern?"), branch="bern")
    edited = edited.assistant("Sunny, 21°C.")
    return edited.switch("main").regenerate(
        convo.assistant("It is 18°C with light rain."), branch="retry"
    )


GOLDEN: dict[str, Callable[[], Block | Turn | Conversation]] = {
    "block_text.json": lambda: TextBlock(
        text="héllo 👋", cache_control=CacheControl(ttl="1h")
    ),
    "block_reasoning_signed.json": signed_reasoning,
    "block_reasoning_signature_only.json": lambda: ReasoningBlock(
        parts=(SummaryText(text="", signature="ErUBCkYIBxgCKkDonly=="),),
        provenance=CLAUDE,
    ),
    "block_reasoning_encrypted.json": lambda: ReasoningBlock(
        parts=(SummaryEncryptedText(data="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlx"),),
        provenance=Provenance(provider="anthropic", family="claude"),
    ),
    "block_image.json": lambda: ImageBlock(media_type="image/png", data=PNG),
    "block_tool_call_extra.json": tool_call,
    "block_tool_result_blocks.json": lambda: tool_turn().blocks[0],
    "turn_assistant_every_kind.json": assistant_turn,
    "turn_tool_results.json": tool_turn,
    "conversation_branched.json": branched_conversation,
}


def load(name: str, data: bytes) -> Block | Turn | Conversation:
    if name.startswith("block_"):
        return canonical.loads_block(data)
    if name.startswith("turn_"):
        return canonical.loads_turn(data)
    return canonical.loads_conversation(data)


class TestGoldenFixtures:
    def test_every_fixture_file_has_a_builder(self) -> None:
        assert sorted(p.name for p in FIXTURES.glob("*.json")) == sorted(GOLDEN)

    @pytest.mark.parametrize("name", sorted(GOLDEN))
    def test_loading_and_dumping_a_fixture_gives_the_identical_bytes(
        self, name: str
    ) -> None:
        data = (FIXTURES / name).read_bytes()
        assert canonical.dumps(load(name, data)) == data

    @pytest.mark.parametrize("name", sorted(GOLDEN))
    def test_building_the_value_in_code_gives_the_fixture_bytes(
        self, name: str
    ) -> None:
        data = (FIXTURES / name).read_bytes()
        value = GOLDEN[name]()
        assert canonical.dumps(value) == data
        assert load(name, data) == value

    def test_the_branched_fixture_holds_three_branches_sharing_a_prefix(
        self,
    ) -> None:
        conversation = canonical.loads_conversation(
            (FIXTURES / "conversation_branched.json").read_bytes()
        )
        assert sorted(conversation.heads) == ["bern", "main", "retry"]
        assert conversation.active == "retry"
        assert conversation.path_ids("main")[:4] == conversation.path_ids("retry")[:4]
        assert conversation.path_ids("bern")[0] == conversation.path_ids("main")[0]


class TestVersionOneFixtures:
    """Documents written before the conversation digest (version 1) still load."""

    def test_every_version_one_fixture_has_a_builder(self) -> None:
        assert sorted(p.name for p in (FIXTURES / "v1").glob("*.json")) == sorted(
            GOLDEN
        )

    @pytest.mark.parametrize("name", sorted(GOLDEN))
    def test_a_version_one_fixture_loads_to_the_value_built_in_code(
        self, name: str
    ) -> None:
        data = (FIXTURES / "v1" / name).read_bytes()
        assert data.startswith(b'{"convo":1,')
        assert load(name, data) == GOLDEN[name]()

    @pytest.mark.parametrize("name", sorted(GOLDEN))
    def test_dumping_a_version_one_document_writes_version_two(self, name: str) -> None:
        value = load(name, (FIXTURES / "v1" / name).read_bytes())
        assert canonical.dumps(value) == (FIXTURES / name).read_bytes()


class TestConversationDigest:
    """Version 2 puts the branch map and the turn list inside the integrity check."""

    def data(self) -> bytes:
        return (FIXTURES / "conversation_branched.json").read_bytes()

    def test_a_one_byte_change_in_a_branch_name_is_refused(self) -> None:
        tampered = self.data().replace(b'"bern":', b'"berm":')
        with pytest.raises(DecodeError) as info:
            canonical.loads_conversation(tampered)
        assert info.value.path == "$.value.digest"

    def test_moving_a_branch_head_is_refused(self) -> None:
        document = json.loads(self.data())
        branches = document["value"]["branches"]
        branches["bern"] = branches["main"]
        with pytest.raises(DecodeError, match="digest does not match"):
            canonical.loads_conversation(json.dumps(document))

    def test_changing_the_active_branch_is_refused(self) -> None:
        tampered = self.data().replace(b'"active":"retry"', b'"active":"main"')
        with pytest.raises(DecodeError, match="digest"):
            canonical.loads_conversation(tampered)

    def test_a_version_two_document_without_its_digest_is_refused(self) -> None:
        document = json.loads(self.data())
        del document["value"]["digest"]
        with pytest.raises(DecodeError, match="needs exactly active, branches"):
            canonical.loads_conversation(json.dumps(document))

    def test_a_version_one_document_with_a_renamed_branch_still_loads(self) -> None:
        """Version 1 had no digest: its branch map is only checked for consistency."""
        data = (FIXTURES / "v1" / "conversation_branched.json").read_bytes()
        loaded = canonical.loads_conversation(data.replace(b'"bern":', b'"berm":'))
        assert sorted(loaded.heads) == ["berm", "main", "retry"]


class TestStrictBytes:
    """One document has one meaning: no duplicate keys, no BOM, only UTF-8."""

    TURN = b'{"convo":2,"kind":"turn","value":{"blocks":[],"role":"user"}}'

    def test_the_reference_document_loads(self) -> None:
        assert canonical.loads_turn(self.TURN).role == "user"

    def test_a_duplicate_key_is_refused(self) -> None:
        doubled = self.TURN.replace(b'"role":"user"', b'"role":"system","role":"user"')
        with pytest.raises(DecodeError, match="duplicate key 'role'"):
            canonical.loads_turn(doubled)

    def test_a_duplicate_envelope_key_is_refused(self) -> None:
        with pytest.raises(DecodeError, match="duplicate key 'convo'"):
            canonical.loads_turn(b'{"convo":9,' + self.TURN[1:])

    def test_a_utf8_byte_order_mark_is_refused(self) -> None:
        with pytest.raises(DecodeError, match="byte-order mark"):
            canonical.loads_turn(b"\xef\xbb\xbf" + self.TURN)

    def test_a_byte_order_mark_in_text_is_refused(self) -> None:
        with pytest.raises(DecodeError, match="byte-order mark"):
            canonical.loads_turn("\ufeff" + self.TURN.decode())

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
    def test_utf16_and_utf32_are_refused(self, encoding: str) -> None:
        with pytest.raises(DecodeError, match="UTF-16 or UTF-32"):
            canonical.loads_turn(self.TURN.decode().encode(encoding))

    def test_bytes_that_are_not_utf8_are_refused_with_the_offset(self) -> None:
        with pytest.raises(DecodeError, match=r"not UTF-8.*offset 3"):
            canonical.loads_turn(b'{"c\xff')

    @pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
    def test_non_json_constants_are_refused(self, constant: bytes) -> None:
        document = (
            b'{"convo":2,"kind":"turn","value":{"blocks":[],"role":"user",'
            b'"metadata":{"x":' + constant + b"}}}"
        )
        with pytest.raises(DecodeError, match="not JSON"):
            canonical.loads_turn(document)

    @pytest.mark.parametrize("argument", [None, 3, ["{}"], {"convo": 2}])
    def test_an_argument_that_is_not_bytes_or_str_is_a_decode_error(
        self, argument: Any
    ) -> None:
        for loader in (
            canonical.loads_block,
            canonical.loads_turn,
            canonical.loads_conversation,
        ):
            with pytest.raises(DecodeError, match="is bytes or str"):
                loader(argument)


# ----------------------------------------------------------------- properties


class TestRoundTrip:
    @given(cst.blocks(cache_control=True))
    def test_blocks_round_trip(self, block: Block) -> None:
        """decode(encode(b)) == b, and dumps(loads(dumps(b))) == dumps(b)."""
        assert canonical.decode_block(canonical.encode_block(block)) == block
        data = canonical.dumps(block)
        assert canonical.dumps(canonical.loads_block(data)) == data

    @given(cst.turns(cache_control=True))
    def test_turns_round_trip(self, turn: Turn) -> None:
        """decode(encode(t)) == t, and dumps(loads(dumps(t))) == dumps(t)."""
        decoded = canonical.decode_turn(canonical.encode_turn(turn))
        assert decoded == turn
        data = canonical.dumps(turn)
        assert canonical.dumps(canonical.loads_turn(data)) == data

    @settings(max_examples=30)
    @given(cst.conversations(branching=True, images=True))
    def test_conversations_round_trip(self, conversation: Conversation) -> None:
        """loads(dumps(c)) == c with every branch, path and active branch kept."""
        data = canonical.dumps(conversation)
        loaded = canonical.loads_conversation(data)
        assert loaded == conversation
        assert canonical.dumps(loaded) == data
        for branch in conversation.heads:
            assert loaded.path(branch) == conversation.path(branch)

    @given(cst.reasoning_blocks())
    def test_signature_only_and_encrypted_parts_survive_byte_exact(
        self, block: ReasoningBlock
    ) -> None:
        """Every reasoning part comes back with the very same text, signature and data."""
        loaded = canonical.loads_block(canonical.dumps(block))
        assert isinstance(loaded, ReasoningBlock)
        assert len(loaded.parts) == len(block.parts)
        for before, after in zip(block.parts, loaded.parts, strict=True):
            assert type(before) is type(after)
            if isinstance(before, SummaryText):
                assert isinstance(after, SummaryText)
                assert (after.text, after.signature) == (before.text, before.signature)
            else:
                assert isinstance(after, SummaryEncryptedText)
                assert after.data == before.data

    @given(cst.turns())
    def test_dumps_is_deterministic(self, turn: Turn) -> None:
        """Equal turns built separately (no shared memo) dump to the same bytes."""
        rebuilt = canonical.decode_turn(
            json.loads(json.dumps(canonical.encode_turn(turn)))
        )
        assert canonical.dumps(rebuilt) == canonical.dumps(turn)
        assert canonical.dumps(turn) == canonical.dumps(turn)

    @given(cst.turns(), cst.json_objects(max_size=4))
    def test_key_order_of_metadata_does_not_change_bytes(
        self, turn: Turn, metadata: dict[str, Any]
    ) -> None:
        """Metadata in reversed insertion order dumps to the same bytes."""
        forward = convo.Turn(role=turn.role, blocks=turn.blocks, metadata=metadata)
        backward = convo.Turn(
            role=turn.role,
            blocks=turn.blocks,
            metadata=dict(reversed(metadata.items())),
        )
        assert canonical.dumps(forward) == canonical.dumps(backward)

    def test_dumps_is_sorted_compact_utf8(self) -> None:
        data = canonical.dumps(convo.user("é 👋"))
        assert data == (
            b'{"convo":2,"kind":"turn","value":{"blocks":[{"text":"\xc3\xa9 '
            b'\xf0\x9f\x91\x8b","type":"text"}],"role":"user"}}'
        )

    def test_defaults_are_omitted_but_the_type_tag_is_always_written(self) -> None:
        assert canonical.encode_block(TextBlock(text="x")) == {
            "type": "text",
            "text": "x",
        }
        assert canonical.encode_block(
            SummaryText(text="x")  # type: ignore[arg-type]
        ) == {"type": "summary_text", "text": "x"}

    def test_empty_and_absent_signatures_stay_distinct(self) -> None:
        for signature in (None, ""):
            block = ReasoningBlock(parts=(SummaryText(text="t", signature=signature),))
            loaded = canonical.loads_block(canonical.dumps(block))
            assert isinstance(loaded, ReasoningBlock)
            part = loaded.parts[0]
            assert isinstance(part, SummaryText)
            assert part.signature == signature


# ----------------------------------------------------------------- refusals


def _turn_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(canonical.dumps(convo.user("hi")))
    document.update(changes)
    return document


def _branched_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(canonical.dumps(branched_conversation()))
    return document


class TestStrictLoading:
    @pytest.mark.parametrize("value", [[1, 2, 3], "turn", 7, None])
    def test_a_turn_that_is_not_an_object_is_a_decode_error(
        self, value: object
    ) -> None:
        with pytest.raises(DecodeError):
            canonical.decode_turn(value)

    def test_unknown_key_in_a_block_is_refused_with_its_path(self) -> None:
        document = _turn_document()
        document["value"]["blocks"][0]["colour"] = "red"
        with pytest.raises(DecodeError) as info:
            canonical.loads_turn(json.dumps(document))
        assert info.value.path == "$.value.blocks[0]"
        assert "unknown keys ['colour']" in info.value.message

    def test_unknown_key_in_a_turn_is_refused(self) -> None:
        document = _turn_document()
        document["value"]["timestamp"] = 1
        with pytest.raises(DecodeError, match=r"unknown keys \['timestamp'\]") as info:
            canonical.loads_turn(json.dumps(document))
        assert info.value.path == "$.value"

    def test_unknown_key_in_the_envelope_is_refused(self) -> None:
        document = _turn_document(extra=1)
        with pytest.raises(DecodeError, match="Not a convo canonical document"):
            canonical.loads_turn(json.dumps(document))

    def test_unknown_block_tag_names_the_tag_the_allowed_tags_and_the_path(
        self,
    ) -> None:
        document = _turn_document()
        document["value"]["blocks"][0]["type"] = "video"
        with pytest.raises(UnknownBlockTypeError) as info:
            canonical.loads_turn(json.dumps(document))
        error = info.value
        assert error.tag == "video"
        assert error.allowed == (
            "text",
            "reasoning",
            "image",
            "tool_call",
            "tool_result",
        )
        assert error.path == "$.value.blocks[0]"
        assert "'video'" in error.message
        assert "$.value.blocks[0]" in error.message
        assert "text, reasoning, image, tool_call, tool_result" in error.message

    def test_unknown_reasoning_part_tag_is_an_unknown_block_type(self) -> None:
        document = {
            "convo": 1,
            "kind": "block",
            "value": {"type": "reasoning", "parts": [{"type": "thinking"}]},
        }
        with pytest.raises(UnknownBlockTypeError) as info:
            canonical.loads_block(json.dumps(document))
        assert info.value.tag == "thinking"
        assert info.value.allowed == ("summary_text", "summary_encrypted_text")
        assert info.value.path == "$.value.parts[0]"

    def test_tool_result_content_takes_only_text_and_image_blocks(self) -> None:
        document = {
            "convo": 1,
            "kind": "block",
            "value": {
                "type": "tool_result",
                "call_id": "a",
                "content": [{"type": "tool_call", "id": "x", "name": "f"}],
            },
        }
        with pytest.raises(UnknownBlockTypeError) as info:
            canonical.loads_block(json.dumps(document))
        assert info.value.allowed == ("text", "image")

    @pytest.mark.parametrize("version", [3, 99, "1", True, None, 2.0])
    def test_documents_of_another_version_are_refused(self, version: object) -> None:
        with pytest.raises(UnsupportedVersionError) as info:
            canonical.loads_turn(json.dumps(_turn_document(convo=version)))
        assert info.value.version == version
        assert info.value.supported == (1, 2)
        assert info.value.path == "$.convo"
        assert "Upgrade convo" in info.value.message

    def test_a_document_of_another_kind_is_refused(self) -> None:
        with pytest.raises(DecodeError, match="Expected a block document") as info:
            canonical.loads_block(canonical.dumps(convo.user("hi")))
        assert info.value.path == "$.kind"

    def test_invalid_json_is_refused(self) -> None:
        with pytest.raises(DecodeError, match="not valid JSON"):
            canonical.loads_turn(b'{"convo": 1,')

    @pytest.mark.parametrize("text", ["a\x00b", "\ud800"])
    def test_invalid_text_inside_a_document_is_refused_with_its_path(
        self, text: str
    ) -> None:
        document = _turn_document()
        document["value"]["blocks"][0]["text"] = text
        with pytest.raises(DecodeError, match="invalid content") as info:
            canonical.loads_turn(json.dumps(document))
        assert info.value.path == "$.value.blocks[0].text"

    def test_invalid_base64_image_data_is_refused(self) -> None:
        document = {
            "convo": 1,
            "kind": "block",
            "value": {
                "type": "image",
                "media_type": "image/png",
                "data": "not base64!",
            },
        }
        with pytest.raises(DecodeError, match="invalid base64") as info:
            canonical.loads_block(json.dumps(document))
        assert info.value.path == "$.value.data"

    def test_a_tampered_turn_id_is_refused(self) -> None:
        document = _branched_document()
        document["value"]["turns"][1]["turn"]["blocks"][0]["text"] = "tampered"
        with pytest.raises(DecodeError, match="Turn id does not match") as info:
            canonical.loads_conversation(json.dumps(document))
        assert info.value.path == "$.value.turns[1].id"

    def test_a_parent_listed_after_its_child_is_refused(self) -> None:
        document = _branched_document()
        turns = document["value"]["turns"]
        turns[1], turns[2] = turns[2], turns[1]
        with pytest.raises(DecodeError, match="parent must be listed before") as info:
            canonical.loads_conversation(json.dumps(document))
        assert info.value.path == "$.value.turns[1].parent"

    def test_a_branch_head_naming_no_turn_is_refused(self) -> None:
        document = _branched_document()
        document["value"]["branches"]["ghost"] = "b2:" + "0" * 64
        with pytest.raises(
            DecodeError, match="Branch head names no listed turn"
        ) as info:
            canonical.loads_conversation(json.dumps(document))
        assert info.value.path == "$.value.branches.ghost"

    def test_an_active_branch_that_does_not_exist_is_refused(self) -> None:
        document = _branched_document()
        document["value"]["active"] = "nowhere"
        with pytest.raises(DecodeError, match="Active branch") as info:
            canonical.loads_conversation(json.dumps(document))
        assert info.value.path == "$.value.active"

    def test_a_document_breaking_a_graph_invariant_is_refused(self) -> None:
        tool = convo.tool_results(ToolResultBlock(call_id="x", content="r"))
        document = {
            "convo": 1,
            "kind": "conversation",
            "value": {
                "active": "main",
                "branches": {"main": None},
                "turns": [
                    {
                        "id": "b2:" + "0" * 64,
                        "parent": None,
                        "turn": canonical.encode_turn(tool),
                    }
                ],
            },
        }
        with pytest.raises(DecodeError, match="A tool turn must follow") as info:
            canonical.loads_conversation(json.dumps(document))
        assert info.value.path == "$.value.turns[0]"

    def test_a_conversation_value_with_unknown_keys_is_refused(self) -> None:
        document = _branched_document()
        document["value"]["title"] = "x"
        with pytest.raises(
            DecodeError, match="needs exactly active, branches, digest, turns"
        ):
            canonical.loads_conversation(json.dumps(document))

    def test_a_parent_that_is_not_an_id_is_refused(self) -> None:
        document = _branched_document()
        document["value"]["turns"][1]["parent"] = ["not", "an", "id"]
        with pytest.raises(DecodeError, match="parent must be listed before") as info:
            canonical.loads_conversation(json.dumps(document))
        assert info.value.path == "$.value.turns[1].parent"

    def test_a_turn_listed_twice_is_refused(self) -> None:
        document = _branched_document()
        document["value"]["turns"].insert(2, document["value"]["turns"][1])
        with pytest.raises(DecodeError, match="listed twice") as info:
            canonical.loads_conversation(json.dumps(document))
        assert info.value.path == "$.value.turns[2].id"

    def test_a_float_version_is_not_version_one(self) -> None:
        with pytest.raises(UnsupportedVersionError):
            canonical.loads_turn(json.dumps(_turn_document(convo=1.0)))

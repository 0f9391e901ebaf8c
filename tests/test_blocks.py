"""Content blocks: what they hold, and every value they refuse."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convo import (
    ImageBlock,
    Provenance,
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
)
from convo._blocks import IMAGE_MAX_BASE64_BYTES, sniff_media_type
from convo._tools import Tool
from convo.errors import InvalidImageError, InvalidTextError, ToolArgumentsError
from convo.testing import strategies as cst
from convo.testing.strategies import png_bytes

PNG = png_bytes(1, 1, (0, 0, 0))

# Each entry builds a value with `bad` in one text field, and names that field's path.
TEXT_FIELDS: list[tuple[str, Callable[[str], object]]] = [
    ("$.text", lambda bad: TextBlock(text=bad)),
    ("$.text", lambda bad: SummaryText(text=bad)),
    ("$.signature", lambda bad: SummaryText(text="", signature=bad)),
    ("$.data", lambda bad: SummaryEncryptedText(data=bad)),
    ("$.provenance.provider", lambda bad: Provenance(provider=bad, family="claude")),
    ("$.provenance.family", lambda bad: Provenance(provider="anthropic", family=bad)),
    (
        "$.provenance.model",
        lambda bad: Provenance(provider="anthropic", family="claude", model=bad),
    ),
    ("$.id", lambda bad: ToolCallBlock(id=bad, name="f")),
    ("$.name", lambda bad: ToolCallBlock(id="a", name=bad)),
    ("$.arguments", lambda bad: ToolCallBlock(id="a", name="f", arguments=bad)),
    ("$.call_id", lambda bad: ToolResultBlock(call_id=bad, content="r")),
    ("$.content", lambda bad: ToolResultBlock(call_id="a", content=bad)),
    ("$.extra.k", lambda bad: TextBlock(text="t", extra={"k": bad})),
    ("$.extra.k[0]", lambda bad: ToolCallBlock(id="a", name="f", extra={"k": [bad]})),
    ("$.extra", lambda bad: ReasoningBlock(parts=(), extra={bad: 1})),
    (
        "$.extra.k",
        lambda bad: ToolResultBlock(call_id="a", content="", extra={"k": bad}),
    ),
    ("$.model", lambda bad: Turn(role="assistant", blocks=(), model=bad)),
    (
        "$.finish_reason_raw",
        lambda bad: Turn(role="assistant", blocks=(), finish_reason_raw=bad),
    ),
    (
        "$.generated_from",
        lambda bad: Turn(role="assistant", blocks=(), generated_from=bad),
    ),
    ("$.metadata.k", lambda bad: Turn(role="user", blocks=(), metadata={"k": bad})),
    ("$.name", lambda bad: Tool(name=bad)),
]


class TestTextRule:
    @pytest.mark.parametrize(("path", "build"), TEXT_FIELDS)
    def test_nul_is_refused_in_every_text_field(
        self, path: str, build: Callable[[str], object]
    ) -> None:
        with pytest.raises(InvalidTextError) as info:
            build("before\x00after")
        assert info.value.path == path
        assert "U+0000 (NUL)" in info.value.message
        assert f"at {path}" in info.value.message
        assert "Remove or replace the NUL" in info.value.message

    @pytest.mark.parametrize(("path", "build"), TEXT_FIELDS)
    def test_a_lone_surrogate_is_refused_in_every_text_field(
        self, path: str, build: Callable[[str], object]
    ) -> None:
        with pytest.raises(InvalidTextError) as info:
            build("ok \ud83d alone")
        assert info.value.path == path
        assert "lone surrogate at index 3" in info.value.message

    @given(cst.texts())
    def test_storable_text_is_accepted_unchanged(self, text: str) -> None:
        """Any text without NUL or lone surrogates is held exactly as given."""
        assert TextBlock(text=text).text == text

    def test_a_paired_surrogate_written_as_one_character_is_fine(self) -> None:
        assert TextBlock(text="\U0001f600").text == "😀"

    def test_non_finite_numbers_in_extra_are_refused(self) -> None:
        with pytest.raises(InvalidTextError, match="JSON numbers must be finite"):
            TextBlock(text="t", extra={"x": float("nan")})

    def test_non_json_values_in_extra_are_refused(self) -> None:
        with pytest.raises(InvalidTextError, match="Value is not JSON") as info:
            TextBlock(text="t", extra={"x": {1, 2}})
        assert info.value.path == "$.extra.x"

    def test_non_string_keys_in_extra_are_refused(self) -> None:
        with pytest.raises(InvalidTextError, match="keys must be strings"):
            TextBlock(text="t", extra={1: "x"})  # type: ignore[dict-item]

    def test_extra_is_copied_so_the_caller_cannot_alias_it(self) -> None:
        source: dict[str, Any] = {"citations": [{"n": 1}]}
        block = TextBlock(text="t", extra=source)
        source["citations"][0]["n"] = 2
        assert block.extra == {"citations": [{"n": 1}]}

    def test_tuples_in_extra_become_lists(self) -> None:
        assert TextBlock(text="t", extra={"k": (1, 2)}).extra == {"k": [1, 2]}


class TestImageBlock:
    @pytest.mark.parametrize("url", ["https://example.com/a.png", "http://x/y.jpg"])
    def test_http_urls_are_refused_with_the_inlining_fix(self, url: str) -> None:
        with pytest.raises(InvalidImageError) as info:
            ImageBlock.from_data_url(url)
        error = info.value
        assert error.path == "$.url"
        assert error.received == url
        assert "Image URLs are not accepted" in error.message
        assert "rule R18" in error.message
        assert "ImageBlock.from_bytes(data)" in error.message
        assert "ImageBlock.from_file(path)" in error.message

    def test_a_url_that_is_not_a_base64_data_url_is_refused(self) -> None:
        with pytest.raises(InvalidImageError, match="Not a base64 data URL"):
            ImageBlock.from_data_url("data:image/png,rawbytes")

    def test_invalid_base64_is_refused(self) -> None:
        with pytest.raises(InvalidImageError) as info:
            ImageBlock.from_data_url("data:image/png;base64,not*base64")
        assert "Image data is not valid base64" in info.value.message
        assert "base64.b64encode" in info.value.message

    def test_an_unknown_media_type_is_refused(self) -> None:
        with pytest.raises(InvalidImageError) as info:
            ImageBlock(media_type="image/bmp", data=PNG)  # type: ignore[arg-type]
        assert info.value.path == "$.media_type"
        assert info.value.received == "image/bmp"
        assert "image/jpeg, image/png, image/gif, image/webp" in info.value.message

    def test_an_unknown_media_type_in_a_data_url_is_refused(self) -> None:
        url = "data:image/tiff;base64," + base64.b64encode(PNG).decode()
        with pytest.raises(InvalidImageError, match="Unsupported image media type"):
            ImageBlock.from_data_url(url)

    def test_an_image_over_the_size_limit_is_refused_naming_the_limit(self) -> None:
        too_big = bytes(IMAGE_MAX_BASE64_BYTES // 4 * 3 + 1)
        with pytest.raises(InvalidImageError) as info:
            ImageBlock(media_type="image/png", data=too_big)
        assert f"over the limit of {IMAGE_MAX_BASE64_BYTES} bytes (5 MiB)" in (
            info.value.message
        )
        assert "Downscale or recompress" in info.value.message
        assert info.value.received == f"<{len(too_big)} bytes>"

    def test_an_image_exactly_at_the_limit_is_accepted(self) -> None:
        at_limit = bytes(IMAGE_MAX_BASE64_BYTES // 4 * 3)
        assert len(ImageBlock(media_type="image/png", data=at_limit).base64) == (
            IMAGE_MAX_BASE64_BYTES
        )

    def test_data_must_be_bytes(self) -> None:
        with pytest.raises(InvalidImageError, match="Image data must be bytes"):
            ImageBlock(media_type="image/png", data="iVBOR")  # type: ignore[arg-type]

    def test_from_bytes_sniffs_the_media_type(self) -> None:
        assert ImageBlock.from_bytes(PNG).media_type == "image/png"
        assert ImageBlock.from_bytes(b"GIF89a...").media_type == "image/gif"
        assert ImageBlock.from_bytes(b"\xff\xd8\xff\xe0").media_type == "image/jpeg"
        webp = b"RIFF\x00\x00\x00\x00WEBPVP8 "
        assert ImageBlock.from_bytes(webp).media_type == "image/webp"

    def test_from_bytes_refuses_bytes_of_no_known_type(self) -> None:
        with pytest.raises(
            InvalidImageError, match="Cannot tell the image's media type"
        ):
            ImageBlock.from_bytes(b"plain text")

    def test_from_bytes_takes_an_explicit_media_type(self) -> None:
        block = ImageBlock.from_bytes(b"opaque", media_type="image/webp")
        assert block.media_type == "image/webp"

    def test_from_file_reads_and_sniffs(self, tmp_path: Any) -> None:
        path = tmp_path / "pixel.png"
        path.write_bytes(PNG)
        assert ImageBlock.from_file(path) == ImageBlock(
            media_type="image/png", data=PNG
        )

    def test_data_url_round_trips(self) -> None:
        block = ImageBlock(media_type="image/png", data=PNG)
        assert block.data_url.startswith("data:image/png;base64,iVBOR")
        assert ImageBlock.from_data_url(block.data_url) == block

    def test_the_repr_shows_the_size_not_the_bytes(self) -> None:
        assert f"<{len(PNG)} bytes>" in repr(
            ImageBlock(media_type="image/png", data=PNG)
        )

    def test_sniffing_unknown_bytes_gives_none(self) -> None:
        assert sniff_media_type(b"") is None


class TestToolCallBlock:
    def test_invalid_json_arguments_raise_tool_arguments_error(self) -> None:
        call = ToolCallBlock(id="call_1", name="search", arguments='{"q": "x"')
        with pytest.raises(ToolArgumentsError) as info:
            call.parsed_arguments()
        assert info.value.path == "$.arguments"
        assert info.value.received == '{"q": "x"'
        assert "Arguments of tool call 'call_1' (search) are not valid JSON" in (
            info.value.message
        )
        assert "error tool result" in info.value.message

    @pytest.mark.parametrize("arguments", ["[1, 2]", '"text"', "3", "null"])
    def test_arguments_that_are_not_an_object_raise(self, arguments: str) -> None:
        call = ToolCallBlock(id="c", name="f", arguments=arguments)
        with pytest.raises(ToolArgumentsError, match="are not a JSON object"):
            call.parsed_arguments()

    def test_building_a_call_with_invalid_arguments_is_allowed(self) -> None:
        assert ToolCallBlock(id="c", name="f", arguments="{oops").arguments == "{oops"

    @given(cst.tool_arguments())
    def test_arguments_are_kept_byte_for_byte(self, arguments: str) -> None:
        """The arguments text is held exactly as received and parses to an object."""
        call = ToolCallBlock(id="c", name="f", arguments=arguments)
        assert call.arguments == arguments
        assert isinstance(call.parsed_arguments(), dict)

    def test_arguments_default_to_an_empty_object(self) -> None:
        assert ToolCallBlock(id="c", name="f").parsed_arguments() == {}


class TestReasoningBlock:
    def test_text_joins_the_readable_parts_only(self) -> None:
        block = ReasoningBlock(
            parts=(
                SummaryText(text="a", signature="s"),
                SummaryEncryptedText(data="zz"),
                SummaryText(text="b"),
            )
        )
        assert block.text == "ab"

    @pytest.mark.parametrize(
        ("parts", "signed"),
        [
            ((SummaryText(text="t"),), False),
            ((SummaryText(text="t", signature=""),), False),
            ((SummaryText(text="t", signature="sig"),), True),
            ((SummaryText(text="", signature="sig"),), True),
            ((SummaryEncryptedText(data="x"),), True),
            ((), False),
        ],
    )
    def test_is_signed_when_a_part_has_a_signature_or_is_encrypted(
        self, parts: tuple[Any, ...], signed: bool
    ) -> None:
        assert ReasoningBlock(parts=parts).is_signed is signed

    def test_parts_are_kept_in_order_and_never_merged(self) -> None:
        parts = [
            SummaryText(text="a", signature="1"),
            SummaryText(text="b", signature="2"),
        ]
        block = ReasoningBlock(parts=parts)
        assert block.parts == tuple(parts)

    @given(st.lists(cst.reasoning_parts(), max_size=4))
    def test_parts_become_a_tuple(self, parts: list[Any]) -> None:
        """Whatever iterable of parts is given is held as a tuple, in order."""
        assert ReasoningBlock(parts=iter(parts)).parts == tuple(parts)


class TestToolResultBlock:
    def test_text_of_string_content(self) -> None:
        assert ToolResultBlock(call_id="a", content="done").text == "done"

    def test_text_of_block_content_leaves_images_out(self) -> None:
        result = ToolResultBlock(
            call_id="a",
            content=[
                TextBlock(text="x"),
                ImageBlock(media_type="image/png", data=PNG),
                TextBlock(text="y"),
            ],
        )
        assert result.text == "xy"
        assert isinstance(result.content, tuple)

    def test_error_and_synthetic_flags_default_to_false(self) -> None:
        result = ToolResultBlock(call_id="a", content="")
        assert (result.is_error, result.synthetic) == (False, False)


class TestValues:
    @given(cst.blocks())
    def test_blocks_are_frozen(self, block: Any) -> None:
        """No block field can be assigned after construction."""
        with pytest.raises(AttributeError):
            block.cache_control = None

    @given(cst.blocks())
    def test_equal_blocks_hash_equally(self, block: Any) -> None:
        """A block and its evolve-copy are equal and hash alike."""
        import attrs

        twin = attrs.evolve(block)
        assert twin == block
        assert hash(twin) == hash(block)

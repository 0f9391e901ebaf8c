"""Content blocks: the typed, frozen pieces a turn is made of.

Every block is tagged by an ordinary `type` field with a literal default, so the
canonical converter dispatches on it and always writes it. Canonical tags are
provider-neutral: `text`, `reasoning`, `image`, `tool_call`, `tool_result`.
Reasoning parts are `summary_text` and `summary_encrypted_text`.

Invariants: every string is storable (see `convo._json.check_text`); signed
reasoning is held verbatim, part by part, never merged or re-wrapped; an image
is always inline base64-able bytes of an accepted media type under the size cap;
provider fields convo does not model ride along in `extra`, verbatim.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeAlias

import attrs

from convo._check import as_tuple
from convo._json import JSON, JSONObject, check_text, json_object
from convo.errors import InvalidImageError, ToolArgumentsError

__all__ = [
    "IMAGE_MAX_BASE64_BYTES",
    "IMAGE_MEDIA_TYPES",
    "Block",
    "CacheControl",
    "ImageBlock",
    "MediaType",
    "Provenance",
    "ReasoningBlock",
    "ReasoningPart",
    "SummaryEncryptedText",
    "SummaryText",
    "TextBlock",
    "ToolCallBlock",
    "ToolResultBlock",
    "ToolResultContent",
]

MediaType: TypeAlias = Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
IMAGE_MEDIA_TYPES: tuple[MediaType, ...] = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
)
IMAGE_MAX_BASE64_BYTES = 5 * 1024 * 1024
"""The largest image convo accepts, measured as its base64 text (5 MiB, as Anthropic)."""


def _text(path: str) -> Any:
    def validate(_instance: object, _attribute: object, value: str) -> None:
        check_text(value, path=path)

    return validate


def _optional_text(path: str) -> Any:
    def validate(_instance: object, _attribute: object, value: str | None) -> None:
        if value is not None:
            check_text(value, path=path)

    return validate


def _extra(value: Mapping[str, Any]) -> JSONObject:
    return json_object(value, path="$.extra")


@attrs.frozen(kw_only=True)
class CacheControl:
    """A prompt-cache breakpoint marker: `ephemeral`, with an optional ttl.

    Markers are request-view decorations placed by `convo.policies.cache_breakpoints`;
    convo never needs them in stored history (provider rule R6).
    """

    type: Literal["ephemeral"] = "ephemeral"
    ttl: Literal["5m", "1h"] | None = None
    """None means the provider default (5 minutes)."""


@attrs.frozen(kw_only=True)
class Provenance:
    """Which model produced a reasoning block (provider rule R4)."""

    provider: str = attrs.field(validator=_text("$.provenance.provider"))
    """`anthropic`, `openai`, `google`, ... as the target names it."""
    family: str = attrs.field(validator=_text("$.provenance.family"))
    """The model family whose signatures are interchangeable, e.g. `claude`."""
    model: str | None = attrs.field(
        default=None, validator=_optional_text("$.provenance.model")
    )
    """The exact model or endpoint name, when known."""
    route: str | None = attrs.field(
        default=None, validator=_optional_text("$.provenance.route")
    )
    """The route whose server signed it, for targets with several routes
    (`Target.route`, e.g. `open-responses`); None for chat completions and the
    Messages API, whose Claude signatures are interchangeable. Encrypted
    reasoning is bound to its issuer, so it goes back only to the same route
    (docs/responses.md, RR10)."""


@attrs.frozen(kw_only=True)
class SummaryText:
    """A reasoning part with text and a signature; either may be empty.

    A signature-only part (empty text) is what Claude sends in the "omitted"
    display mode and at the end of a stream. It is valid and must survive.
    """

    type: Literal["summary_text"] = attrs.field(default="summary_text", repr=False)
    text: str = attrs.field(default="", validator=_text("$.text"))
    signature: str | None = attrs.field(
        default=None, validator=_optional_text("$.signature")
    )
    """None means the provider sent no signature key at all; "" means it sent an empty one."""


@attrs.frozen(kw_only=True)
class SummaryEncryptedText:
    """An opaque reasoning part (Anthropic `redacted_thinking`), replayed as is."""

    type: Literal["summary_encrypted_text"] = attrs.field(
        default="summary_encrypted_text", repr=False
    )
    data: str = attrs.field(validator=_text("$.data"))


ReasoningPart: TypeAlias = SummaryText | SummaryEncryptedText


def _parts(items: Iterable[ReasoningPart]) -> tuple[ReasoningPart, ...]:
    return as_tuple(
        items,
        "parts",
        expected="reasoning parts",
        fix="Pass a list of SummaryText or SummaryEncryptedText values.",
    )


@attrs.frozen(kw_only=True)
class TextBlock:
    """Plain text. Use `attrs.evolve` to get a changed copy."""

    type: Literal["text"] = attrs.field(default="text", repr=False)
    text: str = attrs.field(validator=_text("$.text"))
    cache_control: CacheControl | None = None
    extra: Mapping[str, JSON] = attrs.field(
        factory=dict, converter=_extra, hash=False, repr=False
    )
    """Provider fields convo does not model (e.g. citations), kept verbatim."""


@attrs.frozen(kw_only=True)
class ReasoningBlock:
    """The model's reasoning, as the ordered parts it arrived in (provider rule R1)."""

    type: Literal["reasoning"] = attrs.field(default="reasoning", repr=False)
    parts: tuple[ReasoningPart, ...] = attrs.field(converter=_parts)
    provenance: Provenance | None = None
    """Who produced it; None for imported history of unknown origin."""
    cache_control: CacheControl | None = None
    extra: Mapping[str, JSON] = attrs.field(
        factory=dict, converter=_extra, hash=False, repr=False
    )

    @property
    def text(self) -> str:
        """The readable text of every `summary_text` part, joined."""
        return "".join(p.text for p in self.parts if isinstance(p, SummaryText))

    @property
    def is_signed(self) -> bool:
        """Whether any part carries a signature or is encrypted."""
        return any(
            isinstance(p, SummaryEncryptedText) or bool(p.signature) for p in self.parts
        )


def _image_data(value: bytes) -> bytes:
    if not isinstance(value, bytes):
        raise InvalidImageError(
            "Image data must be bytes",
            path="$.data",
            received=f"<{type(value).__name__}>",
            fix="Use ImageBlock.from_file(), from_data_url() or from_bytes().",
        )
    encoded = 4 * ((len(value) + 2) // 3)
    if encoded > IMAGE_MAX_BASE64_BYTES:
        raise InvalidImageError(
            f"Image is {encoded} bytes as base64, over the limit of "
            f"{IMAGE_MAX_BASE64_BYTES} bytes (5 MiB)",
            path="$.data",
            received=f"<{len(value)} bytes>",
            fix="Downscale or recompress the image before attaching it.",
        )
    return value


def _media_type(_instance: object, _attribute: object, value: str) -> None:
    if value not in IMAGE_MEDIA_TYPES:
        raise InvalidImageError(
            "Unsupported image media type",
            path="$.media_type",
            received=value,
            fix=f"Use one of {', '.join(IMAGE_MEDIA_TYPES)}.",
        )


def sniff_media_type(data: bytes) -> MediaType | None:
    """The media type that `data`'s magic bytes announce, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@attrs.frozen(kw_only=True)
class ImageBlock:
    """An inline image: bytes and their media type (http URLs are refused, rule R18)."""

    type: Literal["image"] = attrs.field(default="image", repr=False)
    media_type: MediaType = attrs.field(validator=_media_type)
    data: bytes = attrs.field(converter=_image_data, repr=lambda d: f"<{len(d)} bytes>")
    cache_control: CacheControl | None = None

    @classmethod
    def from_bytes(
        cls, data: bytes, *, media_type: MediaType | None = None
    ) -> ImageBlock:
        """Build from raw bytes; the media type is sniffed when not given."""
        sniffed = sniff_media_type(data)
        chosen = media_type or sniffed
        if chosen is None:
            raise InvalidImageError(
                "Cannot tell the image's media type from its bytes",
                path="$.data",
                received=data[:16],
                fix="Pass media_type=, or convert the image to jpeg, png, gif or webp.",
            )
        return cls(media_type=chosen, data=data)

    @classmethod
    def from_file(cls, path: str | Path) -> ImageBlock:
        """Read an image file; its media type is sniffed from the bytes."""
        return cls.from_bytes(Path(path).read_bytes())

    @classmethod
    def from_data_url(cls, url: str) -> ImageBlock:
        """Build from a `data:<media type>;base64,<data>` URL.

        Raises:
            InvalidImageError: the URL is http(s), not base64, or of another type.
        """
        if url.startswith(("http://", "https://")):
            raise InvalidImageError(
                "Image URLs are not accepted; Databricks takes only base64 data "
                "URLs (rule R18)",
                path="$.url",
                received=url,
                fix="Download the image and use ImageBlock.from_bytes(data) or "
                "ImageBlock.from_file(path) to inline it.",
            )
        head, sep, payload = url.partition(",")
        if not (sep and head.startswith("data:") and head.endswith(";base64")):
            raise InvalidImageError(
                "Not a base64 data URL",
                path="$.url",
                received=url,
                fix="Use the form data:image/png;base64,<data>.",
            )
        media_type = head[len("data:") : -len(";base64")]
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidImageError(
                "Image data is not valid base64",
                path="$.url",
                received=payload,
                fix="Encode the bytes with base64.b64encode.",
            ) from None
        return cls(media_type=media_type, data=data)  # type: ignore[arg-type]

    @property
    def base64(self) -> str:
        """The data as standard base64 text."""
        return base64.b64encode(self.data).decode("ascii")

    @property
    def data_url(self) -> str:
        """The image as a `data:` URL."""
        return f"data:{self.media_type};base64,{self.base64}"


@attrs.frozen(kw_only=True)
class ToolCallBlock:
    """A tool call from the model, with its arguments exactly as received."""

    type: Literal["tool_call"] = attrs.field(default="tool_call", repr=False)
    id: str = attrs.field(validator=_text("$.id"))
    name: str = attrs.field(validator=_text("$.name"))
    arguments: str = attrs.field(default="{}", validator=_text("$.arguments"))
    """The JSON text the provider sent, byte for byte; see `parsed_arguments()`."""
    cache_control: CacheControl | None = None
    extra: Mapping[str, JSON] = attrs.field(
        factory=dict, converter=_extra, hash=False, repr=False
    )
    """Provider fields on the call (Gemini thought signatures), echoed back verbatim."""

    def parsed_arguments(self) -> JSONObject:
        """The arguments as a JSON object.

        Raises:
            ToolArgumentsError: they are not valid JSON, or not an object.
        """
        try:
            value = json.loads(self.arguments)
        except (ValueError, RecursionError):
            raise ToolArgumentsError(
                f"Arguments of tool call {self.id!r} ({self.name}) are not valid JSON",
                path="$.arguments",
                received=self.arguments,
                fix="Ask the model again, or answer with an error tool result.",
            ) from None
        if not isinstance(value, dict):
            raise ToolArgumentsError(
                f"Arguments of tool call {self.id!r} ({self.name}) are not a JSON "
                "object",
                path="$.arguments",
                received=self.arguments,
            )
        return value


ToolResultContent: TypeAlias = "str | tuple[TextBlock | ImageBlock, ...]"


def _result_content(
    value: str | Iterable[TextBlock | ImageBlock],
) -> str | tuple[TextBlock | ImageBlock, ...]:
    if isinstance(value, str):
        return check_text(value, path="$.content")
    return as_tuple(
        value,
        "content",
        expected="TextBlock or ImageBlock",
        fix="Pass the result as a str, or a list of TextBlock and ImageBlock values.",
    )


@attrs.frozen(kw_only=True)
class ToolResultBlock:
    """The answer to one tool call: text or blocks, and whether it is an error."""

    type: Literal["tool_result"] = attrs.field(default="tool_result", repr=False)
    call_id: str = attrs.field(validator=_text("$.call_id"))
    content: str | tuple[TextBlock | ImageBlock, ...] = attrs.field(
        converter=_result_content
    )
    is_error: bool = False
    synthetic: bool = False
    """True when convo made this result up (e.g. for a call left unanswered)."""
    cache_control: CacheControl | None = None
    extra: Mapping[str, JSON] = attrs.field(
        factory=dict, converter=_extra, hash=False, repr=False
    )

    @property
    def text(self) -> str:
        """The content's text, with image blocks left out."""
        if isinstance(self.content, str):
            return self.content
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))


Block: TypeAlias = (
    TextBlock | ReasoningBlock | ImageBlock | ToolCallBlock | ToolResultBlock
)
"""Any content block."""

BLOCK_TAGS: tuple[str, ...] = ("text", "reasoning", "image", "tool_call", "tool_result")

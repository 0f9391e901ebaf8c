"""Hypothesis strategies for convo's leaf values: text, JSON, blocks, tools.

Invariant: everything drawn here is a value convo accepts — text never holds
NUL or a lone surrogate, images are small valid PNG or GIF bytes, reasoning
parts keep the shapes providers really send (signed, unsigned, signature-only,
encrypted). Options follow Hypothesis' own style: keyword-only, with defaults,
and impossible combinations raise `InvalidArgument` when the strategy is drawn.
"""

from __future__ import annotations

import base64
import functools
import json
import string
import struct
import zlib
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from convo._blocks import (
    BLOCK_TAGS,
    Block,
    CacheControl,
    ImageBlock,
    Provenance,
    ReasoningBlock,
    ReasoningPart,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._json import JSON, JSONObject
from convo._tools import Tool
from convo._turns import Usage

__all__ = [
    "SPECIAL_TEXTS",
    "blocks",
    "json_objects",
    "json_values",
    "provenances",
    "reasoning_parts",
    "texts",
    "tools",
    "usages",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _cached(fn: F) -> F:
    """Build each strategy once per arguments (building them per draw is slow)."""
    cached = functools.cache(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return cached(*args, **kwargs)
        except TypeError:  # unhashable arguments: let the strategy report them
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


SPECIAL_TEXTS: tuple[str, ...] = (
    "hello",
    "",
    "👩‍👩‍👧‍👦 family emoji (ZWJ sequence)",
    "مرحبا بالعالم",
    "שלום עולם",
    "e\u0301 combining acute, c\u0327 cedilla",
    "line\u2028separator\u2029paragraph",
    "tab\tnew\nline\r\ncrlf",
    "\ufeffbyte order mark",
    '"quotes" \\ backslash </script>',
    "\U0001f600\U0001f4a1\U0001f680",
    "日本語のテキスト",
    "\u202eright-to-left override",
    "\x7f\x01 control",
)
"""Texts that break naive encoders; `texts()` mixes them into its output."""

_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
_ALPHABET = st.characters(exclude_categories=_SURROGATES, exclude_characters="\x00")


def deferred_check(build: Callable[[], st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """A strategy whose arguments are checked (and built) at first draw, as Hypothesis does."""
    return st.deferred(build)


def check_bool(name: str, value: object) -> None:
    """Raise InvalidArgument unless `value` is a bool."""
    if not isinstance(value, bool):
        msg = f"{name}={value!r} must be a bool"
        raise InvalidArgument(msg)


def check_size(name: str, value: object, *, minimum: int = 0) -> int:
    """Raise InvalidArgument unless `value` is an int of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        msg = f"{name}={value!r} must be an int >= {minimum}"
        raise InvalidArgument(msg)
    return value


@_cached
def texts(*, min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Storable text: any Unicode but NUL and lone surrogates, often emoji, RTL, U+2028."""

    def build() -> st.SearchStrategy[str]:
        low = check_size("min_size", min_size)
        high = check_size("max_size", max_size)
        if high < low:
            msg = f"max_size={max_size!r} must be >= min_size={min_size!r}"
            raise InvalidArgument(msg)
        special = [s for s in SPECIAL_TEXTS if low <= len(s) <= high]
        plain = st.text(_ALPHABET, min_size=low, max_size=high)
        return st.one_of(plain, st.sampled_from(special)) if special else plain

    return deferred_check(build)


_SCALARS: st.SearchStrategy[JSON] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    texts(max_size=12),
)


@_cached
def json_values(*, max_leaves: int = 6) -> st.SearchStrategy[JSON]:
    """Small JSON values: finite numbers, storable strings, lists and objects."""
    return st.recursive(
        _SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(texts(max_size=8), inner, max_size=3),
        ),
        max_leaves=max_leaves,
    )


@_cached
def json_objects(*, max_size: int = 3) -> st.SearchStrategy[JSONObject]:
    """Small JSON objects with storable keys."""
    return st.dictionaries(texts(max_size=10), json_values(), max_size=max_size)


def _sometimes_empty(strategy: st.SearchStrategy[T], empty: T) -> st.SearchStrategy[T]:
    return st.one_of(st.just(empty), strategy)


@_cached
def _extras() -> st.SearchStrategy[JSONObject]:
    return _sometimes_empty(json_objects(max_size=2), {})


@_cached
def _cache_controls(enabled: bool) -> st.SearchStrategy[CacheControl | None]:
    if not enabled:
        return st.none()
    return st.one_of(
        st.none(),
        st.builds(CacheControl, ttl=st.sampled_from([None, "5m", "1h"])),
    )


_CLAUDE_MODELS = (
    None,
    "databricks-claude-sonnet-4-5",
    "databricks-claude-opus-4-5",
    "claude-sonnet-4-5-20250929",
)
_OTHER_PROVENANCES: tuple[tuple[str, str, str | None], ...] = (
    ("openai", "gpt-oss", "databricks-gpt-oss-120b"),
    ("openai", "gpt-5", "databricks-gpt-5-1"),
    ("google", "gemini", "databricks-gemini-3-pro"),
    ("anthropic", "claude", None),
)


@_cached
def provenances() -> st.SearchStrategy[Provenance]:
    """Who wrote a reasoning block: mostly Claude, sometimes another family."""
    claude = st.builds(
        Provenance,
        provider=st.just("anthropic"),
        family=st.just("claude"),
        model=st.sampled_from(_CLAUDE_MODELS),
    )
    other = st.sampled_from(_OTHER_PROVENANCES).map(
        lambda t: Provenance(provider=t[0], family=t[1], model=t[2])
    )
    return st.one_of(claude, claude, claude, other)


def _opaque(min_size: int = 8, max_size: int = 48) -> st.SearchStrategy[str]:
    return st.binary(min_size=min_size, max_size=max_size).map(
        lambda b: base64.b64encode(b).decode("ascii")
    )


@_cached
def reasoning_parts(
    *, summary: bool = True, encrypted: bool = True
) -> st.SearchStrategy[ReasoningPart]:
    """Reasoning parts: signed, unsigned, signature-only (empty text) or encrypted."""

    def build() -> st.SearchStrategy[Any]:
        check_bool("summary", summary)
        check_bool("encrypted", encrypted)
        if not (summary or encrypted):
            msg = "reasoning_parts() needs summary=True or encrypted=True"
            raise InvalidArgument(msg)
        options: list[st.SearchStrategy[Any]] = []
        if summary:
            options += [
                st.builds(SummaryText, text=texts(min_size=1), signature=_opaque()),
                st.builds(SummaryText, text=texts(), signature=st.none()),
                st.builds(SummaryText, text=st.just(""), signature=_opaque()),
                st.builds(SummaryText, text=texts(), signature=st.just("")),
            ]
        if encrypted:
            options.append(st.builds(SummaryEncryptedText, data=_opaque(16, 96)))
        return st.one_of(options)

    return deferred_check(build)


@_cached
def _reasoning_blocks(cache_control: bool) -> st.SearchStrategy[ReasoningBlock]:
    return st.builds(
        ReasoningBlock,
        parts=st.lists(reasoning_parts(), min_size=1, max_size=3).map(tuple),
        provenance=st.one_of(provenances(), provenances(), provenances(), st.none()),
        cache_control=_cache_controls(cache_control),
        extra=_extras(),
    )


@_cached
def text_blocks(*, cache_control: bool = False) -> st.SearchStrategy[TextBlock]:
    """Text blocks, sometimes with provider extras."""
    return st.builds(
        TextBlock,
        text=texts(),
        cache_control=_cache_controls(cache_control),
        extra=_extras(),
    )


def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid truecolour PNG of one colour."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


_GIF_1X1 = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@_cached
def image_blocks(*, cache_control: bool = False) -> st.SearchStrategy[ImageBlock]:
    """Small, valid inline images (PNG mostly, sometimes GIF)."""
    byte = st.integers(0, 255)
    png = st.builds(
        png_bytes, st.integers(1, 4), st.integers(1, 4), st.tuples(byte, byte, byte)
    ).map(lambda data: ImageBlock(media_type="image/png", data=data))
    gif = st.just(ImageBlock(media_type="image/gif", data=_GIF_1X1))
    images = st.one_of(png, gif)
    if not cache_control:
        return images
    return st.builds(
        lambda image, marker: attrs.evolve(image, cache_control=marker),
        images,
        _cache_controls(True),
    )


_LETTERS = string.ascii_letters + "_"
_NAME_CHARS = _LETTERS + string.digits + "-"
_LOWER = string.ascii_lowercase + string.digits + "_"


@_cached
def identifiers(
    *, max_size: int = 21, alphabet: str = _NAME_CHARS
) -> st.SearchStrategy[str]:
    """Names like `get_weather`: a letter or `_`, then letters, digits, `_` or `-`."""
    first = st.sampled_from(sorted(set(alphabet) & set(_LETTERS)))
    rest = st.text(alphabet, max_size=max_size - 1)
    return st.builds(lambda a, b: a + b, first, rest)


TOOL_NAMES = ("get_weather", "search_docs", "run_sql", "calculator", "read_file")
ID_STYLES = ("toolu_", "call_", "fc-", "")


@_cached
def tool_arguments() -> st.SearchStrategy[str]:
    """Arguments JSON text as providers send it: compact, spaced or key-unsorted."""
    return st.builds(
        lambda obj, style: (
            json.dumps(obj, ensure_ascii=False)
            if style == 0
            else json.dumps(obj, separators=(",", ":"), sort_keys=True)
            if style == 1
            else json.dumps(obj)
        ),
        json_objects(),
        st.integers(0, 2),
    )


def tool_call_blocks(
    call_ids: st.SearchStrategy[str] | None = None, *, cache_control: bool = False
) -> st.SearchStrategy[ToolCallBlock]:
    """Tool calls with valid JSON object arguments; sometimes provider extras."""
    if call_ids is None:
        return _tool_call_blocks(cache_control)
    return st.builds(attrs.evolve, _tool_call_blocks(cache_control), id=call_ids)


@_cached
def _tool_call_blocks(cache_control: bool) -> st.SearchStrategy[ToolCallBlock]:
    ids = _call_ids()
    return st.builds(
        ToolCallBlock,
        id=ids,
        name=st.one_of(
            st.sampled_from(TOOL_NAMES),
            identifiers(max_size=21),
        ),
        arguments=tool_arguments(),
        cache_control=_cache_controls(cache_control),
        extra=st.one_of(
            st.just({}),
            _opaque().map(lambda s: {"thought_signature": s}),
            _extras(),
        ),
    )


@_cached
def _call_ids() -> st.SearchStrategy[str]:
    return st.builds(
        lambda style, body: style + body,
        st.sampled_from(ID_STYLES),
        st.text("0123456789abcdefABCDEF", min_size=1, max_size=24),
    )


def tool_result_blocks(
    call_ids: st.SearchStrategy[str] | None = None,
    *,
    images: bool = True,
    cache_control: bool = False,
) -> st.SearchStrategy[ToolResultBlock]:
    """Tool results: text or a list of text (and image) blocks, sometimes errors."""
    if call_ids is None:
        return _tool_result_blocks(images, cache_control)
    return st.builds(
        attrs.evolve, _tool_result_blocks(images, cache_control), call_id=call_ids
    )


@_cached
def _tool_result_blocks(
    images: bool, cache_control: bool
) -> st.SearchStrategy[ToolResultBlock]:
    ids = _call_ids()
    inner: st.SearchStrategy[TextBlock | ImageBlock] = text_blocks()
    if images:
        inner = st.one_of(text_blocks(), image_blocks())
    content = st.one_of(texts(), st.lists(inner, max_size=3).map(tuple))
    return st.builds(
        ToolResultBlock,
        call_id=ids,
        content=content,
        is_error=st.booleans(),
        synthetic=st.booleans(),
        cache_control=_cache_controls(cache_control),
        extra=_extras(),
    )


def blocks(
    *,
    kinds: Iterable[str] | None = None,
    reasoning: bool = True,
    images: bool = True,
    cache_control: bool = False,
) -> st.SearchStrategy[Block]:
    """Any content block, or only the `kinds` (canonical tags) asked for.

    Args:
        kinds: tags among text, reasoning, image, tool_call, tool_result (None: all).
        reasoning: include reasoning blocks (with `kinds=None`).
        images: include image blocks, also inside tool results.
        cache_control: sometimes attach cache-control markers.
    """

    def build() -> st.SearchStrategy[Any]:
        check_bool("reasoning", reasoning)
        check_bool("images", images)
        check_bool("cache_control", cache_control)
        if isinstance(kinds, str):
            msg = f"kinds={kinds!r} must be an iterable of tags, not one string"
            raise InvalidArgument(msg)
        chosen = tuple(BLOCK_TAGS if kinds is None else kinds)
        unknown = [k for k in chosen if k not in BLOCK_TAGS]
        if unknown:
            msg = f"Unknown block kinds {unknown!r}; use some of {BLOCK_TAGS!r}"
            raise InvalidArgument(msg)
        if kinds is None:
            chosen = tuple(
                k
                for k in chosen
                if (reasoning or k != "reasoning") and (images or k != "image")
            )
        else:
            if "reasoning" in chosen and not reasoning:
                msg = "kinds includes 'reasoning' but reasoning=False"
                raise InvalidArgument(msg)
            if "image" in chosen and not images:
                msg = "kinds includes 'image' but images=False"
                raise InvalidArgument(msg)
        if not chosen:
            msg = "blocks() needs at least one block kind"
            raise InvalidArgument(msg)
        table: dict[str, st.SearchStrategy[Any]] = {
            "text": text_blocks(cache_control=cache_control),
            "reasoning": _reasoning_blocks(cache_control),
            "image": image_blocks(cache_control=cache_control),
            "tool_call": tool_call_blocks(cache_control=cache_control),
            "tool_result": tool_result_blocks(
                images=images, cache_control=cache_control
            ),
        }
        return st.one_of([table[k] for k in dict.fromkeys(chosen)])

    return deferred_check(build)


def reasoning_blocks(
    *, cache_control: bool = False
) -> st.SearchStrategy[ReasoningBlock]:
    """Reasoning blocks of one to three parts, of various provenances."""
    return _reasoning_blocks(cache_control)


@_cached
def usages() -> st.SearchStrategy[Usage]:
    """Token usage reports with any field absent."""
    count = st.one_of(st.none(), st.integers(0, 10**6))
    return st.builds(
        Usage,
        prompt_tokens=count,
        completion_tokens=count,
        total_tokens=count,
        cache_read_tokens=count,
        cache_write_tokens=count,
        reasoning_tokens=count,
    )


_SCHEMA_TYPES = ("string", "integer", "number", "boolean")


@_cached
def _schemas() -> st.SearchStrategy[JSONObject]:
    properties = st.dictionaries(
        identifiers(max_size=13, alphabet=_LOWER),
        st.builds(
            lambda kind, doc: (
                {"type": kind, "description": doc} if doc else {"type": kind}
            ),
            st.sampled_from(_SCHEMA_TYPES),
            texts(max_size=20),
        ),
        max_size=4,
    )
    return st.builds(
        lambda props, strict: {
            "type": "object",
            "properties": props,
            "required": sorted(props),
            **({"additionalProperties": False} if strict else {}),
        },
        properties,
        st.booleans(),
    )


def tools(*, cache_control: bool = False) -> st.SearchStrategy[Tool]:
    """Tool definitions with small JSON Schemas."""

    def build() -> st.SearchStrategy[Tool]:
        check_bool("cache_control", cache_control)
        return st.builds(
            Tool,
            name=st.one_of(
                st.sampled_from(TOOL_NAMES),
                identifiers(max_size=41),
            ),
            description=texts(max_size=60),
            parameters=_schemas(),
            strict=st.sampled_from([None, True, False]),
            cache_control=_cache_controls(cache_control),
            extra=st.just({}),
        )

    return deferred_check(build)

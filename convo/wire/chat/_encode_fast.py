"""Canonical bytes of the common message shapes, written without building dicts.

Most turns are plain: one text, reasoning plus text, a few tool calls without
provider extras, tool results as strings. For those this writes the JSON text
directly (keys in sorted order, compact, strings escaped by the C encoder
`canonical_bytes` itself uses), which makes a cold encode close to the cost of
`json.dumps`. Anything else (markers, extras, images, R11 splitting) returns
None and takes the general dict path.

Invariant: whenever `fast` returns a value, it equals the canonical bytes of
the general encoder's messages for the same turn and target (a property test
checks it).
"""

from __future__ import annotations

from json.encoder import encode_basestring as _encode_basestring
from json.encoder import encode_basestring_ascii as _encode_basestring_ascii

from convo._blocks import (
    ReasoningBlock,
    SummaryEncryptedText,
    SummaryText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._targets import Target
from convo._turns import Turn

__all__ = ["Entry", "fast"]

Entry = tuple[str | None, bytes]
"""One encoded message: the tool call id it belongs to (for R11 ordering), its bytes."""
_Entry = Entry


def _esc(text: str) -> str:
    """A JSON string literal, as `canonical_bytes` writes it (ensure_ascii off).

    For ASCII text without DEL the ASCII escaper gives the same literal, faster.
    """
    if text.isascii() and "\x7f" not in text:
        return _encode_basestring_ascii(text)
    return _encode_basestring(text)


def _fast_reasoning(b: ReasoningBlock) -> str:
    summary: list[str] = []
    for p in b.parts:
        if type(p) is SummaryText:
            if p.signature is None:
                summary.append(f'{{"text":{_esc(p.text)},"type":"summary_text"}}')
            else:
                summary.append(
                    f'{{"signature":{_esc(p.signature)},"text":{_esc(p.text)},'
                    '"type":"summary_text"}'
                )
        else:
            assert isinstance(p, SummaryEncryptedText)  # noqa: S101 - closed union
            summary.append(f'{{"data":{_esc(p.data)},"type":"summary_encrypted_text"}}')
    return f'{{"summary":[{",".join(summary)}],"type":"reasoning"}}'


def fast(turn: Turn, target: Target) -> tuple[_Entry, ...] | None:
    """Canonical bytes of the common shapes without building dicts, else None."""
    role = turn.role
    if role == "user" or role == "system":
        return _fast_plain(turn, target)
    if role == "tool":
        return _fast_results(turn)
    return _fast_assistant(turn, target)


def _fast_plain(turn: Turn, target: Target) -> tuple[_Entry, ...] | None:
    """A user or system turn of one plain, non-blank text."""
    blocks = turn.blocks
    if len(blocks) != 1:
        return None
    only = blocks[0]
    if (
        type(only) is TextBlock
        and not only.extra
        and only.cache_control is None
        and not (target.rejects_empty_text and (not only.text or only.text.isspace()))
    ):
        data = f'{{"content":{_esc(only.text)},"role":"{turn.role}"}}'
        return ((None, data.encode()),)
    return None


def _fast_results(turn: Turn) -> tuple[_Entry, ...] | None:
    """A tool turn whose results are plain strings: one message per result."""
    entries: list[_Entry] = []
    for b in turn.blocks:
        if (
            type(b) is not ToolResultBlock
            or type(b.content) is not str
            or b.cache_control is not None
            or b.extra
        ):
            return None
        data = (
            f'{{"content":{_esc(b.content)},"role":"tool",'
            f'"tool_call_id":{_esc(b.call_id)}}}'
        )
        entries.append((b.call_id, data.encode()))
    return tuple(entries)


def _fast_assistant(turn: Turn, target: Target) -> tuple[_Entry, ...] | None:
    """An assistant turn of text, reasoning and tool calls without extras or markers."""
    blocks = turn.blocks
    blank_drops = target.rejects_empty_text
    parts: list[str] = []
    calls: list[str] = []
    first_call: str | None = None
    texts = 0
    # Content parts and tool calls, in order; anything unusual takes the dict path.
    for b in blocks:
        kind = type(b)
        if kind is ToolCallBlock:
            assert isinstance(b, ToolCallBlock)  # noqa: S101 - narrowed by type()
            if b.extra or b.cache_control is not None:
                return None
            if first_call is None:
                first_call = b.id
            calls.append(
                f'{{"function":{{"arguments":{_esc(b.arguments)},"name":{_esc(b.name)}}},'
                f'"id":{_esc(b.id)},"type":"function"}}'
            )
            continue
        if b.cache_control is not None:
            return None
        if kind is TextBlock:
            assert isinstance(b, TextBlock)  # noqa: S101 - narrowed by type()
            if b.extra:
                return None
            if blank_drops and (not b.text or b.text.isspace()):
                continue
            texts += 1
            parts.append(f'{{"text":{_esc(b.text)},"type":"text"}}')
        elif kind is ReasoningBlock:
            assert isinstance(b, ReasoningBlock)  # noqa: S101 - narrowed by type()
            if b.extra:
                return None
            parts.append(_fast_reasoning(b))
        else:
            return None
    if len(calls) > 1 and target.tool_results_need_preceding_call:
        return None  # R11 splits the calls: the general path does it
    head = _content_head(blocks, target, parts, texts, has_calls=bool(calls))
    if not calls:
        return ((None, (head + '"role":"assistant"}').encode()),)
    data = f'{head}"role":"assistant","tool_calls":[{",".join(calls)}]}}'
    return ((first_call if len(calls) == 1 else None, data.encode()),)


def _content_head(
    blocks: tuple[object, ...],
    target: Target,
    parts: list[str],
    texts: int,
    *,
    has_calls: bool,
) -> str:
    """The message's opening and `content`: a string, a list, empty, null or absent."""
    if len(parts) == 1 and texts == 1:
        # A lone text is sent as a plain string.
        text_block = next(
            b
            for b in blocks
            if type(b) is TextBlock
            and not (target.rejects_empty_text and (not b.text or b.text.isspace()))
        )
        assert isinstance(text_block, TextBlock)  # noqa: S101 - found above
        return f'{{"content":{_esc(text_block.text)},'
    if parts:
        return f'{{"content":[{",".join(parts)}],'
    if not has_calls:
        return '{"content":"",'
    if target.empty_assistant_content == "null":
        return '{"content":null,'
    return "{"

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
    blocks = turn.blocks
    blank_drops = target.rejects_empty_text
    if role == "user" or role == "system":
        if len(blocks) == 1:
            only = blocks[0]
            if (
                type(only) is TextBlock
                and not only.extra
                and only.cache_control is None
                and not (blank_drops and (not only.text or only.text.isspace()))
            ):
                data = f'{{"content":{_esc(only.text)},"role":"{role}"}}'
                return ((None, data.encode()),)
        return None
    if role == "tool":
        entries: list[_Entry] = []
        for b in blocks:
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
    parts: list[str] = []
    calls: list[str] = []
    first_call: str | None = None
    texts = 0
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
        return None
    if len(parts) == 1 and texts == 1:
        text_block = next(
            b
            for b in blocks
            if type(b) is TextBlock
            and not (blank_drops and (not b.text or b.text.isspace()))
        )
        assert isinstance(text_block, TextBlock)  # noqa: S101 - found above
        head = f'{{"content":{_esc(text_block.text)},'
    elif parts:
        head = f'{{"content":[{",".join(parts)}],'
    elif not calls:
        head = '{"content":"",'
    elif target.empty_assistant_content == "null":
        head = '{"content":null,'
    else:
        head = "{"
    if not calls:
        return ((None, (head + '"role":"assistant"}').encode()),)
    data = f'{head}"role":"assistant","tool_calls":[{",".join(calls)}]}}'
    return ((first_call if len(calls) == 1 else None, data.encode()),)

"""The canonical converter, built once: convo's own JSON form of blocks and turns.

Rules (`configure_converter`):
- fields equal to their default are omitted, so adding an optional field later
  changes neither old documents nor old turn ids; the `type` tag is always written;
- unknown keys are refused (`forbid_extra_keys`): this is convo's own contract;
- bytes are base64, `FinishReason` is its value;
- block and reasoning-part unions dispatch on `type`;
- a tool result's content is a string or a list of text and image blocks.

A turn's canonical bytes are computed once per turn (turns are immutable) and
reused by the id hash, by `dumps`, and by the store.
"""

from __future__ import annotations

from typing import Any

import cattrs

from convo._blocks import (
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
from convo._json import JSONObject, canonical_bytes
from convo._turns import Turn, Usage
from convo.wire._base import configure_base, register_tagged_union

__all__ = [
    "CONVERTER",
    "configure_converter",
    "make_converter",
    "turn_bytes",
    "turn_plain",
]

BLOCK_CLASSES: dict[str, type] = {
    "text": TextBlock,
    "reasoning": ReasoningBlock,
    "image": ImageBlock,
    "tool_call": ToolCallBlock,
    "tool_result": ToolResultBlock,
}
PART_CLASSES: dict[str, type] = {
    "summary_text": SummaryText,
    "summary_encrypted_text": SummaryEncryptedText,
}
RESULT_CLASSES: dict[str, type] = {"text": TextBlock, "image": ImageBlock}


def _structure_result_content(
    value: object, _type: object
) -> str | tuple[TextBlock | ImageBlock, ...]:
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        msg = f"expected a string or a list of blocks, got {type(value).__name__}"
        raise TypeError(msg)
    union: Any = TextBlock | ImageBlock
    return tuple(CONVERTER.structure(item, union) for item in value)


def configure_converter(converter: cattrs.Converter) -> None:
    """Apply the canonical rules listed in this module's docstring."""
    configure_base(
        converter,
        (
            CacheControl,
            Provenance,
            SummaryText,
            SummaryEncryptedText,
            TextBlock,
            ReasoningBlock,
            ImageBlock,
            ToolCallBlock,
            ToolResultBlock,
            Usage,
            Turn,
        ),
    )
    register_tagged_union(converter, Block, BLOCK_CLASSES, what="block")
    register_tagged_union(converter, ReasoningPart, PART_CLASSES, what="reasoning part")
    register_tagged_union(
        converter,
        TextBlock | ImageBlock,
        RESULT_CLASSES,
        what="tool result content block",
    )
    converter.register_structure_hook(
        str | tuple[TextBlock | ImageBlock, ...], _structure_result_content
    )
    converter.register_unstructure_hook(
        str | tuple[TextBlock | ImageBlock, ...],
        lambda v: (
            v if isinstance(v, str) else [converter.unstructure(b, Block) for b in v]
        ),
    )


def make_converter(*, detailed_validation: bool = True) -> cattrs.Converter:
    """A new canonical converter."""
    converter = cattrs.Converter(
        omit_if_default=True,
        forbid_extra_keys=True,
        detailed_validation=detailed_validation,
    )
    configure_converter(converter)
    return converter


CONVERTER = make_converter()


def turn_plain(turn: Turn) -> JSONObject:
    """The canonical plain form of a turn (a fresh dict each call)."""
    plain: JSONObject = CONVERTER.unstructure(turn, Turn)
    return plain


def turn_bytes(turn: Turn) -> bytes:
    """The canonical bytes of a turn, computed once per turn."""
    result: bytes = turn.memo("canonical", lambda: canonical_bytes(turn_plain(turn)))
    return result


def structure(value: Any, cls: Any) -> Any:
    """Structure with the canonical converter (used by the public decode functions)."""
    return CONVERTER.structure(value, cls)

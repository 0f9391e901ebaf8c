"""Import an existing Messages API conversation (`messages` + `system`) as turns.

Mapping: `system` (string or text blocks) -> one system turn; an assistant
message -> one assistant turn (blocks as `decode_response` makes them); a user
message -> its `tool_result` blocks as one tool turn, then its other blocks
(text, image) as one user turn. Encoding the turns again gives the same
messages, because the encoder merges those back into one user message with the
results first. Nothing is dropped: `cache_control` markers and unknown block
keys are kept on the blocks (markers are request decorations; strip them with
a policy if the history should not carry them).
Invariant: malformed input raises only `DecodeError` subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convo._blocks import Block, Provenance, ToolResultBlock
from convo._targets import Target
from convo._turns import Role, Turn
from convo.wire._shared._json import fail, guard
from convo.wire.anthropic._decode import IMPORT_BLOCK_TYPES, blocks_from_content

__all__ = ["import_messages"]

_ASSISTANT = ("text", "thinking", "redacted_thinking", "tool_use")
_USER = ("text", "image", "tool_result")


def _turn(role: Role, blocks: Sequence[Block], where: str) -> Turn:
    return guard(lambda: Turn(role=role, blocks=tuple(blocks)), where=where)


def _system(system: object) -> Turn:
    blocks = blocks_from_content(
        system, where="$.system", provenance=None, allowed=("text",)
    )
    return _turn("system", blocks, "$.system")


def import_messages(
    messages: Sequence[Mapping[str, Any]],
    *,
    system: str | Sequence[Mapping[str, Any]] | None = None,
    provenance: Provenance | None = None,
    target: Target | None = None,
) -> tuple[Turn, ...]:
    """Turns from a Messages API `messages` list (and optional `system`).

    Args:
        messages: the `messages` array of a Messages request.
        system: the request's top-level `system`, if any.
        provenance: who made the imported reasoning (None: unknown origin).
        target: the model the history was made with; when given (and
            `provenance` is not), the reasoning is attributed to its family.

    Raises:
        DecodeError: a message or block does not have the Messages shape.
        UnknownBlockTypeError: a block type convo does not model.
    """
    checked: object = messages
    if isinstance(checked, str | bytes) or not isinstance(checked, Sequence):
        raise fail("messages must be a list", where="$.messages", received=messages)
    if provenance is None and target is not None:
        provenance = Provenance(
            provider="anthropic", family=target.family, model=target.name
        )
    turns: list[Turn] = []
    if system is not None and system != "" and system != []:
        turns.append(_system(system))
    for i, item in enumerate(messages):
        where = f"$.messages[{i}]"
        if not isinstance(item, Mapping):
            raise fail("A message must be an object", where=where, received=item)
        role = item.get("role")
        if role not in ("user", "assistant"):
            raise fail(
                "A message role must be user or assistant",
                where=f"{where}.role",
                received=role,
            )
        allowed = _ASSISTANT if role == "assistant" else _USER
        assert set(allowed) <= set(IMPORT_BLOCK_TYPES)  # noqa: S101 - static subset
        blocks = blocks_from_content(
            item.get("content"),
            where=f"{where}.content",
            provenance=provenance,
            allowed=allowed,
        )
        if role == "assistant":
            turns.append(_turn("assistant", blocks, where))
            continue
        results = [b for b in blocks if isinstance(b, ToolResultBlock)]
        others: list[Block] = [b for b in blocks if not isinstance(b, ToolResultBlock)]
        if results:
            turns.append(_turn("tool", results, where))
        if others or not results:
            turns.append(_turn("user", others, where))
    return tuple(turns)

"""`LawBroken`, the failure every law check raises, and how it lists a counterexample.

Kept apart from `convo.testing.laws` so that the law modules it gathers
(`_laws_context`, `_laws_flow`) can raise it without importing `laws` back.
"""

from __future__ import annotations

from convo._blocks import (
    Block,
    ReasoningBlock,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo.policies._view import RequestView

__all__ = ["LawBroken", "describe"]


class LawBroken(AssertionError):  # noqa: N818 - reads as a sentence: raise LawBroken
    """A policy broke a law it claims; names the law and the counterexample."""

    def __init__(self, law: str, policy: str, detail: str, view: RequestView) -> None:
        super().__init__(
            f"law {law!r} broken by {policy}: {detail}\n"
            f"counterexample (shrunk):\n{describe(view)}"
        )
        self.law = law
        self.policy = policy
        self.detail = detail
        self.view = view


def _short(text: str, limit: int = 24) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _describe_block(block: Block) -> str:
    if isinstance(block, TextBlock):
        out = f"text({_short(block.text)})"
    elif isinstance(block, ReasoningBlock):
        family = block.provenance.family if block.provenance else None
        signed = "signed" if block.is_signed else "unsigned"
        out = f"reasoning({family}, {signed}, {_short(block.text)})"
    elif isinstance(block, ToolCallBlock):
        out = f"tool_call({block.id!r}, {block.name!r})"
    elif isinstance(block, ToolResultBlock):
        flags = " synthetic" if block.synthetic else ""
        out = f"tool_result({block.call_id!r}{flags})"
    else:
        out = f"image({block.media_type})"
    if block.cache_control is not None:
        out += f"+cache({block.cache_control.ttl})"
    return out


def describe(view: RequestView) -> str:
    """A compact, readable listing of a view (roles, blocks, markers)."""
    lines = [
        f"  target={view.target.name!r} tools={[t.name for t in view.tools]}"
        + (
            f" tool markers={[t.cache_control.ttl for t in view.tools if t.cache_control]}"
            if any(t.cache_control for t in view.tools)
            else ""
        )
    ]
    for i, turn in enumerate(view.turns):
        stamp = " generated_from=set" if turn.generated_from else ""
        blocks = ", ".join(_describe_block(b) for b in turn.blocks)
        lines.append(f"  [{i}] {turn.role}{stamp}: {blocks}")
    return "\n".join(lines)

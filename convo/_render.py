"""A conversation's tree as terminal text: branches, roles, markers, usage.

Straight runs of turns print one under another; where turns have several
children, each child's subtree is drawn with `├──` / `└──` rails. Each line is
one turn: its role, a one-line excerpt, markers for reasoning, tool calls,
tool results and images, its token usage, and the branches whose head it is
(`*` marks the active branch).
"""

from __future__ import annotations

from collections import defaultdict

from convo._blocks import (
    ImageBlock,
    ReasoningBlock,
    SummaryEncryptedText,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._check import expect_instance
from convo._graph import Conversation, Node
from convo._ids import TurnId
from convo._turns import Turn

__all__ = ["describe_turn", "render_tree"]

_EXCERPT = 60


def _excerpt(text: str, limit: int = _EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _reasoning_marker(block: ReasoningBlock) -> str:
    encrypted = sum(isinstance(p, SummaryEncryptedText) for p in block.parts)
    state = "signed" if block.is_signed else "unsigned"
    if encrypted:
        state += f", {encrypted} encrypted"
    family = f" {block.provenance.family}" if block.provenance else ""
    return f"[reasoning{family} {state}: {_excerpt(block.text, 30)!r}]"


def describe_turn(turn: Turn) -> str:
    """One line for a turn: role, excerpt, block markers and usage."""
    parts: list[str] = []
    for block in turn.blocks:
        if isinstance(block, TextBlock):
            parts.append(repr(_excerpt(block.text)))
        elif isinstance(block, ReasoningBlock):
            parts.append(_reasoning_marker(block))
        elif isinstance(block, ToolCallBlock):
            parts.append(
                f"[call {block.name}({_excerpt(block.arguments, 30)}) {block.id}]"
            )
        elif isinstance(block, ToolResultBlock):
            flag = " error" if block.is_error else ""
            flag += " synthetic" if block.synthetic else ""
            parts.append(
                f"[result {block.call_id}{flag}: {_excerpt(block.text, 30)!r}]"
            )
        elif isinstance(block, ImageBlock):
            parts.append(f"[image {block.media_type} {len(block.data) // 1024} KB]")
    line = f"{turn.role:<9} " + " ".join(parts)
    usage = turn.usage
    if usage is not None:
        bits = [f"in {usage.prompt_tokens}", f"out {usage.completion_tokens}"]
        if usage.cache_read_tokens:
            bits.append(f"cache read {usage.cache_read_tokens}")
        if usage.cache_write_tokens:
            bits.append(f"cache write {usage.cache_write_tokens}")
        line += "  (" + ", ".join(bits) + ")"
    return line


def render_tree(conversation: Conversation, *, ids: bool = False) -> str:
    """The whole conversation as an indented tree, one turn per line.

    Raises:
        UsageError: `conversation` is not a Conversation.
    """
    expect_instance(conversation, Conversation, "conversation")
    heads: dict[TurnId, list[str]] = defaultdict(list)
    for name, head in sorted(conversation.heads.items()):
        if head is not None:
            star = "*" if name == conversation.active else ""
            heads[head].append(name + star)
    lines: list[str] = []

    def line_for(node: Node) -> str:
        text = describe_turn(node.turn)
        if ids:
            text = f"{node.id[:11]}  {text}"
        if node.id in heads:
            text += "   ◀ " + ", ".join(heads[node.id])
        return text

    def draw(start: TurnId, prefix: str, first_prefix: str) -> None:
        current: TurnId | None = start
        lead = first_prefix
        while current is not None:
            node = conversation.nodes[current]
            lines.append(lead + line_for(node))
            lead = prefix
            children = conversation.child_ids.get(current, ())
            if len(children) == 1:
                current = children[0]
                continue
            for i, child in enumerate(children):
                last = i == len(children) - 1
                draw(
                    child,
                    prefix + ("    " if last else "│   "),
                    prefix + ("└── " if last else "├── "),
                )
            current = None

    roots = conversation.child_ids.get(None, ())
    for i, root in enumerate(roots):
        if len(roots) == 1:
            draw(root, "", "")
        else:
            last = i == len(roots) - 1
            draw(root, "    " if last else "│   ", "└── " if last else "├── ")
    empty = sorted(name for name, head in conversation.heads.items() if head is None)
    if empty:
        lines.append("(empty branches: " + ", ".join(empty) + ")")
    return "\n".join(lines)

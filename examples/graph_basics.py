"""Graph basics: build a conversation with reasoning and a tool call by hand, branch it, print it.

Run with `.venv/bin/python examples/graph_basics.py`. Everything here is offline:
the assistant turns are written by hand, the way `convo.wire.*` would decode
them from a model's response.
"""

from __future__ import annotations

import json

import convo
from convo import (
    Conversation,
    FinishReason,
    Provenance,
    ReasoningBlock,
    SummaryText,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    TurnId,
)
from convo.wire import canonical

CLAUDE = Provenance(
    provider="anthropic", family="claude", model="databricks-claude-sonnet-4-5"
)


def build() -> Conversation:
    """A weather question answered through one tool call."""
    thinking = ReasoningBlock(
        parts=(
            SummaryText(
                text="The user wants current weather; I should call get_weather.",
                signature="EqQBCkYIBxgCKkDexamplesignature==",
            ),
        ),
        provenance=CLAUDE,
    )
    call = ToolCallBlock(
        id="toolu_01", name="get_weather", arguments='{"city": "Zürich"}'
    )
    return (
        Conversation.new()
        .append(convo.system("You are a concise weather assistant."))
        .user("What's the weather in Zürich?")
        .assistant(
            [thinking, call],
            model="databricks-claude-sonnet-4-5",
            finish_reason=FinishReason.TOOL_CALLS,
            finish_reason_raw="tool_use",
        )
        .tool_results(ToolResultBlock(call_id="toolu_01", content="18°C, light rain"))
        .assistant(
            "It's 18°C with light rain in Zürich — take an umbrella.",
            finish_reason=FinishReason.STOP,
            finish_reason_raw="end_turn",
        )
    )


def branch(conversation: Conversation) -> Conversation:
    """Edit the question onto branch `bern`, then regenerate the final answer on `main`."""
    question = conversation.last_user_id()
    assert question is not None
    edited = conversation.edit(
        question, convo.user("What's the weather in Bern?"), branch="bern"
    ).assistant("Sunny and 21°C in Bern.")
    return edited.switch("main").regenerate(
        convo.assistant("Zürich: 18°C, light rain. An umbrella would help."),
        branch="retry",
    )


def label(turn: Turn) -> str:
    """One line for a turn: role, markers for reasoning and tools, short text."""
    markers = []
    for block in turn.reasoning:
        kind = "signed" if block.is_signed else "unsigned"
        markers.append(f"[reasoning, {kind}]")
    markers += [f"[tool call {c.name} {c.arguments}]" for c in turn.tool_calls]
    markers += [f"[result for {r.call_id}]" for r in turn.tool_results]
    text = turn.text or " ".join(r.text for r in turn.tool_results)
    short = text if len(text) <= 48 else text[:47] + "…"
    quoted = [json.dumps(short, ensure_ascii=False)] if short else []
    return " ".join([turn.role, *markers, *quoted])


def tree(conversation: Conversation) -> list[str]:
    """The whole graph as an indented text tree, branch names shown at their heads."""
    heads: dict[TurnId, list[str]] = {}
    for name, head in conversation.heads.items():
        if head is not None:
            heads.setdefault(head, []).append(name)
    lines: list[str] = []

    def draw(turn_id: TurnId, prefix: str, last: bool) -> None:
        names = sorted(heads.get(turn_id, []))
        active = conversation.active in names
        tag = f"  ◀ {', '.join(names)}{' (active)' if active else ''}" if names else ""
        lines.append(
            f"{prefix}{'└─ ' if last else '├─ '}{label(conversation.turn(turn_id))}{tag}"
        )
        children = conversation.children(turn_id)
        for i, child in enumerate(children):
            draw(child, prefix + ("   " if last else "│  "), i == len(children) - 1)

    roots = conversation.children(None)
    for i, root in enumerate(roots):
        draw(root, "", i == len(roots) - 1)
    return lines


def main() -> None:
    """Build, branch, and print the tree and the active path's canonical JSON."""
    conversation = branch(build())
    print(
        f"{len(conversation)} turns, branches: {', '.join(sorted(conversation.heads))}"
    )
    print()
    print("\n".join(tree(conversation)))
    print()
    path = conversation.path()
    print(f"Active branch {conversation.active!r}: {len(path)} turns")
    document = canonical.dumps(Conversation.from_turns(path))
    print(document.decode("utf-8"))

    # The document loads back to the same conversation; turn ids are content hashes,
    # so the shared prefix has the same ids on every branch.
    assert canonical.dumps(canonical.loads_conversation(document)) == document
    assert conversation.path_ids("retry")[:4] == conversation.path_ids("main")[:4]


if __name__ == "__main__":
    main()

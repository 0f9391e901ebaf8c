"""Benchmark: the default policy chain on a 1,000-turn view against `json.dumps`.

Bound (issue 4): the default chain costs at most 0.5x `json.dumps` of the same
conversation's plain dicts, both timed in this run (best of several rounds).

The conversation is a realistic chatbot history: a system prompt, user
questions, Claude answers with signed reasoning, and a tool-use session every
fifth exchange; every answer carries the `generated_from` stamp `Chat` gives it
(the digest of the view it answered, after the same chain).

Two figures per target kind:
- *steady*: the view is built from a `Conversation` the backend holds, as in
  every request after the first: turn encodings and digests are memoized on
  the turns (`Turn.memo`), so the chain does no re-encoding. The bound applies.
- *after load*: fresh turn objects attached to a new graph, as `Store.load`
  does (their canonical bytes are memoized by the id check, but nothing the
  policies derive is): reported only.
- *cold*: fresh turn objects with no memo at all: reported only, for scale.

Run: `.venv/bin/python tests/benchmarks/bench_policies.py`
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from convo import (
    CacheControl,
    Conversation,
    Provenance,
    ReasoningBlock,
    SummaryText,
    Target,
    TextBlock,
    Tool,
    ToolCallBlock,
    ToolResultBlock,
    Turn,
    assistant,
    system,
    tool_results,
    user,
)
from convo._converter import converter, turn_plain
from convo._targets import CacheRules, ReasoningRules
from convo.policies import (
    RequestView,
    compose,
    default_policies,
    prefix_digest,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks._report import Report, best_of

TURNS = 1000
BOUND = 0.5
_WORDS = (
    *("cache", "model", "token", "request", "answer", "reasoning", "session"),
    *("conversation", "tool", "result", "the", "a", "of", "to", "and", "in"),
    *("is", "for", "with", "on", "that", "this", "by", "from", "latency", "budget"),
)
_CLAUDE = Provenance(provider="anthropic", family="claude", model="claude-sonnet-4-5")


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _target(*, keeps: bool) -> Target:
    return Target(
        name="bench-claude-" + ("keeps" if keeps else "discards"),
        provider="anthropic",
        family="claude",
        reasoning=ReasoningRules(style="adaptive" if keeps else "budget"),
        cache=CacheRules(supported=True),
        requires_signatures=True,
        keeps_reasoning_in_context=keeps,
        reasoning_required_in_tool_loop=True,
        rejects_empty_text=True,
    )


def _reasoning(rng: random.Random) -> ReasoningBlock:
    signature = "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(300)
    )
    return ReasoningBlock(
        parts=(SummaryText(text=_words(rng, 90), signature=signature),),
        provenance=_CLAUDE,
    )


def _conversation(target: Target) -> tuple[Conversation, tuple[Tool, ...]]:
    """A TURNS-turn conversation, each answer stamped as `Chat` would stamp it."""
    rng = random.Random(4)
    tools = (
        Tool(name="search", description=_words(rng, 30)),
        Tool(name="lookup", description=_words(rng, 30)),
    )
    chain = default_policies(target)
    path: list[Turn] = [system(_words(rng, 300))]
    exchange = 0

    def answer(blocks: list[object]) -> Turn:
        view = compose(*chain)(RequestView(turns=path, tools=tools, target=target))
        return assistant(blocks, generated_from=prefix_digest(view.turns))  # type: ignore[arg-type]

    while len(path) < TURNS:
        exchange += 1
        path.append(user(_words(rng, 50)))
        if exchange % 5 == 0:
            call = ToolCallBlock(
                id=f"toolu_{exchange:04d}",
                name="search",
                arguments=json.dumps({"query": _words(rng, 6)}),
            )
            path.append(answer([_reasoning(rng), call]))
            path.append(
                tool_results(ToolResultBlock(call_id=call.id, content=_words(rng, 80)))
            )
        path.append(answer([_reasoning(rng), TextBlock(text=_words(rng, 120))]))
    return Conversation.from_turns(path[:TURNS]), tools


def _fresh(turns: tuple[Turn, ...]) -> tuple[Turn, ...]:
    return tuple(converter().structure(turn_plain(t), Turn) for t in turns)


def _measure(report: Report, *, keeps: bool) -> bool:
    """Add the two ratios for one target kind; False when the plan looks wrong."""
    target = _target(keeps=keeps)
    kind = "keeps-reasoning" if keeps else "discards-reasoning"
    conversation, tools = _conversation(target)
    turns = conversation.path()
    plain = [turn_plain(t) for t in turns]
    chain = default_policies(target)
    fresh = [_fresh(turns) for _ in range(3)]
    loaded = [Conversation.from_turns(_fresh(turns)).path() for _ in range(3)]

    def floor() -> None:
        json.dumps(plain)

    def steady() -> None:
        compose(*chain)(RequestView(turns=turns, tools=tools, target=target))

    def cold() -> None:
        compose(*chain)(RequestView(turns=fresh.pop(), tools=tools, target=target))

    def after_load() -> None:
        compose(*chain)(RequestView(turns=loaded.pop(), tools=tools, target=target))

    result = compose(*chain)(RequestView(turns=turns, tools=tools, target=target))
    marks = sum(
        1
        for t in result.turns
        for b in t.blocks
        if isinstance(b.cache_control, CacheControl)
    )
    unbound = [n for n in result.notes if n.policy == "bind_prefixes"]
    # A discarding target's chain drops older reasoning, which changes the
    # prefix of the previous answer: bind_prefixes unbinds exactly that one.
    if len(unbound) != (0 if keeps else 1) or marks == 0:
        print(f"unexpected plan for {kind}: {len(unbound)} unbound, {marks} marks")
        return False
    base = best_of(floor, rounds=7)
    report.ratio(
        f"{kind}: default chain / json.dumps (steady)",
        best_of(steady, rounds=7) / base,
        at_most=BOUND,
    )
    report.ratio(
        f"{kind}: default chain / json.dumps (after load)",
        best_of(after_load, rounds=3) / base,
    )
    report.ratio(
        f"{kind}: default chain / json.dumps (cold)", best_of(cold, rounds=3) / base
    )
    return True


def main() -> int:
    report = Report(area="policies")
    for keeps in (False, True):
        if not _measure(report, keeps=keeps):
            return 1
    code: int = report.finish()
    return code


if __name__ == "__main__":
    sys.exit(main())

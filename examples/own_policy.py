"""A team property-tests its own payload policy with convo's law checker.

The team wants email addresses out of every request it sends, without touching
the stored history. It writes the policy as convo's one policy shape (a frozen
attrs class with `__call__`, view in, view out), states the laws it claims, and
lets `convo.testing.laws.check_policy` try it against generated conversations
(tool sessions, reasoning of several families, pre-placed cache markers) and
against realistic histories (made by `Chat` against the fake endpoint, for
Sonnet 4.5 and Opus 4.5), where the request it sends, after the target's
default chain, must be accepted (`validates`) and keep the reasoning the
server reads (`keeps_visible_reasoning`). It also states a property of its
own over `realistic_histories`: the sent user text never holds an address.

A second, deliberately broken policy ("keep the request short by dropping the
two oldest turns") is caught: it can cut a tool call off from its result, and
the checker names the law (`pairing`) with a shrunk counterexample.

Run: `.venv/bin/python examples/own_policy.py`
"""

from __future__ import annotations

import re
from functools import partial

import attrs
from hypothesis import given, settings

from convo import Conversation, MemoKey, TextBlock, Turn, assistant, user
from convo.policies import Policy, RequestView, compose, default_policies
from convo.testing.laws import LAW_TARGET, LawBroken, check_policy
from convo.testing.strategies import (
    RealisticHistory,
    conversations,
    realistic_histories,
)

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


REDACTED: MemoKey[Turn] = MemoKey("example.redacted")
"""The memo key of a redacted turn: declared once, so `turn.memo` is typed."""


def _redact_turn(turn: Turn) -> Turn:
    blocks = tuple(
        attrs.evolve(b, text=EMAIL.sub("[email]", b.text))
        if isinstance(b, TextBlock) and EMAIL.search(b.text)
        else b
        for b in turn.blocks
    )
    return turn if blocks == turn.blocks else turn.with_blocks(blocks)


@attrs.frozen(kw_only=True)
class RedactEmails:
    """Replace email addresses in user text with `[email]`.

    Laws: deterministic, pure, keeps pairing, idempotent, prefix stable (each
    turn is rewritten on its own, the same way every time).
    """

    name: str = "redact_emails"
    claims: tuple[str, ...] = (
        "idempotent",
        "prefix_stable",
        "keeps_visible_reasoning",
        "validates",
    )

    def __call__(self, view: RequestView) -> RequestView:
        turns = tuple(
            # Memoized on the turn, so the next request reuses the same object.
            t.memo(REDACTED, partial(_redact_turn, t)) if t.role == "user" else t
            for t in view.turns
        )
        if turns == view.turns:
            return view
        return attrs.evolve(view, turns=turns)


def drop_two_oldest_turns(view: RequestView) -> RequestView:
    """A broken idea: shorten long requests by dropping the two oldest turns."""
    if len(view.turns) <= 4:
        return view
    return attrs.evolve(view, turns=view.turns[2:])


@settings(max_examples=15, deadline=None, database=None)
@given(realistic_histories(target="databricks-claude-sonnet-4-5", max_actions=3))
def sent_text_holds_no_address(history: RealisticHistory) -> None:
    """Our own property, over histories a served model could have produced."""
    turns = (*history.conversation.path(), user("Write to bo@example.org"))
    view = RequestView(turns=turns, tools=history.tools, target=history.target)
    sent = compose(RedactEmails(), *default_policies(history.target))(view)
    assert not any(EMAIL.search(t.text) for t in sent.turns if t.role == "user")


def main() -> int:
    redact = RedactEmails()
    check_policy(redact, max_examples=40)
    print("redact_emails keeps its laws:", ", ".join(redact.claims))
    sent_text_holds_no_address()
    print("no address is ever sent, on realistic histories")

    conversation = Conversation.from_turns(
        [user("Mail me at ana@example.com"), assistant("Sure."), user("Thanks!")]
    )
    chain: tuple[Policy, ...] = (redact, *default_policies(LAW_TARGET))
    view = compose(*chain)(RequestView(turns=conversation.path(), target=LAW_TARGET))
    print("sent:", view.turns[0].text)
    print("stored:", conversation.path()[0].text)

    try:
        # Short conversations shrink to a readable counterexample quickly.
        check_policy(
            drop_two_oldest_turns,
            max_examples=200,
            conversations=conversations(max_turns=6),
        )
    except LawBroken as broken:
        print(f"caught: {broken}")
        return 0
    print("the broken policy was not caught")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())

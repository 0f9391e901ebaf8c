"""`without_reasoning` skips the memo for a turn without reasoning (issue 18).

On a cold resume most turns of a long path (user, tool and system turns, and
answers a policy already stripped) carry no reasoning: `without_reasoning`
answers for them without storing anything on the turn. These properties hold
the shortcut equal to the reference computation on every generated turn.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from convo import ReasoningBlock, Turn
from convo.policies._reasoning import WITHOUT_REASONING, without_reasoning
from convo.testing.strategies import turns

Keep = Callable[[ReasoningBlock], bool]


def _never(_block: ReasoningBlock) -> bool:
    return False


def _always(_block: ReasoningBlock) -> bool:
    return True


def _claude_only(block: ReasoningBlock) -> bool:
    return block.provenance is not None and block.provenance.family == "claude"


KEEPS: dict[str, Keep] = {"never": _never, "always": _always, "claude": _claude_only}


def reference(turn: Turn, keep: Keep) -> tuple[Turn | None, int]:
    """What `without_reasoning` answers, computed the plain way for every turn."""
    blocks = tuple(
        b for b in turn.blocks if not isinstance(b, ReasoningBlock) or keep(b)
    )
    dropped = len(turn.blocks) - len(blocks)
    if not dropped:
        return (None, 0)
    if all(isinstance(b, ReasoningBlock) for b in blocks):
        return (None, dropped)
    return (turn.with_blocks(blocks), dropped)


class TestWithoutReasoningEqualsItsReference:
    @settings(max_examples=300)
    @given(turn=turns(), rule=st.sampled_from(sorted(KEEPS)))
    def test_every_turn_gets_the_reference_answer(self, turn: Turn, rule: str) -> None:
        key = WITHOUT_REASONING.variant(f"test:{rule}")
        got = without_reasoning(turn, key=key, keep=KEEPS[rule])
        assert got == reference(turn, KEEPS[rule])

    @settings(max_examples=100)
    @given(turn=turns(), rule=st.sampled_from(sorted(KEEPS)))
    def test_asking_twice_gives_the_same_answer(self, turn: Turn, rule: str) -> None:
        key = WITHOUT_REASONING.variant(f"test:{rule}")
        first = without_reasoning(turn, key=key, keep=KEEPS[rule])
        assert without_reasoning(turn, key=key, keep=KEEPS[rule]) == first

    @given(turn=turns(roles=("assistant",)))
    def test_a_turn_with_reasoning_loses_it_when_nothing_is_kept(
        self, turn: Turn
    ) -> None:
        derived, dropped = without_reasoning(
            turn, key=WITHOUT_REASONING.variant("test:never"), keep=_never
        )
        assert dropped == len(turn.reasoning)
        if derived is not None:
            assert not derived.reasoning

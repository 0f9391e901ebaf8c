"""A turn's cache markers skip the memo when the turn has none (issue 18).

Most turns of a long path carry no cache-control marker: `_turn_markers`
answers `()` for them without storing anything on the turn. These properties
hold the shortcut equal to the reference computation on every generated turn,
markers included.
"""

from __future__ import annotations

from hypothesis import given, settings

from convo import CacheControl, ToolResultBlock, Turn
from convo.policies._cache import _turn_markers, markable
from convo.testing.strategies import turns


def reference(turn: Turn) -> tuple[tuple[int, int, CacheControl, bool], ...]:
    """Every marker of `turn`, found the plain way: (block, part, control, markable)."""
    found: list[tuple[int, int, CacheControl, bool]] = []
    for j, block in enumerate(turn.blocks):
        if block.cache_control is not None:
            found.append((j, -1, block.cache_control, markable(block)))
        if isinstance(block, ToolResultBlock) and not isinstance(block.content, str):
            for k, inner in enumerate(block.content):
                if inner.cache_control is not None:
                    found.append((j, k, inner.cache_control, markable(inner)))
    return tuple(found)


class TestTurnMarkersEqualTheirReference:
    @settings(max_examples=300)
    @given(turn=turns(cache_control=True))
    def test_a_turn_that_may_carry_markers_gets_the_reference_markers(
        self, turn: Turn
    ) -> None:
        assert _turn_markers(turn) == reference(turn)

    @settings(max_examples=100)
    @given(turn=turns())
    def test_a_turn_without_markers_has_none(self, turn: Turn) -> None:
        assert _turn_markers(turn) == reference(turn) == ()

    @settings(max_examples=100)
    @given(turn=turns(cache_control=True))
    def test_asking_twice_gives_the_same_markers(self, turn: Turn) -> None:
        assert _turn_markers(turn) == _turn_markers(turn)

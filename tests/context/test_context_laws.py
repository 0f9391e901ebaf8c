"""The context-window laws hold for fit and compaction on every built-in target."""

from __future__ import annotations

import attrs
import pytest

from convo.policies import Fit, RequestView, fit
from convo.testing.laws import LawBroken, check_compaction, check_fit
from convo.testing.strategies import REALISTIC_TARGETS


class TestFitLaws:
    @pytest.mark.parametrize("target", REALISTIC_TARGETS)
    def test_hold_for_fit_with_shrinking(self, target: str) -> None:
        check_fit(targets=(target,))

    def test_hold_for_fit_keeping_the_first_exchange(self) -> None:
        check_fit(
            lambda window: fit(window=window, max_output=0, margin=0, keep_first=True),
            targets=("databricks-claude-sonnet-4-5",),
        )

    def test_catch_a_fit_that_splits_the_current_exchange(self) -> None:
        @attrs.frozen
        class Careless(Fit):
            def __call__(self, view: RequestView) -> RequestView:
                out = super().__call__(view)
                return out.with_turns(out.turns[:-1]) if len(out.turns) > 2 else out

        with pytest.raises(LawBroken):
            check_fit(
                lambda window: Careless(window=window, max_output=0, margin=0),
                targets=("databricks-gpt-oss-120b",),
            )


class TestCompactionLaws:
    @pytest.mark.parametrize("target", REALISTIC_TARGETS)
    def test_hold_for_compaction(self, target: str) -> None:
        check_compaction(targets=(target,))

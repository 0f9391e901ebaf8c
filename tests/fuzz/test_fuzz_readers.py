"""Every public reader, fuzzed: a value or a ConvoError, bounded, no secret shown.

A seeded run of `EXAMPLES` cases per reader belongs to the default suite; the
long run is `python tests/fuzz/run_long.py` (not collected).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz._harness import check
from tests.fuzz._readers import READERS

EXAMPLES = 1500

NOT_YET = {
    # Escapes this harness found that are not fixed on this branch yet (see the
    # report of issue 13): not run, since one input hangs chat.decode_response.
    "anthropic.decode_response": "argument types, RecursionError in a tag repr",
    "anthropic.import_messages": "RecursionError in a tag repr",
    "chat.decode_response": "an input that runs for minutes (seed 1, case ~2093)",
    "chat.import_messages": "untyped errors on mutated messages",
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            n,
            marks=pytest.mark.xfail(run=False, reason=NOT_YET[n])
            if n in NOT_YET
            else (),
        )
        for n in sorted(READERS)
    ],
)
def test_any_input_gives_a_value_or_a_typed_error_within_bounds(name: str) -> None:
    reader = READERS[name]

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=reader.cases)
    def holds(case: object) -> None:
        failures = check(reader, case, memory=False)
        assert not failures, "; ".join(map(str, failures))

    holds()

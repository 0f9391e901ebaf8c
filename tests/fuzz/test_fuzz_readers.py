"""Every public reader, fuzzed: a value or a ConvoError, bounded, no secret shown.

A seeded run of `EXAMPLES` cases per reader belongs to the default suite; the
long run is `python tests/fuzz/run_long.py` (not collected).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz._harness import check
from tests.fuzz._readers import READERS

EXAMPLES = 1000
"""Cases per reader: 12 readers, 12,000 cases, within the fuzz directory's ~60 s CI budget."""


@pytest.mark.parametrize("name", sorted(READERS))
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

"""The long fuzz run (not collected by pytest): many cases per reader, then a report.

    python tests/fuzz/run_long.py [--cases N] [--seconds S] [--reader NAME ...] [--memory]

For each reader it prints cases per second and every distinct failure (kind and
first line), with the count and one input that shows it. Exit status 1 if any
reader failed. Runs are random (a new seed each time) unless --seed is given.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.fuzz._harness import check
from tests.fuzz._readers import READERS


class _Enough(BaseException):
    """Raised once the time budget is spent: Hypothesis lets it through unshrunk."""


def run(name: str, cases: int, seconds: float, memory: bool, fixed: int | None) -> int:
    reader = READERS[name]
    found: Counter[str] = Counter()
    examples: dict[str, str] = {}
    count = 0
    start = time.perf_counter()

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=reader.cases)
    def one(case: object) -> None:
        nonlocal count
        if time.perf_counter() - start > seconds:
            # Not `return`: Hypothesis would go on generating every remaining case.
            raise _Enough
        count += 1
        for failure in check(reader, case, memory=memory):
            key = f"{failure.kind}: {failure.detail.splitlines()[0][:120]}"
            found[key] += 1
            examples.setdefault(key, repr(case)[:300])

    if fixed is not None:
        one = seed(fixed)(one)
    with contextlib.suppress(_Enough):
        one()
    elapsed = time.perf_counter() - start
    print(
        f"{name:<28} {count:>8} cases  {count / elapsed:>9.0f} cases/s  "
        f"{sum(found.values())} failures"
    )
    for key, n in found.most_common():
        print(f"    {n:>6} x {key}\n             e.g. {examples[key]}")
    return 1 if found else 0


def main() -> int:
    if os.environ.get("CONVO_FUZZ_DUMP_AFTER"):
        faulthandler.dump_traceback_later(
            float(os.environ["CONVO_FUZZ_DUMP_AFTER"]), exit=True
        )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="per reader")
    parser.add_argument("--reader", action="append", choices=sorted(READERS))
    parser.add_argument("--memory", action="store_true", help="trace memory (slower)")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    status = 0
    for name in args.reader or sorted(READERS):
        status |= run(name, args.cases, args.seconds, args.memory, args.seed)
    return status


if __name__ == "__main__":
    sys.exit(main())

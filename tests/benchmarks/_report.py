"""Ratios against floors measured in the same run, printed as one table.

These machines are shared and noisy, so no benchmark states absolute times:
each figure is a ratio of convo's cost to a floor (a plain-Python or raw-driver
baseline) timed in the same process, best of several rounds.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

import attrs

__all__ = ["REPORT_ONLY", "Report", "best_of"]

REPORT_ONLY = "CONVO_BENCH_REPORT_ONLY"
"""When set, `Report.finish` prints broken bounds but exits 0 (`run.py --report-only`)."""


def best_of(fn: Callable[[], object], *, rounds: int = 5) -> float:
    """The fastest of `rounds` timings of `fn()`, in seconds."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@attrs.define
class Report:
    """Rows of (figure, ratio, bound); `finish()` prints them and gives the exit code."""

    area: str
    rows: list[tuple[str, float, float | None, str]] = attrs.Factory(list)

    def ratio(self, name: str, value: float, *, at_most: float | None = None) -> None:
        """Record a ratio that must not exceed `at_most` (None: reported only)."""
        self.rows.append((name, value, at_most, "<="))

    def share(self, name: str, value: float, *, at_least: float | None = None) -> None:
        """Record a share (0..1) that must reach `at_least` (None: reported only)."""
        self.rows.append((name, value, at_least, ">="))

    def failures(self) -> list[str]:
        """Names of the rows whose bound is broken."""
        out = []
        for name, value, bound, op in self.rows:
            if bound is None:
                continue
            if (op == "<=" and value > bound) or (op == ">=" and value < bound):
                out.append(name)
        return out

    def finish(self) -> int:
        """Print the table (and a JSON line for the suite runner); 0 when all bounds hold.

        With `REPORT_ONLY` set in the environment, 0 whatever the figures.
        """
        width = max((len(r[0]) for r in self.rows), default=10)
        print(f"\n== {self.area}")
        for name, value, bound, op in self.rows:
            limit = "" if bound is None else f"{op} {bound:g}"
            status = (
                ""
                if bound is None
                else ("ok" if name not in self.failures() else "BROKEN")
            )
            print(f"  {name:<{width}}  {value:8.3f}  {limit:>8}  {status}")
        if os.environ.get("CONVO_BENCH_JSON"):
            print("CONVO_BENCH " + json.dumps({"area": self.area, "rows": self.rows}))
        sys.stdout.flush()
        if os.environ.get(REPORT_ONLY):
            return 0  # figures printed, bounds not enforced (`run.py --report-only`)
        return 1 if self.failures() else 0

"""Run every benchmark and print one table of ratios: `python tests/benchmarks/run.py`.

`python tests/benchmarks/run.py soak chat` runs only `bench_soak.py` and
`bench_chat.py`. Each `bench_*.py` beside this file (`bench_soak.py`, the
conversation soak through the whole stack, included) runs in its own process (so one area's
memory and caches do not skew another's) and reports through `_report.Report`.
The exit code is non-zero when any bound is broken, or when a script fails or
prints no figures.

`--report-only` (what `.ci/run` uses) prints the same table but fails only when
a script fails or prints no figures: every benchmark, its own equality checks
included, must run to completion, while its figures, timed on a shared
machine, are reported, not enforced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.benchmarks._report import REPORT_ONLY  # noqa: E402 - after the path


def scripts(areas: list[str]) -> list[Path]:
    """The benchmark scripts to run: all, or those named `bench_<area>.py`."""
    found = sorted(HERE.glob("bench_*.py"))
    if not areas:
        return found
    chosen = [p for p in found if p.stem.removeprefix("bench_") in areas]
    missing = set(areas) - {p.stem.removeprefix("bench_") for p in chosen}
    if missing:
        known = ", ".join(p.stem.removeprefix("bench_") for p in found)
        raise SystemExit(f"no benchmark named {sorted(missing)}; known: {known}")
    return chosen


def main(argv: list[str]) -> int:
    report_only = "--report-only" in argv
    areas = [a for a in argv if a != "--report-only"]
    rows: list[tuple[str, str, float, float | None, str]] = []
    failed: list[str] = []
    started = time.perf_counter()
    for script in scripts(areas):
        env = {**os.environ, "CONVO_BENCH_JSON": "1"}
        if report_only:
            env[REPORT_ONLY] = "1"
        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        found = False
        for line in proc.stdout.splitlines():
            if line.startswith("CONVO_BENCH "):
                data = json.loads(line[len("CONVO_BENCH ") :])
                found = True
                for name, value, bound, op in data["rows"]:
                    rows.append((data["area"], name, value, bound, op))
        if proc.returncode != 0 or not found:
            failed.append(script.name)
            sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
    width = max((len(r[1]) for r in rows), default=10)
    print(f"{'area':<10} {'figure':<{width}} {'ratio':>9}  bound")
    for area, name, value, bound, op in rows:
        limit = "" if bound is None else f"{op} {bound:g}"
        broken = bound is not None and (
            (op == "<=" and value > bound) or (op == ">=" and value < bound)
        )
        print(
            f"{area:<10} {name:<{width}} {value:9.3f}  {limit}{'  BROKEN' if broken else ''}"
        )
    print(f"\n{len(rows)} figures in {time.perf_counter() - started:.0f} s")
    if failed:
        print("failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

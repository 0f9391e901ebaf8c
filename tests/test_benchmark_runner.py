"""The benchmark runner: bounds enforced by default, completion always (`.ci/run`).

`.ci/run` runs every benchmark with `--report-only`: figures timed on a shared
machine are printed, not enforced, but a script that fails (its own equality
checks included) or prints no figures fails the run. Two scripts were once
broken for a whole release because nothing ran them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.benchmarks import run
from tests.benchmarks._report import REPORT_ONLY, Report

ROOT = Path(__file__).resolve().parents[1]

BROKEN_BOUND = """
import sys
sys.path.insert(0, {root!r})
from tests.benchmarks._report import Report
report = Report("planted")
report.ratio("a figure over its bound", 3.0, at_most=2)
sys.exit(report.finish())
"""


@pytest.fixture
def bench_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(run, "HERE", tmp_path)
    monkeypatch.delenv(REPORT_ONLY, raising=False)
    return tmp_path


def _write(directory: Path, name: str, source: str) -> None:
    (directory / name).write_text(textwrap.dedent(source).format(root=str(ROOT)))


class TestRunner:
    def test_a_broken_bound_fails_the_run(self, bench_dir: Path) -> None:
        _write(bench_dir, "bench_planted.py", BROKEN_BOUND)
        assert run.main([]) == 1

    def test_report_only_prints_a_broken_bound_and_passes(
        self, bench_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _write(bench_dir, "bench_planted.py", BROKEN_BOUND)
        assert run.main(["--report-only"]) == 0
        assert "BROKEN" in capsys.readouterr().out

    def test_report_only_still_fails_a_script_that_fails(self, bench_dir: Path) -> None:
        _write(bench_dir, "bench_planted.py", BROKEN_BOUND)
        _write(bench_dir, "bench_crash.py", "raise AssertionError('equality check')\n")
        assert run.main(["--report-only"]) == 1

    def test_report_only_still_fails_a_script_that_prints_no_figures(
        self, bench_dir: Path
    ) -> None:
        _write(bench_dir, "bench_silent.py", "print('nothing measured')\n")
        assert run.main(["--report-only"]) == 1

    def test_a_real_benchmark_runs_to_completion(self) -> None:
        # The cheapest real one, end to end through the runner.
        assert run.main(["--report-only", "cache"]) == 0


class TestReport:
    def test_finish_fails_on_a_broken_bound(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv(REPORT_ONLY, raising=False)
        report = Report("x")
        report.ratio("over", 3.0, at_most=2)
        assert report.finish() == 1

    def test_finish_in_report_only_mode_passes(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(REPORT_ONLY, "1")
        report = Report("x")
        report.ratio("over", 3.0, at_most=2)
        assert report.finish() == 0

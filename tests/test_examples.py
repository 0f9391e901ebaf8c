"""Every example script runs to completion (each in its own interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


def test_there_are_examples() -> None:
    assert EXAMPLES, "examples/*.py is empty"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_the_example_exits_zero(script: Path, tmp_path: Path) -> None:
    # Examples that persist use CONVO_DATABASE_URL; keep their files out of the repo.
    env = {**os.environ, "CONVO_DATABASE_URL": f"sqlite:///{tmp_path / 'example.db'}"}
    env.pop("DATABRICKS_HOST", None)
    env.pop("DATABRICKS_TOKEN", None)
    completed = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=script.parent.parent,
        check=False,
    )
    assert completed.returncode == 0, (
        f"{script.name} exited {completed.returncode}\n"
        f"--- stdout ---\n{completed.stdout[-4000:]}\n"
        f"--- stderr ---\n{completed.stderr[-4000:]}"
    )

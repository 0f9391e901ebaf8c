"""`pip install convo` without extras runs the README demo and `convo fake-server`.

Hypothesis is the `testing` extra: only `convo.testing.strategies` and
`convo.testing.laws` need it. Each check runs in its own interpreter whose
first act is to put a meta-path finder in front that refuses to import
`hypothesis`, as if it were not installed; the interpreter then also asserts
that Hypothesis never entered `sys.modules`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).parent.parent.parent

BLOCKER = """
import sys

class _NoHypothesis:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "hypothesis":
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None

sys.meta_path.insert(0, _NoHypothesis())
"""

AFTER = """
assert "hypothesis" not in sys.modules, "hypothesis was imported"
print("without hypothesis: ok")
"""


def _python(code: str, tmp_path: Path, *, timeout: float = 120) -> str:
    env = {**os.environ, "CONVO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    env.pop("DATABRICKS_HOST", None)
    env.pop("DATABRICKS_TOKEN", None)
    completed = subprocess.run(
        [sys.executable, "-c", BLOCKER + code + AFTER],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )
    assert completed.returncode == 0, (
        f"exited {completed.returncode}\n--- stdout ---\n{completed.stdout[-3000:]}"
        f"\n--- stderr ---\n{completed.stderr[-3000:]}"
    )
    return completed.stdout


class TestTheBlocker:
    def test_it_makes_hypothesis_unimportable(self, tmp_path: Path) -> None:
        code = """
try:
    import hypothesis
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("the blocker let hypothesis in")
"""
        assert "ok" in _python(code, tmp_path)

    @pytest.mark.parametrize(
        "module", ["convo.testing.strategies", "convo.testing.laws"]
    )
    def test_what_needs_hypothesis_says_how_to_install_it(
        self, module: str, tmp_path: Path
    ) -> None:
        code = f"""
try:
    import {module}
except ModuleNotFoundError as exc:
    assert exc.name == "hypothesis", exc
    assert "pip install 'convo[testing]'" in str(exc), exc
else:
    raise SystemExit("{module} imported without hypothesis")
"""
        assert "ok" in _python(code, tmp_path)


class TestWithoutHypothesis:
    def test_the_readme_demo_runs(self, tmp_path: Path) -> None:
        code = """
import runpy
runpy.run_path("examples/quickstart.py", run_name="__main__")
"""
        out = _python(code, tmp_path)
        assert "Stored as cv_" in out
        assert out.rstrip().endswith("without hypothesis: ok")

    def test_the_fake_endpoint_and_the_testing_package_import(
        self, tmp_path: Path
    ) -> None:
        code = """
import convo.testing
from convo.testing.fake import FakeEndpoint, ScriptedReply
endpoint = FakeEndpoint()
endpoint.add_script(ScriptedReply(text="hi"))
assert "blocks" in convo.testing.__all__
"""
        assert "ok" in _python(code, tmp_path)

    def test_convo_fake_server_serves(self, tmp_path: Path) -> None:
        script = tmp_path / "serve.py"
        script.write_text(
            BLOCKER
            + "from convo._cli import main\n"
            + "code = main(['fake-server', '--port', '0'])\n"
            + AFTER
            + "raise SystemExit(code)\n",
            "utf-8",
        )
        with subprocess.Popen(
            [sys.executable, "-u", str(script)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as server:
            try:
                assert server.stdout is not None
                first = server.stdout.readline()
                assert "listening on http://127.0.0.1:" in first, first
                url = first.rsplit(" ", 1)[-1].strip()
                response = httpx.post(
                    f"{url}/serving-endpoints/chat/completions",
                    headers={"Authorization": "Bearer any"},
                    json={
                        "model": "databricks-claude-sonnet-4-5",
                        "messages": [{"role": "user", "content": "Hello"}],
                        "max_tokens": 64,
                    },
                    timeout=30,
                )
            finally:
                server.terminate()
                server.wait(timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["role"] == "assistant"


class TestThePackageMetadata:
    @pytest.fixture
    def project(self) -> dict[str, object]:
        with (REPO / "pyproject.toml").open("rb") as f:
            project: dict[str, object] = tomllib.load(f)["project"]
        return project

    def test_hypothesis_is_not_a_runtime_dependency(
        self, project: dict[str, object]
    ) -> None:
        dependencies = project["dependencies"]
        assert isinstance(dependencies, list)
        assert not [d for d in dependencies if d.startswith("hypothesis")]

    def test_the_testing_extra_brings_it_and_dev_includes_the_extra(
        self, project: dict[str, object]
    ) -> None:
        extras = project["optional-dependencies"]
        assert isinstance(extras, dict)
        assert [d for d in extras["testing"] if d.startswith("hypothesis")]
        assert any("testing" in d for d in extras["dev"] if d.startswith("convo["))

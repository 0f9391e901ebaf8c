"""The `convo` command, fuzzed: no argv and no input file ever prints a traceback.

Exit codes are the documented ones (convo._cli): a return of 0, 1, 3 or 4, or
argparse's `SystemExit` with 0 (help) or 2 (usage); never 70 (internal error).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convo import Conversation
from convo._cli import main
from convo.store import Store
from tests.fuzz._harness import Reader, check
from tests.fuzz._mutations import fixtures, mutated_bytes

ALLOWED_RETURNS = {0, 1, 2, 3, 4}
CID = "<the stored conversation's id>"
"""A word the run replaces by the id of the conversation the fixture stored."""
ALLOWED_EXITS = {0, 2}

WORDS = [
    "db",
    "upgrade",
    "current",
    "ls",
    "show",
    "payload",
    "export",
    "import",
    "--url",
    "--tenant",
    "--limit",
    "--cursor",
    "--search",
    "--ids",
    "--target",
    "--branch",
    "--max-tokens",
    "--thinking",
    "--message",
    "--pretty",
    "--idle-days",
    "--keep-latest",
    "--per-key",
    "--dry-run",
    "--id",
    "--system",
    "--title",
    "--show-reasoning",
    "-o",
    "-",
    "--",
    "-h",
    "databricks-claude-sonnet-4-5",
    "databricks-gpt-5-1",
    "0",
    "-1",
    "5",
    "1e9",
    "99999999999999999999",
    "nan",
    "",
    " ",
    "ä",
    "\udcff",
    "\x00",
    "c_" + "0" * 32,
    "cv_" + "0" * 32,
    CID,
    "not a url",
    "postgress://u:FAKE-PW@h/x",
    "sqlite:///",
    "sqlite://",
    "main",
    "[" * 50,
    "W1s=",
]


class CLIRun:
    """Runs `main(argv)` with stdout/stderr captured; the result is the exit code."""

    def __init__(self, url: str, workdir: Path, cid: str) -> None:
        self.url = url
        self.workdir = workdir
        self.cid = cid

    @contextmanager
    def _captured(self) -> Iterator[tuple[io.BytesIO, io.StringIO]]:
        raw = io.BytesIO()
        out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
        err = io.StringIO()
        saved_stdout, saved_stdin = sys.stdout, sys.stdin
        sys.stdout = out
        sys.stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
        try:
            with redirect_stderr(err):
                yield raw, err
        finally:
            out.flush()
            sys.stdout, sys.stdin = saved_stdout, saved_stdin

    def __call__(self, argv: list[str]) -> object:
        argv = [self.cid if word == CID else word for word in argv]
        with self._captured() as (_raw, err):
            try:
                code: Any = main(argv)
            except SystemExit as exc:
                code = ("exit", exc.code)
        text = err.getvalue()
        if "Traceback" in text:
            msg = f"a traceback on stderr: {text[-300:]}"
            raise AssertionError(msg)
        if isinstance(code, tuple):
            if code[1] not in ALLOWED_EXITS:
                msg = f"SystemExit({code[1]!r}) for {argv!a}"
                raise AssertionError(msg)
        elif code not in ALLOWED_RETURNS:
            msg = f"exit code {code!r} for {argv!a}: {text[-300:]}"
            raise AssertionError(msg)
        return code


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CLIRun]:
    workdir = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{workdir / 'cli.db'}"
    with Store(url, tenant="default", create=True) as store:
        cid = store.create(Conversation.new().user("hi").assistant("hello"), title="hi")
    saved = Path.cwd()
    mp = pytest.MonkeyPatch()
    mp.setenv("CONVO_DATABASE_URL", url)
    mp.chdir(workdir)
    try:
        yield CLIRun(url, workdir, cid)
    finally:
        mp.undo()
        assert Path.cwd() == saved


COMMANDS = st.sampled_from(
    [
        [],
        ["db"],
        ["db", "current"],
        ["db", "upgrade"],
        ["ls"],
        ["show"],
        ["payload"],
        ["export"],
        ["import"],
        ["prune"],
        ["prune", "--dry-run"],
        # Offline (the fake endpoint), stdin empty: starts, then ends at EOF.
        ["chat"],
        # Not "fake-server": it serves until interrupted.
    ]
)
FLAGS = [w for w in WORDS if w.startswith("-")]
VALUES = [w for w in WORDS if not w.startswith("-") or w.lstrip("-").isdigit()]
pairs = st.lists(
    st.tuples(st.sampled_from(FLAGS), st.sampled_from(VALUES)), max_size=3
).map(lambda ps: [word for pair in ps for word in pair])
argvs = st.one_of(
    # Structured: a command, a positional, flags with values (reaches the handlers).
    st.tuples(COMMANDS, st.lists(st.sampled_from(VALUES), max_size=1), pairs).map(
        lambda t: [*t[0], *t[1], *t[2]]
    ),
    # Unstructured: any words in any order (exercises argparse itself).
    st.tuples(COMMANDS, st.lists(st.sampled_from(WORDS), max_size=6)).map(
        lambda t: [*t[0], *t[1]]
    ),
)


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


class TestArgv:
    def test_no_argv_prints_a_traceback_and_every_exit_code_is_documented(
        self, cli: CLIRun
    ) -> None:
        reader = Reader("convo argv", cli, argvs, secrets=("FAKE-PW",))

        @_settings(600)
        @given(case=reader.cases)
        def holds(case: object) -> None:
            failures = check(reader, case, memory=False)
            assert not failures, "; ".join(map(str, failures))

        holds()


class TestInputFiles:
    def test_no_input_file_prints_a_traceback(self, cli: CLIRun) -> None:
        seeds = fixtures(
            "wire/fixtures/canonical/*conversation*.json",
            "wire/fixtures/canonical/v1/*conversation*.json",
        )
        path = cli.workdir / "input.json"

        def run(data: bytes) -> object:
            path.write_bytes(data)
            return cli(["import", str(path)])

        reader = Reader("convo import FILE", run, mutated_bytes(seeds))

        @_settings(200)
        @given(case=reader.cases)
        def holds(case: object) -> None:
            failures = check(reader, case, memory=False)
            assert not failures, "; ".join(map(str, failures))

        holds()

    def test_the_golden_conversation_imports_with_exit_0(self, cli: CLIRun) -> None:
        path = (
            Path(__file__).parents[1]
            / "wire/fixtures/canonical/conversation_branched.json"
        )
        assert cli(["import", str(path)]) == 0

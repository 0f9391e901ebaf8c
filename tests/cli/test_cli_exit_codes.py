"""`convo` exit codes are the documented ones, and no failure prints a traceback."""

from __future__ import annotations

import argparse

import pytest

import convo._cli._conversations as conversations
from convo._cli import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    main,
)


def with_handler(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    """Make `convo ls` raise `exc` (a bug, or Ctrl-C) inside its handler."""

    def handler(args: argparse.Namespace) -> int:
        raise exc

    monkeypatch.setattr(conversations, "_ls", handler)


class TestExitCodes:
    def test_an_unexpected_exception_is_one_line_and_exit_70(self, monkeypatch, capsys):
        monkeypatch.delenv("CONVO_DEBUG", raising=False)
        with_handler(monkeypatch, RuntimeError("boom"))
        assert main(["ls"]) == EXIT_INTERNAL
        err = capsys.readouterr().err
        assert "internal error RuntimeError" in err
        assert "please report" in err
        assert "Traceback" not in err

    def test_convo_debug_shows_the_traceback_of_an_internal_error(self, monkeypatch):
        monkeypatch.setenv("CONVO_DEBUG", "1")
        with_handler(monkeypatch, RuntimeError("boom"))
        with pytest.raises(RuntimeError):
            main(["ls"])

    def test_ctrl_c_exits_130(self, monkeypatch, capsys):
        with_handler(monkeypatch, KeyboardInterrupt())
        assert main(["ls"]) == EXIT_INTERRUPTED
        assert "interrupted" in capsys.readouterr().err

    def test_a_file_that_cannot_be_read_exits_1(self, tmp_path, capsys):
        url = f"sqlite:///{tmp_path / 'c.db'}"
        assert main(["db", "upgrade", "--url", url]) == 0
        assert main(["import", str(tmp_path), "--url", url]) == EXIT_ERROR
        assert "Traceback" not in capsys.readouterr().err

    def test_an_unknown_conversation_exits_4(self, tmp_path, capsys):
        url = f"sqlite:///{tmp_path / 'c.db'}"
        assert main(["db", "upgrade", "--url", url]) == 0
        assert main(["show", "c_nope", "--url", url]) == EXIT_NOT_FOUND

    @pytest.mark.parametrize(
        "argv",
        [
            ["ls", "--limit", "0"],
            ["ls", "--limit", "-5"],
            ["ls", "--limit", "99999999999999999999"],
            ["payload", "x", "--target", "t", "--max-tokens", "0"],
            ["payload", "x", "--target", "t", "--thinking", "-1"],
            ["fake-server", "--port", "70000"],
        ],
    )
    def test_numbers_out_of_range_are_usage_errors(self, argv, capsys):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == EXIT_USAGE
        assert "must be between" in capsys.readouterr().err

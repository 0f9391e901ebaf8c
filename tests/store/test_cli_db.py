"""`convo db upgrade` and `convo db current`."""

from __future__ import annotations

import subprocess
import sys

import pytest

import convo.store
from convo._cli import main


class TestDbCommand:
    def test_upgrade_creates_the_schema_and_current_reports_it(self, tmp_path, capsys):
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        assert main(["db", "current", "--url", url]) == 3
        assert "revision none" in capsys.readouterr().out
        assert main(["db", "upgrade", "--url", url]) == 0
        assert "upgraded from empty to 0002" in capsys.readouterr().out
        assert main(["db", "upgrade", "--url", url]) == 0
        assert "already at revision 0002" in capsys.readouterr().out
        assert main(["db", "current", "--url", url]) == 0
        assert "revision 0002 (up to date)" in capsys.readouterr().out
        assert convo.store.current_revision(url) == convo.store.HEAD

    def test_the_url_defaults_to_the_environment(self, tmp_path, monkeypatch, capsys):
        url = f"sqlite:///{tmp_path / 'env.db'}"
        monkeypatch.setenv("CONVO_DATABASE_URL", url)
        assert main(["db", "upgrade"]) == 0
        assert convo.store.current_revision(url) == convo.store.HEAD
        assert str(tmp_path) in capsys.readouterr().out

    def test_the_default_is_a_convo_db_file_here(self, tmp_path, monkeypatch):
        monkeypatch.delenv("CONVO_DATABASE_URL", raising=False)
        monkeypatch.chdir(tmp_path)
        assert main(["db", "upgrade"]) == 0
        assert (tmp_path / "convo.db").is_file()

    def test_an_unreachable_database_fails_cleanly_without_the_password(self, capsys):
        url = "postgresql+psycopg://user:hunter2@127.0.0.1:1/nope"
        assert main(["db", "upgrade", "--url", url]) == 1
        err = capsys.readouterr().err
        assert "convo db upgrade:" in err
        assert "hunter2" not in err
        assert "Traceback" not in err

    def test_no_subcommand_prints_help_and_fails(self, capsys):
        assert main([]) == 2
        assert "db" in capsys.readouterr().err

    def test_db_needs_a_subcommand(self):
        with pytest.raises(SystemExit):
            main(["db"])

    def test_the_console_script_runs(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'script.db'}"
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from convo._cli import main; sys.exit(main())",
                "db",
                "upgrade",
                "--url",
                url,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "0002" in done.stdout

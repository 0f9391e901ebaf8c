"""The `convo` command as a user runs it: ls, show, payload, export, import, chat."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import convo.store
from convo import (
    Conversation,
    Provenance,
    ReasoningBlock,
    SummaryText,
    ToolCallBlock,
    ToolResultBlock,
    assistant,
    system,
)
from convo._cli import main
from convo.store import Store


def run(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the installed console entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "convo", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    """An upgraded SQLite database."""
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    convo.store.upgrade(db_url)
    return db_url


@pytest.fixture
def branched(url: str) -> str:
    """A stored conversation with reasoning, a tool call and two branches."""
    reasoning = ReasoningBlock(
        parts=[SummaryText(text="Two cities, two calls.", signature="SIG")],
        provenance=Provenance(provider="anthropic", family="claude"),
    )
    conversation = (
        Conversation.new()
        .append(system("Answer briefly."))
        .user("Weather in Oslo?")
        .append(
            assistant(
                [
                    reasoning,
                    ToolCallBlock(
                        id="t1", name="get_weather", arguments='{"city":"Oslo"}'
                    ),
                ]
            )
        )
        .tool_results(ToolResultBlock(call_id="t1", content="3 C"))
        .assistant("It is 3 C in Oslo.")
    )
    question = conversation.path_ids()[1]
    conversation = conversation.edit(
        question, convo.user("Weather in Lima?"), branch="lima"
    )
    conversation = conversation.assistant("19 C in Lima.")
    with Store(url) as store:
        return store.create(conversation, title="Weather")


class TestLs:
    def test_lists_the_tenants_conversations_with_their_titles(
        self, url, branched, capsys
    ):
        assert main(["ls", "--url", url]) == 0
        out = capsys.readouterr().out
        assert branched in out
        assert "Weather" in out

    def test_another_tenant_sees_no_conversations(self, url, branched, capsys):
        assert main(["ls", "--url", url, "--tenant", "someone-else"]) == 0
        assert "no conversations" in capsys.readouterr().out

    def test_a_missing_database_fails_with_the_upgrade_command(self, tmp_path, capsys):
        missing = f"sqlite:///{tmp_path / 'nothing-here.db'}"
        assert main(["ls", "--url", missing]) == 1
        assert "convo db upgrade" in capsys.readouterr().err
        assert not (tmp_path / "nothing-here.db").exists(), "no empty file is left"


class TestShow:
    def test_draws_both_branches_with_markers_and_the_active_head(
        self, url, branched, capsys
    ):
        assert main(["show", branched, "--url", url]) == 0
        out = capsys.readouterr().out
        assert "├── user" in out
        assert "└── user" in out
        assert "[reasoning claude signed" in out
        assert "[call get_weather" in out
        assert "◀ lima*" in out
        assert "◀ main" in out

    def test_an_unknown_id_exits_4_with_a_message(self, url, capsys):
        assert main(["show", "cv_nope", "--url", url]) == 4
        assert "No such conversation" in capsys.readouterr().err


class TestPayload:
    def test_prints_the_chat_payload_after_the_targets_policies(
        self, url, branched, capsys
    ):
        code = main(
            [
                "payload",
                branched,
                "--url",
                url,
                "--branch",
                "main",
                "--target",
                "databricks-gpt-oss-120b",
                "--message",
                "And in Paris?",
            ]
        )
        assert code == 0
        payload = json.loads(capsys.readouterr().out)
        assert payload["model"] == "databricks-gpt-oss-120b"
        roles = [m["role"] for m in payload["messages"]]
        assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
        # Claude's signed reasoning never goes to another family (rule R4).
        assert "reasoning" not in json.dumps(payload)

    def test_an_answered_head_without_a_message_has_nothing_to_preview(
        self, url, branched, capsys
    ):
        argv = [
            "payload",
            branched,
            "--url",
            url,
            "--target",
            "databricks-gpt-oss-120b",
        ]
        assert main(argv) == 1
        assert "no question waiting" in capsys.readouterr().err

    def test_an_unknown_target_names_the_registered_ones(self, url, branched, capsys):
        assert main(["payload", branched, "--url", url, "--target", "gpt-nine"]) == 1
        assert "databricks-claude-sonnet-4-5" in capsys.readouterr().err

    def test_a_missing_target_argument_is_a_usage_error(self, url, branched):
        with pytest.raises(SystemExit) as exc:
            main(["payload", branched, "--url", url])
        assert exc.value.code == 2


class TestExportImport:
    def test_export_then_import_gives_an_identical_conversation(
        self, url, branched, tmp_path, capsys
    ):
        out_file = tmp_path / "export.json"
        assert main(["export", branched, "--url", url, "-o", str(out_file)]) == 0
        assert main(["import", str(out_file), "--url", url]) == 0
        new_id = capsys.readouterr().out.strip()
        with Store(url) as store:
            assert store.export(new_id) == out_file.read_bytes()

    def test_importing_a_corrupt_file_changes_nothing(self, url, tmp_path, capsys):
        bad = tmp_path / "bad.json"
        bad.write_text('{"convo": 1, "kind": "conversation", "value": {"turns": 3}}')
        assert main(["import", str(bad), "--url", url]) == 1
        assert "convo import: " in capsys.readouterr().err
        with Store(url) as store:
            assert store.list().items == ()

    def test_importing_a_missing_file_exits_1(self, url, tmp_path, capsys):
        assert main(["import", str(tmp_path / "absent.json"), "--url", url]) == 1


class TestChatCommand:
    def test_chats_offline_persists_and_draws_the_tree(self, tmp_path):
        db = f"sqlite:///{tmp_path / 'chat.db'}"
        result = run("chat", "--url", db, stdin="Hello there\n/tree\n/quit\n")
        assert result.returncode == 0, result.stderr
        assert "offline fake endpoint" in result.stdout
        assert "You said: Hello there" in result.stdout
        listing = run("ls", "--url", db)
        assert listing.returncode == 0
        assert "cv_" in listing.stdout

    def test_no_subcommand_prints_help_and_exits_2(self, capsys):
        assert main([]) == 2
        assert "COMMAND" in capsys.readouterr().err


class TestFakeServerCommand:
    def test_serves_chat_completions_on_loopback_until_terminated(self):
        with subprocess.Popen(
            [sys.executable, "-u", "-m", "convo", "fake-server", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as process:
            try:
                assert process.stdout is not None
                line = process.stdout.readline()
                base = line.strip().rsplit(" ", 1)[-1]
                assert base.startswith("http://127.0.0.1:"), line
                response = httpx.post(
                    base + "/serving-endpoints/databricks-gpt-oss-120b/invocations",
                    json={"messages": [{"role": "user", "content": "hi"}]},
                    headers={"Authorization": "Bearer t"},
                    timeout=10,
                )
                assert response.status_code == 200
                assert "You said: hi" in json.dumps(response.json())
            finally:
                process.terminate()
                process.wait(timeout=10)

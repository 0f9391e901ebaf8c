"""`convo prune` (with its dry run) and the usage `convo ls` and `convo show` print."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest
from sqlalchemy import update

import convo
import convo.store
from convo import Conversation, Usage
from convo._cli import main
from convo.store import Store
from convo.store._schema import CONVERSATIONS


@pytest.fixture
def url(tmp_path: Path) -> str:
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    convo.store.upgrade(db_url)
    return db_url


def stored(url: str, *, days_idle: int) -> str:
    answer = attrs.evolve(
        convo.assistant("hello"), usage=Usage(prompt_tokens=12, completion_tokens=5)
    )
    with Store(url) as store:
        cid = store.create(Conversation.new().user("hi").append(answer), title="t")
        stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(
            days=days_idle
        )
        with store.engine.begin() as conn:
            conn.execute(
                update(CONVERSATIONS)
                .where(CONVERSATIONS.c.id == cid)
                .values(updated_at=stamp)
            )
    return cid


class TestPrune:
    def test_a_dry_run_prints_the_ids_and_erases_nothing(self, url, capsys):
        old, fresh = stored(url, days_idle=40), stored(url, days_idle=0)
        assert main(["prune", "--url", url, "--idle-days", "30", "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert old in out
        assert fresh not in out
        assert "would erase 1 conversation(s)" in out
        with Store(url) as store:
            assert len(store.list().items) == 2

    def test_erases_idle_conversations(self, url, capsys):
        old, fresh = stored(url, days_idle=40), stored(url, days_idle=0)
        assert main(["prune", "--url", url, "--idle-days", "30"]) == 0
        assert "erased 1 conversation(s) in 1 batch(es)" in capsys.readouterr().out
        with Store(url) as store:
            assert [i.id for i in store.list().items] == [fresh]
            assert old not in [i.id for i in store.list().items]

    def test_without_a_rule_says_what_to_give(self, url, capsys):
        assert main(["prune", "--url", url]) == 2
        assert "--idle-days" in capsys.readouterr().out


class TestUsageIsShown:
    def test_ls_prints_input_and_output_tokens(self, url, capsys):
        stored(url, days_idle=0)
        assert main(["ls", "--url", url]) == 0
        assert "12/5" in capsys.readouterr().out

    def test_show_prints_the_ledger_per_conversation_and_branch(self, url, capsys):
        cid = stored(url, days_idle=0)
        assert main(["show", "--url", url, cid]) == 0
        out = capsys.readouterr().out
        assert "usage: input 12, cache read 0, cache write 0, output 5" in out
        assert "  main: input 12" in out

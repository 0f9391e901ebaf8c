"""Every store argument is checked before a driver sees it; damaged rows give typed errors."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import text, update

import convo
from convo import Conversation
from convo.errors import (
    ConvoError,
    CorruptRecordError,
    InvalidContentError,
    NotFoundError,
)
from convo.store import Store
from convo.store._schema import CONVERSATIONS

SURROGATE = "a\ud800b"


class TestHostileArguments:
    def test_refuses_a_non_ascii_expected_head(self, store):
        cid = store.create()
        with pytest.raises(InvalidContentError, match="expected_head"):
            store.append(cid, convo.user("hi"), expected_head="ä")

    @pytest.mark.parametrize("where", ["cid", "branch", "load_branch", "tenant"])
    def test_refuses_a_lone_surrogate_anywhere(self, store, where):
        cid = store.create()
        calls = {
            "cid": lambda: store.append(
                SURROGATE, convo.user("hi"), expected_head=None
            ),
            "branch": lambda: store.append(
                cid, convo.user("hi"), branch=SURROGATE, expected_head=None
            ),
            "load_branch": lambda: store.load(cid, branch=SURROGATE),
            "tenant": lambda: store.for_tenant(SURROGATE),
        }
        with pytest.raises(ConvoError):
            calls[where]()
        for call in (store.delete, store.erase, store.info, store.load):
            with pytest.raises(NotFoundError):
                call(SURROGATE)
        assert store.load(cid).path() == ()

    def test_refuses_a_cursor_that_is_not_a_string(self, store):
        with pytest.raises(InvalidContentError, match="cursor"):
            store.list(cursor=12)

    def test_refuses_a_hostile_cursor(self, store):
        deep = base64.urlsafe_b64encode(b"[" * 100_000).decode()
        with pytest.raises(InvalidContentError, match="cursor"):
            store.list(cursor=deep)
        forged = base64.urlsafe_b64encode(b'["2020-01-01", "x\' OR 1=1"]').decode()
        with pytest.raises(InvalidContentError):
            store.list(cursor=forged)

    def test_refuses_search_text_that_is_not_a_string(self, store):
        with pytest.raises(InvalidContentError):
            store.search(["role"])


class TestTamperedRows:
    def test_metadata_that_is_not_an_object_skips_only_that_conversation(self, store):
        good = store.create(title="good")
        bad = store.create(title="bad")
        with store.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(
                    text(
                        "UPDATE convo_conversations SET metadata = '{not json' WHERE id = :i"
                    ),
                    {"i": bad},
                )
            else:
                conn.execute(
                    update(CONVERSATIONS)
                    .where(CONVERSATIONS.c.id == bad)
                    .values(metadata=["a list"])
                )
        page = store.list()
        assert [i.id for i in page.items] == [good]
        assert page.skipped == (bad,)
        assert [i.id for i in store.search("good").items] == [good]
        with pytest.raises(CorruptRecordError):
            store.info(bad)

    def test_a_payload_stored_as_bytes_is_a_corrupt_record(self, store, tamper):
        conversation = Conversation.new().user("hi")
        cid = store.create(conversation)
        if store.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL's text column refuses bytes at write time")
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE convo_turns SET payload = CAST(payload AS BLOB) WHERE conversation_id = :c"
                ),
                {"c": cid},
            )
        fresh = Store(store.engine, tenant=store.tenant, cache_chars=0)
        with pytest.raises(CorruptRecordError):
            fresh.load(cid)

    def test_an_append_on_a_damaged_chain_is_stored_and_load_still_refuses(
        self, store, tamper
    ):
        """Decided: appends do not re-verify the path (see `_statements`); load does."""
        conversation = Conversation.new().user("hi")
        cid = store.create(conversation)
        tamper(store, cid, conversation.head(), payload='{"role": "user"}')
        turn_id = store.append(
            cid, convo.assistant("x"), expected_head=conversation.head()
        )
        assert turn_id == conversation.assistant("x").head()
        with pytest.raises(CorruptRecordError):
            store.load(cid)

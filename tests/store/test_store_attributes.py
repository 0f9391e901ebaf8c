"""Title and metadata by compare-and-set, branch delete and rename, export/import (both databases)."""

from __future__ import annotations

import pytest

from convo import Conversation
from convo.errors import ConflictError, InvalidConversationError, NotFoundError

BASE = Conversation.new().user("hi").assistant("hello")


class TestUpdate:
    def test_sets_title_and_metadata_and_bumps_the_version(self, store):
        cid = store.create(BASE, title="old", metadata={"a": 1})
        assert store.update(cid, expected_version=1, title="new") == 2
        assert store.update(cid, expected_version=2, metadata={"b": 2}) == 3
        detail = store.info(cid)
        assert (detail.title, detail.metadata, detail.version) == ("new", {"b": 2}, 3)

    def test_a_stale_version_conflicts_and_writes_nothing(self, store):
        cid = store.create(BASE, title="old")
        store.update(cid, expected_version=1, title="first")
        with pytest.raises(ConflictError) as caught:
            store.update(cid, expected_version=1, title="second")
        assert caught.value.details["actual"] == 2
        assert store.info(cid).title == "first"


class TestBranches:
    def test_deleting_a_branch_keeps_its_turns(self, store):
        side = (
            BASE.fork("side", at=BASE.path_ids()[0]).assistant("other").switch("main")
        )
        cid = store.create(side)
        store.delete_branch(cid, "side")
        assert [b.name for b in store.branches(cid)] == ["main"]
        assert (
            len(store.load_graph(cid).nodes) == 3
        )  # the turn only "side" reached stays

    def test_the_active_branch_and_so_the_last_one_cannot_be_deleted(self, store):
        cid = store.create(BASE)
        with pytest.raises(InvalidConversationError):
            store.delete_branch(cid, "main")
        assert [b.name for b in store.branches(cid)] == ["main"]

    def test_renaming_keeps_head_and_moves_the_active_name(self, store):
        cid = store.create(BASE)
        store.rename_branch(cid, "main", "trunk")
        detail = store.info(cid)
        assert detail.active_branch == "trunk"
        assert [(b.name, b.head) for b in detail.branches] == [("trunk", BASE.head())]
        assert store.load(cid).head() == BASE.head()

    def test_renaming_onto_a_taken_name_conflicts(self, store):
        cid = store.create(BASE.fork("side", at=BASE.head()))
        with pytest.raises(ConflictError):
            store.rename_branch(cid, "main", "side")
        with pytest.raises(NotFoundError):
            store.rename_branch(cid, "nope", "other")
        assert {b.name for b in store.branches(cid)} == {"main", "side"}


class TestExportImport:
    def test_carries_title_metadata_branches_and_the_active_branch(self, store):
        graph = BASE.fork("alt", at=BASE.path_ids()[0]).user("alt question")
        cid = store.create(graph, title="Support", metadata={"user": "u1"})
        copy = store.import_(store.export(cid))
        original, back = store.info(cid), store.info(copy)
        assert (back.title, back.metadata, back.active_branch) == (
            "Support",
            {"user": "u1"},
            "alt",
        )
        assert [(b.name, b.head) for b in back.branches] == [
            (b.name, b.head) for b in original.branches
        ]
        assert store.load_graph(copy) == store.load_graph(cid)

    def test_a_bare_conversation_document_still_imports(self, store):
        from convo.wire.canonical import dumps

        copy = store.import_(dumps(BASE))
        assert store.info(copy).title is None
        assert store.load(copy) == BASE

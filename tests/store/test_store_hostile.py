"""Corrupt or hostile rows raise CorruptRecordError and never run code (S5)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import update

import convo
from convo import Conversation, ImageBlock, TextBlock
from convo.errors import CorruptRecordError
from convo.store import Store
from convo.store._schema import CONVERSATIONS, HEADS

ROOT = Path(__file__).resolve().parents[2]

# A protocol-0 pickle of os.system("echo pwned"): plain text, so any database holds it.
PICKLE = "cos\nsystem\n(S'echo pwned'\ntR."
HOSTILE_PAYLOADS = {
    "not json": "{not json",
    "pickle bytes": PICKLE,
    "langchain constructor envelope": '{"lc":2,"type":"constructor","id":["os","system"],"kwargs":{"command":"echo pwned"}}',
    "unknown block tag": '{"blocks":[{"code":"import os","type":"exec"}],"role":"user"}',
    "class and reduce keys": '{"blocks":[{"__class__":"os.system","__reduce__":["os.system",["x"]],"text":"hi","type":"text"}],"role":"user"}',
    "changed content, old id": '{"blocks":[{"text":"HI","type":"text"}],"role":"user"}',
    "plaintext under an encrypted tag": '{"blocks":[{"parts":[{"data":"plain words","type":"summary_encrypted_text"}],"type":"reasoning"}],"role":"assistant"}',
    "a json list": "[1, 2, 3]",
    "an unknown role": '{"blocks":[{"text":"hi","type":"text"}],"role":"root"}',
    "an image pointing at no blob": '{"blocks":[{"blob":"sha256:'
    + "0" * 64
    + '","media_type":"image/png","type":"image"}],"role":"user"}',
    "an image with a malformed blob reference": '{"blocks":[{"blob":42,"media_type":"image/png","type":"image"}],"role":"user"}',
    "deeply nested json": "[" * 100_000 + "]" * 100_000,
}

_EVENTS: list[str] = []
_RECORDING = False
_WATCHED = (
    "import",
    "exec",
    "compile",
    "os.system",
    "subprocess.Popen",
    "pickle.find_class",
    "marshal.loads",
)


def _hook(event: str, _args: object) -> None:
    if _RECORDING and event in _WATCHED:
        _EVENTS.append(event)


sys.addaudithook(_hook)


@contextmanager
def recording() -> Iterator[list[str]]:
    global _RECORDING
    _EVENTS.clear()
    _RECORDING = True
    try:
        yield _EVENTS
    finally:
        _RECORDING = False


def stored_chat(store: Store) -> tuple[str, Conversation]:
    conversation = Conversation.new().user("hi").assistant("hello")
    cid = store.create(conversation)
    # Warm every lazy import and generated hook on the load path first.
    store.load(cid)
    store.load_graph(cid)
    return cid, conversation


class TestHostileRows:
    @pytest.mark.parametrize(
        "payload", HOSTILE_PAYLOADS.values(), ids=HOSTILE_PAYLOADS.keys()
    )
    def test_a_hostile_payload_raises_corrupt_record_and_runs_nothing(
        self, store, tamper, payload
    ):
        cid, conversation = stored_chat(store)
        root = conversation.path_ids()[0]
        tamper(store, cid, root, payload=payload)
        with recording() as events:
            for load in (store.load, store.load_graph, store.export):
                with pytest.raises(CorruptRecordError) as info:
                    load(cid)
                assert info.value.table == "convo_turns"
                assert info.value.key == root
        assert events == []

    @pytest.mark.parametrize(
        "value",
        [
            "CAST(X'7b22ff227d' AS TEXT)",  # text that is not UTF-8
            "CAST(payload AS BLOB)",  # the right bytes, stored as a blob
            "42",
            "4.2",
        ],
        ids=["invalid utf-8 text", "blob", "integer", "real"],
    )
    def test_a_sqlite_value_that_is_not_utf8_text_is_corrupt(
        self, store, tamper, value
    ):
        # SQLite loads read payloads as the bytes of their text; every other
        # storage class, and text that is not UTF-8, is a corrupt record.
        if store.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL's text column holds only valid text")
        cid, conversation = stored_chat(store)
        root = conversation.path_ids()[0]
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                f"UPDATE convo_turns SET payload = {value} WHERE id = ?",  # noqa: S608
                (root,),
            )
        fresh = Store(store.engine, tenant=store.tenant, cache_chars=0)
        for load in (fresh.load, fresh.load_graph):
            with pytest.raises(CorruptRecordError) as info:
                load(cid)
            assert info.value.key == root

    def test_a_number_stored_where_the_text_was_is_corrupt_not_coerced(
        self, store, tamper
    ):
        """`42` in place of `"42"` keeps the canonical bytes of the id, if coerced."""
        conversation = Conversation.new().user("42").assistant("hello")
        cid = store.create(conversation)
        store.load(cid)
        root = conversation.path_ids()[0]
        tamper(
            store,
            cid,
            root,
            payload='{"blocks":[{"text":42,"type":"text"}],"role":"user"}',
        )
        for load in (store.load, store.load_graph):
            with pytest.raises(CorruptRecordError) as info:
                load(cid)
            assert info.value.key == root

    def test_a_parent_cycle_terminates_and_is_corrupt(self, store, tamper):
        cid, conversation = stored_chat(store)
        root, child = conversation.path_ids()
        tamper(store, cid, root, parent_id=child, depth=2)
        with pytest.raises(CorruptRecordError):
            store.load(cid)
        with pytest.raises(CorruptRecordError):
            store.load_graph(cid)

    def test_a_lying_depth_is_corrupt(self, store, tamper):
        cid, conversation = stored_chat(store)
        tamper(store, cid, conversation.path_ids()[1], depth=0)
        with pytest.raises(CorruptRecordError):
            store.load(cid)

    @pytest.mark.parametrize(
        ("depth", "loads"),
        [("'one'", False), ("X'01'", False), ("1.5", True)],
        ids=["text", "blob", "real"],
    )
    def test_a_depth_sqlite_stores_as_another_type_never_escapes_as_a_bare_error(
        self, store, depth, loads
    ):
        # The one-scan read sorts the rows by depth itself: a text or a blob
        # cannot be compared with the integers, and the recursive read then
        # finds the path broken. A real still sorts in place, and the ids
        # prove the path (the depth is not part of what they hash).
        if store.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL's integer column holds only integers")
        conversation = Conversation.new().user("hi").assistant("hello").user("more")
        cid = store.create(conversation)
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                f"UPDATE convo_turns SET depth = {depth} WHERE id = ?",  # noqa: S608
                (conversation.path_ids()[1],),
            )
        fresh = Store(store.engine, tenant=store.tenant, cache_chars=0)
        if loads:
            assert fresh.load(cid).path_ids() == conversation.path_ids()
        else:
            with pytest.raises(CorruptRecordError):
                fresh.load(cid)

    def test_a_lying_turn_count_never_loads_turns_off_the_path(self, store):
        """A count equal to the head's depth + 1 takes the one-scan read; it must check the chain."""
        base = Conversation.new().user("hi").assistant("hello")
        cid = store.create(base)
        store.fork(cid, "other", at=base.path_ids()[0])
        store.append(
            cid,
            convo.assistant("another"),
            branch="other",
            expected_head=base.path_ids()[0],
        )
        with store.engine.begin() as conn:
            conn.execute(
                update(CONVERSATIONS)
                .where(CONVERSATIONS.c.id == cid)
                .values(turn_count=2)
            )
        for branch in ("main", "other"):
            loaded = store.load(cid, branch=branch)
            assert len(loaded.nodes) == 2
            assert loaded.path()[0].text == "hi"

    def test_a_missing_blob_is_corrupt_not_an_empty_image(self, store):
        image = ImageBlock(
            media_type="image/png", data=b"\x89PNG\r\n\x1a\n" + b"x" * 100
        )
        cid = store.create(Conversation.new().user([TextBlock(text="look"), image]))
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM convo_blobs")
        with pytest.raises(CorruptRecordError):
            store.load(cid)

    def test_a_bumped_head_version_alone_changes_nothing(self, store):
        cid, _ = stored_chat(store)
        with store.engine.begin() as conn:
            conn.execute(
                update(HEADS)
                .where(HEADS.c.conversation_id == cid)
                .values(version=HEADS.c.version + 1)
            )
        # A version bump alone is harmless: the head still names a stored turn.
        assert len(store.load(cid).path()) == 2

    def test_the_store_stays_usable_after_a_corrupt_row(self, store, tamper):
        cid, conversation = stored_chat(store)
        tamper(store, cid, conversation.path_ids()[0], payload="{not json")
        with pytest.raises(CorruptRecordError):
            store.load(cid)
        other = store.create(Conversation.new().user("fine"))
        assert store.load(other).path()[0].text == "fine"


class TestNoCodeFromData:
    def test_the_store_package_never_uses_pickle_marshal_eval_exec_or_importlib(self):
        banned_modules = {
            "pickle",
            "marshal",
            "shelve",
            "dill",
            "importlib",
            "cloudpickle",
        }
        banned_calls = {"eval", "exec", "compile", "__import__"}
        sources = [
            *(ROOT / "convo" / "store").rglob("*.py"),
            *(ROOT / "migrations").rglob("*.py"),
        ]
        assert len(sources) >= 9
        offenders = []
        for path in sources:
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom):
                    names = {(node.module or "").split(".")[0]}
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    names = {node.func.id} & banned_calls
                else:
                    continue
                if names & (banned_modules | banned_calls):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        assert offenders == []

    def test_a_legitimate_load_runs_no_code_either(self, store):
        cid, conversation = stored_chat(store)
        with recording() as events:
            assert store.load(cid) == conversation
        assert events == []


def test_convo_user_text_is_not_interpreted():
    assert convo.user(PICKLE).text == PICKLE

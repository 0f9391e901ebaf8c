"""The store's operations, on SQLite and PostgreSQL: what each one promises."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Table, func, select, text

import convo
from convo import Conversation, ImageBlock, TextBlock, ToolCallBlock, ToolResultBlock
from convo.errors import (
    ConflictError,
    CorruptRecordError,
    DecodeError,
    InvalidContentError,
    NotFoundError,
    RoleOrderError,
    SchemaOutOfDateError,
    StoreBusyError,
    StoreError,
    ToolPairingError,
    UsageError,
)
from convo.store import Store
from convo.store._document import write
from convo.store._schema import BLOBS, TURNS

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def chat(*texts: str) -> Conversation:
    conversation = Conversation.new().append(convo.system("Be brief."))
    for i, t in enumerate(texts):
        conversation = conversation.user(t) if i % 2 == 0 else conversation.assistant(t)
    return conversation


def count(store: Store, table: Table, conversation_id: str) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count()).where(table.c.conversation_id == conversation_id)
            )
            or 0
        )


class TestCreateAndLoad:
    def test_an_empty_conversation_loads_with_one_empty_main_branch(self, store):
        cid = store.create()
        loaded = store.load(cid)
        assert loaded.heads == Conversation.new().heads
        assert loaded.path() == ()

    def test_a_created_conversation_loads_back_equal(self, store):
        conversation = chat("hi", "hello", "how are you?")
        cid = store.create(conversation, title="Greeting", metadata={"k": [1, "x"]})
        assert store.load(cid) == conversation
        assert store.load(cid).path_ids() == conversation.path_ids()

    def test_load_returns_only_the_requested_branch(self, store):
        base = chat("hi", "hello")
        forked = base.fork("alt", at=base.path_ids()[1]).user("other question")
        cid = store.create(forked.switch("main"))
        alt = store.load(cid, branch="alt")
        assert alt.active == "alt"
        assert list(alt.heads) == ["alt"]
        assert alt.path() == forked.path("alt")

    def test_load_graph_returns_every_branch_and_the_active_one(self, store):
        base = chat("hi", "hello")
        forked = base.fork("alt", at=base.path_ids()[1]).user("other question")
        cid = store.create(forked)
        assert store.load_graph(cid) == forked
        assert store.load(cid).active == "alt"

    def test_unknown_branch_is_not_found(self, store):
        cid = store.create()
        with pytest.raises(NotFoundError) as info:
            store.load(cid, branch="nope")
        assert info.value.kind == "branch"

    @pytest.mark.parametrize(
        "bad_id",
        [
            "cv_" + "0" * 32,
            "nope",
            "' OR '1'='1",
            "../../etc/passwd",
            "cv_" + "0" * 31 + "\u2028",
            "",
        ],
    )
    def test_unknown_and_malformed_ids_are_not_found(self, store, bad_id):
        with pytest.raises(NotFoundError):
            store.load(bad_id)
        with pytest.raises(NotFoundError):
            store.append(bad_id, convo.user("x"), expected_head=None)

    def test_title_with_a_nul_is_refused_before_anything_is_stored(self, store):
        with pytest.raises(InvalidContentError):
            store.create(title="a\x00b")
        assert store.list().items == ()


class TestAppend:
    def test_append_returns_the_turns_content_id_and_moves_the_head(self, store):
        cid = store.create(chat("hi"))
        head = store.load(cid).head()
        turn = convo.assistant("hello")
        turn_id = store.append(cid, turn, expected_head=head)
        assert turn_id == store.load(cid).head()
        assert store.load(cid) == chat("hi", "hello")

    def test_a_stale_writer_gets_a_conflict_and_nothing_is_written(self, store):
        cid = store.create(chat("hi"))
        head = store.load(cid).head()
        winner = store.append(cid, convo.assistant("first"), expected_head=head)
        before = count(store, TURNS, cid)
        with pytest.raises(ConflictError) as info:
            store.append(cid, convo.assistant("second"), expected_head=head)
        assert info.value.expected == head
        assert info.value.actual == winner
        assert count(store, TURNS, cid) == before
        assert store.load(cid).head() == winner

    def test_a_stale_writer_stays_rejected_on_a_second_attempt(self, store):
        cid = store.create(chat("hi"))
        head = store.load(cid).head()
        store.append(cid, convo.assistant("first"), expected_head=head)
        for _ in range(2):
            with pytest.raises(ConflictError):
                store.append(cid, convo.assistant("late"), expected_head=head)

    def test_retrying_an_append_that_committed_is_idempotent(self, store):
        """An owner retrying its own committed append is not told it lost (LangGraph #8796)."""
        cid = store.create(chat("hi"))
        head = store.load(cid).head()
        first = store.append(cid, convo.assistant("hello"), expected_head=head)
        again = store.append(cid, convo.assistant("hello"), expected_head=head)
        assert first == again
        assert len(store.load(cid).path()) == 3

    def test_append_to_a_missing_branch_is_not_found(self, store):
        cid = store.create()
        with pytest.raises(NotFoundError):
            store.append(cid, convo.user("x"), branch="nope", expected_head=None)

    def test_a_system_turn_after_another_turn_is_refused(self, store):
        cid = store.create(chat("hi"))
        with pytest.raises(RoleOrderError):
            store.append(
                cid, convo.system("again"), expected_head=store.load(cid).head()
            )

    def test_a_tool_result_answering_no_call_is_refused(self, store):
        cid = store.create(chat("hi", "hello"))
        result = ToolResultBlock(call_id="c1", content="42")
        with pytest.raises(ToolPairingError):
            store.append(
                cid, convo.tool_results(result), expected_head=store.load(cid).head()
            )

    def test_tool_results_after_their_calls_are_accepted_once(self, store):
        calls = convo.assistant(
            [
                ToolCallBlock(id="c1", name="f", arguments="{}"),
                ToolCallBlock(id="c2", name="g", arguments="{}"),
            ]
        )
        cid = store.create(chat("hi").append(calls))
        head = store.load(cid).head()
        first = convo.tool_results(ToolResultBlock(call_id="c1", content="1"))
        head = store.append(cid, first, expected_head=head)
        second = convo.tool_results(ToolResultBlock(call_id="c2", content="2"))
        head = store.append(cid, second, expected_head=head)
        with pytest.raises(ToolPairingError):
            store.append(
                cid,
                convo.tool_results(ToolResultBlock(call_id="c1", content="again")),
                expected_head=head,
            )

    def test_a_partial_turn_cannot_be_appended(self, store):
        cid = store.create()
        partial = convo.PartialTurn(turn=convo.assistant("cut"), missing=("x",))
        with pytest.raises(UsageError):
            store.append(cid, partial, expected_head=None)


class TestSave:
    def test_save_stores_only_new_turns_and_is_idempotent(self, store):
        conversation = chat("hi", "hello")
        cid = store.create(conversation)
        longer = conversation.user("more").assistant("sure")
        store.save(cid, longer)
        store.save(cid, longer)
        assert count(store, TURNS, cid) == 5
        assert store.load_graph(cid) == longer

    def test_save_of_a_stale_copy_conflicts_and_writes_nothing(self, store):
        conversation = chat("hi")
        cid = store.create(conversation)
        store.save(cid, conversation.assistant("from writer A"))
        with pytest.raises(ConflictError):
            store.save(cid, conversation.assistant("from writer B"))
        assert count(store, TURNS, cid) == 3
        assert store.load(cid).path()[-1].text == "from writer A"

    def test_save_adds_new_branches(self, store):
        conversation = chat("hi", "hello")
        cid = store.create(conversation)
        forked = conversation.fork("alt", at=conversation.path_ids()[1]).user("b")
        store.save(cid, forked)
        assert [b.name for b in store.branches(cid)] == ["alt", "main"]
        assert store.load(cid, branch="alt").path() == forked.path("alt")

    def test_save_honours_expected_heads(self, store):
        conversation = chat("hi")
        cid = store.create(conversation)
        with pytest.raises(ConflictError):
            store.save(
                cid,
                conversation.assistant("x"),
                expected_heads={"main": conversation.path_ids()[0]},
            )


class TestForkAndBranches:
    def test_fork_stores_no_turns_and_lists_the_branch(self, store):
        conversation = chat("hi", "hello", "again")
        cid = store.create(conversation)
        before = count(store, TURNS, cid)
        store.fork(cid, "alt", at=conversation.path_ids()[1])
        assert count(store, TURNS, cid) == before
        branches = {b.name: b for b in store.branches(cid)}
        assert branches["alt"].head == conversation.path_ids()[1]
        assert branches["main"].active
        assert not branches["alt"].active

    def test_forking_the_same_name_twice_is_a_noop_but_elsewhere_conflicts(self, store):
        conversation = chat("hi", "hello")
        cid = store.create(conversation)
        at = conversation.path_ids()[1]
        store.fork(cid, "alt", at=at)
        store.fork(cid, "alt", at=at)
        with pytest.raises(ConflictError):
            store.fork(cid, "alt", at=conversation.path_ids()[0])

    def test_fork_at_a_turn_of_another_conversation_is_not_found(self, store):
        one = store.create(chat("hi"))
        other = chat("other")
        store.create(other)
        with pytest.raises(NotFoundError):
            store.fork(one, "alt", at=other.path_ids()[-1])

    def test_switch_changes_the_branch_load_returns(self, store):
        conversation = chat("hi", "hello")
        cid = store.create(conversation)
        store.fork(cid, "empty", at=None, switch=True)
        assert store.load(cid).active == "empty"
        store.switch(cid, "main")
        assert store.load(cid).active == "main"

    def test_appending_to_a_fork_shares_the_prefix_rows(self, store):
        conversation = chat("hi", "hello")
        cid = store.create(conversation)
        at = conversation.path_ids()[1]
        store.fork(cid, "alt", at=at)
        store.append(cid, convo.assistant("other"), branch="alt", expected_head=at)
        assert count(store, TURNS, cid) == 4


class TestImages:
    def test_image_bytes_live_in_blobs_and_round_trip(self, store):
        image = ImageBlock(media_type="image/png", data=PNG)
        conversation = chat().user([TextBlock(text="look"), image, image])
        cid = store.create(conversation)
        assert count(store, BLOBS, cid) == 1
        with store.engine.connect() as conn:
            payloads = conn.scalars(
                select(TURNS.c.payload).where(TURNS.c.conversation_id == cid)
            ).all()
        assert all(image.base64[:40] not in p for p in payloads)
        assert store.load(cid) == conversation
        assert store.export(cid) == exported(conversation)

    @pytest.mark.parametrize("position", ["first", "last"])
    def test_a_long_conversation_loads_its_images_wherever_they_are(
        self, store, position
    ):
        # Past 64 turns a load first asks whether the conversation has blobs
        # at all, instead of scanning every payload for references.
        image = ImageBlock(media_type="image/png", data=PNG)
        conversation = chat()
        if position == "first":
            conversation = conversation.user([TextBlock(text="look"), image])
            conversation = conversation.assistant("seen")
        for i in range(40):
            conversation = conversation.user(f"q{i}").assistant(f"a{i}")
        if position == "last":
            conversation = conversation.user([TextBlock(text="look"), image])
        cid = store.create(conversation)
        fresh = Store(store.engine, tenant=store.tenant, cache_chars=0)
        assert len(conversation) > 64
        assert fresh.load(cid) == conversation
        assert fresh.load_graph(cid) == store.load_graph(cid)

    def test_a_long_conversation_without_blobs_refuses_a_reference_to_one(
        self, store, tamper
    ):
        conversation = chat()
        for i in range(40):
            conversation = conversation.user(f"q{i}").assistant(f"a{i}")
        cid = store.create(conversation)
        victim = conversation.path_ids()[5]
        tamper(
            store,
            cid,
            victim,
            payload='{"blocks":[{"blob":"sha256:' + "0" * 64 + '",'
            '"media_type":"image/png","type":"image"}],"role":"user"}',
        )
        fresh = Store(store.engine, tenant=store.tenant, cache_chars=0)
        for load in (fresh.load, fresh.load_graph):
            with pytest.raises(CorruptRecordError, match="missing blob"):
                load(cid)

    def test_images_inside_tool_results_round_trip(self, store):
        image = ImageBlock(media_type="image/png", data=PNG)
        conversation = (
            chat("hi")
            .append(convo.assistant(ToolCallBlock(id="c", name="shot")))
            .tool_results(
                ToolResultBlock(call_id="c", content=(TextBlock(text="x"), image))
            )
        )
        cid = store.create(conversation)
        assert count(store, BLOBS, cid) == 1
        assert store.load(cid) == conversation


class TestListAndSearch:
    def test_list_pages_newest_first_without_gaps_or_repeats(self, store):
        ids = [store.create(title=f"c{i}") for i in range(7)]
        seen: list[str] = []
        cursor = None
        while True:
            page = store.list(limit=3, cursor=cursor)
            seen.extend(info.id for info in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == list(reversed(ids))

    def test_list_shows_title_metadata_and_counts(self, store):
        cid = store.create(chat("hi"), title="T", metadata={"user": "u1"})
        (info,) = store.list().items
        assert (info.id, info.title, info.metadata, info.turn_count) == (
            cid,
            "T",
            {"user": "u1"},
            2,
        )

    def test_search_finds_titles_and_turn_text_case_insensitively(self, store):
        by_title = store.create(title="Quarterly Report")
        by_text = store.create(chat('the word "zebra" here'))
        store.create(chat("nothing"))
        assert [i.id for i in store.search("quarterly").items] == [by_title]
        assert [i.id for i in store.search('"ZEBRA"').items] == [by_text]

    def test_search_ignores_case_beyond_ascii_on_every_database(self, store):
        by_title = store.create(title="Ärger im Büro")
        by_text = store.create(chat("Ein ÜBERRASCHUNG aus Αθήνα"))
        store.create(chat("nothing"))
        assert [i.id for i in store.search("ärger").items] == [by_title]
        assert [i.id for i in store.search("überraschung").items] == [by_text]
        assert [i.id for i in store.search("ΑΘΉΝΑ").items] == [by_text]

    @pytest.mark.parametrize("term", ["%", "_", "\\", "' OR 1=1 --", "\u2028"])
    def test_search_treats_metacharacters_literally(self, store, term):
        store.create(title="plain")
        assert store.search(term).items == ()

    def test_a_cursor_from_elsewhere_is_refused(self, store):
        with pytest.raises(InvalidContentError):
            store.list(cursor="not a cursor")


class TestDelete:
    def test_delete_removes_every_row_and_the_id_answers_not_found(self, store):
        image = ImageBlock(media_type="image/png", data=PNG)
        cid = store.create(chat().user([TextBlock(text="x"), image]))
        store.delete(cid)
        assert count(store, TURNS, cid) == 0
        assert count(store, BLOBS, cid) == 0
        for call in (store.load, store.load_graph, store.delete, store.export):
            with pytest.raises(NotFoundError):
                call(cid)
        assert store.list().items == ()

    def test_a_writer_that_loaded_before_the_delete_writes_nothing(self, store):
        """Writes overlapping a delete must not resurrect it (LangGraph #7207)."""
        conversation = chat("hi")
        cid = store.create(conversation)
        loaded = store.load(cid)
        store.delete(cid)
        with pytest.raises(NotFoundError):
            store.append(cid, convo.assistant("late"), expected_head=loaded.head())
        with pytest.raises(NotFoundError):
            store.save(cid, loaded.assistant("late"))
        with pytest.raises(NotFoundError):
            store.fork(cid, "late", at=None)
        assert count(store, TURNS, cid) == 0


class TestExportImport:
    def test_export_is_the_canonical_document_and_import_makes_a_copy(self, store):
        conversation = chat("hi", "hello")
        conversation = conversation.fork("alt", at=conversation.path_ids()[0]).user("x")
        cid = store.create(conversation)
        data = store.export(cid)
        assert data == exported(conversation)
        copy = store.import_(data)
        assert copy != cid
        assert store.load_graph(copy) == conversation

    def test_importing_a_tampered_document_is_refused(self, store):
        data = store.export(store.create(chat("hi")))
        with pytest.raises(DecodeError):
            store.import_(data.replace(b"hi", b"ho"))
        assert len(store.list().items) == 1


class TestTenants:
    def test_another_tenants_conversation_answers_exactly_like_a_missing_one(
        self, db_url, store
    ):
        cid = store.create(chat("secret"), title="mine")
        with Store(db_url, tenant=store.tenant + "-other") as other:
            missing = "cv_" + "0" * 32
            for target in (cid, missing):
                with pytest.raises(NotFoundError) as info:
                    other.load(target)
                assert info.value.kind == "conversation"
            with pytest.raises(NotFoundError):
                other.append(cid, convo.user("x"), expected_head=None)
            with pytest.raises(NotFoundError):
                other.delete(cid)
            assert other.list().items == ()
            assert other.search("secret").items == ()
        assert store.load(cid) == chat("secret")

    def test_a_tenant_name_must_be_short_and_non_empty(self, db_url):
        for bad in ("", "x" * 65):
            with pytest.raises(ValueError, match="tenant"):
                Store(db_url, tenant=bad)


class TestOpening:
    @pytest.mark.parametrize("empty_url", ["sqlite", "postgresql"], indirect=True)
    def test_an_out_of_date_schema_refuses_to_open_and_names_the_command(
        self, empty_url
    ):
        with pytest.raises(SchemaOutOfDateError) as info:
            Store(empty_url)
        assert "convo db upgrade --url" in str(info.value)
        assert "convo.store.upgrade(" in str(info.value)
        assert info.value.current is None
        assert info.value.head == convo.store.HEAD

    @pytest.mark.parametrize("empty_url", ["sqlite", "postgresql"], indirect=True)
    def test_create_true_upgrades_first(self, empty_url):
        with Store(empty_url, create=True) as store:
            assert store.load(store.create()).path() == ()

    def test_the_repr_never_shows_a_password(self):
        url = "postgresql+psycopg://user:hunter2@127.0.0.1:1/db"
        with pytest.raises(StoreError) as info:
            Store(url)
        assert "hunter2" not in str(info.value)
        assert "hunter2" not in repr(info.value)


class TestSQLiteDiscipline:
    def test_every_pooled_connection_has_wal_busy_timeout_and_foreign_keys(
        self, tmp_path
    ):
        url = f"sqlite:///{tmp_path / 'p.db'}"
        with Store(url, create=True) as store:
            for _ in range(20):
                with store.engine.connect() as conn:
                    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                    assert (
                        conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0
                    ) >= 5000
                    assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                    # 1 = NORMAL: survives application crashes (see convo.store._sqlite)
                    assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1

    def test_synchronous_full_is_configurable(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'f.db'}"
        with (
            Store(url, create=True, synchronous="FULL") as store,
            store.engine.connect() as conn,
        ):
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2

    def test_a_lock_held_past_the_timeout_is_store_busy_and_the_store_recovers(
        self, tmp_path
    ):
        path = tmp_path / "busy.db"
        url = f"sqlite:///{path}"
        with Store(url, create=True, busy_timeout_ms=200) as store:
            cid = store.create()
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            try:
                with pytest.raises(StoreBusyError):
                    store.append(cid, convo.user("x"), expected_head=None)
                assert store.load(cid).path() == ()  # readers still read under WAL
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            store.append(cid, convo.user("x"), expected_head=None)
            assert len(store.load(cid).path()) == 1

    def test_a_writer_waits_for_a_short_lock_instead_of_failing(self, tmp_path):
        import threading

        path = tmp_path / "wait.db"
        with Store(f"sqlite:///{path}", create=True) as store:
            cid = store.create()
            blocker = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False
            )
            blocker.execute("BEGIN IMMEDIATE")
            timer = threading.Timer(0.5, lambda: blocker.execute("COMMIT"))
            timer.start()
            try:
                store.append(cid, convo.user("x"), expected_head=None)
            finally:
                timer.join()
                blocker.close()
            assert len(store.load(cid).path()) == 1

    def test_write_transactions_begin_immediate(self, tmp_path):
        from sqlalchemy import event

        with Store(f"sqlite:///{tmp_path / 'b.db'}", create=True) as store:
            statements: list[str] = []
            event.listen(
                store.engine,
                "before_cursor_execute",
                lambda *a: statements.append(a[2]),
            )
            store.append(store.create(), convo.user("x"), expected_head=None)
            with store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert statements.count("BEGIN IMMEDIATE") == 2


class TestEnteringWal:
    """Many processes opening one new file race to switch it to WAL (R1 first write)."""

    class Cursor:
        def __init__(self, failures: list[str]) -> None:
            self.failures = failures
            self.calls = 0

        def execute(self, sql: str) -> None:
            self.calls += 1
            if self.failures:
                raise sqlite3.OperationalError(self.failures.pop(0))

    def test_an_immediate_busy_answer_is_retried_until_the_switch_succeeds(self):
        from convo.store._sqlite import _enter_wal

        cursor = self.Cursor(["database is locked", "database is locked"])
        _enter_wal(cursor, 5000)
        assert cursor.calls == 3

    def test_other_errors_are_not_retried(self):
        from convo.store._sqlite import _enter_wal

        cursor = self.Cursor(["disk I/O error"])
        with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
            _enter_wal(cursor, 5000)
        assert cursor.calls == 1

    def test_a_lock_that_outlives_the_busy_timeout_is_raised(self):
        from convo.store._sqlite import _enter_wal

        cursor = self.Cursor(["database is locked"] * 1000)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            _enter_wal(cursor, 20)


class TestInterleavings:
    """Writers overlapping in time, with one transaction held open (R2)."""

    def _in_flight(self, store: Store, op, **kwargs):
        """Begin a write transaction running `op` and leave it open."""
        conn = store.engine.connect()
        conn.execution_options(convo_sqlite_begin="IMMEDIATE")
        transaction = conn.begin()
        op(conn, tenant=store.tenant, **kwargs)
        return conn, transaction

    def test_an_append_waiting_on_a_delete_in_flight_writes_nothing(self, store):
        import threading

        from convo.store import _statements

        cid = store.create(chat("hi"))
        head = store.load(cid).head()
        conn, transaction = self._in_flight(
            store, _statements.delete_conversation, cid=cid
        )
        outcome: list[BaseException | str] = []

        def late_writer() -> None:
            try:
                store.append(cid, convo.assistant("late"), expected_head=head)
                outcome.append("appended")
            except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                outcome.append(exc)

        writer = threading.Thread(target=late_writer)
        writer.start()
        writer.join(0.3)
        assert outcome == []  # blocked behind the delete
        transaction.commit()
        conn.close()
        writer.join(10)
        assert len(outcome) == 1
        assert isinstance(outcome[0], NotFoundError)
        assert count(store, TURNS, cid) == 0

    def test_a_delete_waiting_on_an_append_in_flight_removes_it_too(self, store):
        import threading

        from convo.store import _statements

        cid = store.create(chat("hi"))
        head = store.load(cid).head()
        conn, transaction = self._in_flight(
            store,
            _statements.append,
            cid=cid,
            turn=convo.assistant("in flight"),
            branch="main",
            expected_head=head,
        )
        deleter = threading.Thread(target=store.delete, args=(cid,))
        deleter.start()
        deleter.join(0.3)
        assert deleter.is_alive()  # blocked behind the append
        transaction.commit()
        conn.close()
        deleter.join(10)
        assert not deleter.is_alive()
        assert count(store, TURNS, cid) == 0
        with pytest.raises(NotFoundError):
            store.load(cid)

    def test_two_appends_from_the_same_head_one_in_flight_one_conflicts(self, store):
        import threading

        from convo.store import _statements

        cid = store.create(chat("hi"))
        head = store.load(cid).head()
        conn, transaction = self._in_flight(
            store,
            _statements.append,
            cid=cid,
            turn=convo.assistant("first"),
            branch="main",
            expected_head=head,
        )
        outcome: list[BaseException | str] = []

        def second() -> None:
            try:
                store.append(cid, convo.assistant("second"), expected_head=head)
                outcome.append("appended")
            except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                outcome.append(exc)

        writer = threading.Thread(target=second)
        writer.start()
        writer.join(0.3)
        assert outcome == []  # blocked behind the first append
        transaction.commit()
        conn.close()
        writer.join(10)
        assert len(outcome) == 1
        assert isinstance(outcome[0], ConflictError)
        assert [t.text for t in store.load(cid).path()][-1] == "first"


def exported(conversation: Conversation) -> bytes:
    """What `Store.export` writes for a conversation stored without title or metadata."""
    return write(conversation, title=None, metadata={})

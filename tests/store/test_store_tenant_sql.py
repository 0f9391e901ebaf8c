"""Tenant scoping, seen in the SQL itself (S3), on SQLite and PostgreSQL.

Every operation runs in one transaction, and its first statement that reads or
writes a conversation's rows carries the tenant predicate with the store's own
tenant bound (or, for `create`, writes the tenant into the new row). Later
statements of the same transaction are scoped by the conversation id that check
admitted. With another tenant's id, no statement writes anything.

A statement listener sends every append down the ordinary path (see
`_sqlite_append`), so all of the store's SQL is seen here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event

import convo
from convo import Conversation
from convo.errors import NotFoundError
from convo.store import Store

Operation = Callable[[Store, str], object]
STORED = Conversation.new().user("hi").assistant("hello")
# A second branch to delete and rename; main stays the active one.
WITH_SIDE = STORED.fork("spare", at=STORED.head()).switch("main")


def _save(store: Store, cid: str) -> None:
    store.save(cid, STORED.user("more"))


def _append(store: Store, cid: str) -> None:
    store.append(cid, convo.user("again"), expected_head=STORED.head())


def _fork(store: Store, cid: str) -> None:
    store.fork(cid, "side", at=STORED.head())


OPERATIONS: dict[str, Operation] = {
    "save": _save,
    "append": _append,
    "fork": _fork,
    "switch": lambda store, cid: store.switch(cid, "main"),
    "load": lambda store, cid: store.load(cid),
    "load_graph": lambda store, cid: store.load_graph(cid),
    "branches": lambda store, cid: store.branches(cid),
    "export": lambda store, cid: store.export(cid),
    "delete": lambda store, cid: store.delete(cid),
    "info": lambda store, cid: store.info(cid),
    "branches_page": lambda store, cid: store.branches(cid, limit=1, after="a"),
    "update": lambda store, cid: store.update(cid, expected_version=1, title="t"),
    "delete_branch": lambda store, cid: store.delete_branch(cid, "spare"),
    "rename_branch": lambda store, cid: store.rename_branch(cid, "spare", "kept"),
    "erase": lambda store, cid: store.erase(cid),
}
WRITES = ("INSERT", "UPDATE", "DELETE")


class Capture:
    """The statements (text, bound values) the store sends, from `start()` on."""

    def __init__(self, store: Store) -> None:
        self.statements: list[tuple[str, list[Any]]] = []
        event.listen(store.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        statement, parameters = args[2], args[3]
        if isinstance(parameters, dict):
            values = list(parameters.values())
        elif isinstance(parameters, list | tuple):
            values = list(parameters)
        else:
            values = []
        self.statements.append((" ".join(statement.split()), values))

    def start(self) -> None:
        self.statements.clear()

    def on_convo_rows(self) -> list[tuple[str, list[Any]]]:
        return [
            (sql, values)
            for sql, values in self.statements
            if "convo_" in sql and "alembic" not in sql
        ]


def assert_tenant_checked_first(
    statements: list[tuple[str, list[Any]]], tenant: str, what: str
) -> None:
    assert statements, f"{what} ran no statement on convo's tables"
    sql, values = statements[0]
    creates = sql.startswith("INSERT INTO convo_conversations")
    assert creates or "tenant" in sql, (
        f"{what} first touched rows without a tenant: {sql}"
    )
    assert tenant in values, f"{what} did not bind its own tenant first: {sql}"


@pytest.fixture
def capture(store: Store) -> Capture:
    return Capture(store)


class TestEveryOperationChecksTheTenantFirst:
    @pytest.mark.parametrize("name", OPERATIONS)
    def test_on_its_own_conversation(self, store, capture, name):
        cid = store.create(WITH_SIDE)
        capture.start()
        OPERATIONS[name](store, cid)
        assert_tenant_checked_first(capture.on_convo_rows(), store.tenant, name)

    @pytest.mark.parametrize("name", ["create", "import"])
    def test_creating_writes_the_tenant_into_the_new_row(self, store, capture, name):
        capture.start()
        if name == "create":
            store.create(Conversation.new().user("hi"))
        else:
            store.import_(convo.wire.canonical.dumps(Conversation.new().user("hi")))
        (first, values) = capture.on_convo_rows()[0]
        assert first.startswith("INSERT INTO convo_conversations")
        assert store.tenant in values

    @pytest.mark.parametrize("name", ["list", "search"])
    def test_listings_select_only_this_tenants_rows(self, store, capture, name):
        store.create(Conversation.new().user("findable"), title="findable")
        capture.start()
        if name == "list":
            store.list()
        else:
            store.search("findable")
        statements = capture.on_convo_rows()
        assert_tenant_checked_first(statements, store.tenant, name)
        assert len(statements) == 1


class TestAnotherTenantsConversation:
    @pytest.mark.parametrize("name", OPERATIONS)
    def test_is_not_found_and_no_statement_writes(self, db_url, store, name):
        cid = store.create(WITH_SIDE)
        with Store(db_url, tenant=store.tenant + "-other") as intruder:
            capture = Capture(intruder)
            capture.start()
            with pytest.raises(NotFoundError):
                OPERATIONS[name](intruder, cid)
            assert not [s for s, _ in capture.on_convo_rows() if s.startswith(WRITES)]
        assert store.load(cid).path()[-1].text == "hello"
        assert store.info(cid).version == 1

    @pytest.mark.parametrize("name", OPERATIONS)
    def test_is_not_found_through_a_tenant_view_of_the_same_store(self, store, name):
        cid = store.create(WITH_SIDE)
        intruder = store.for_tenant(store.tenant + "-other")
        assert intruder.engine is store.engine
        capture = Capture(intruder)
        capture.start()
        with pytest.raises(NotFoundError):
            OPERATIONS[name](intruder, cid)
        statements = capture.on_convo_rows()
        assert not [s for s, _ in statements if s.startswith(WRITES)]
        assert_tenant_checked_first(statements, intruder.tenant, name)
        assert store.load(cid).path()[-1].text == "hello"

    def test_listings_show_none_of_it(self, db_url, store):
        store.create(Conversation.new().user("secret words"), title="secret")
        with Store(db_url, tenant=store.tenant + "-other") as intruder:
            assert intruder.list().items == ()
            assert intruder.search("secret").items == ()

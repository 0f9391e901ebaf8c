"""The store agrees with an in-memory model over random operation sequences."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import convo
from convo import Conversation, TurnId
from convo.errors import ConflictError, NotFoundError
from convo.store import Store

TEXTS = st.sampled_from(["hi", "hello", "again", "👋 ok", "x\u2028y", "same"])
BRANCHES = st.sampled_from(["main", "alt", "b-2"])
SETTINGS = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class StoreModel(RuleBasedStateMachine):
    """One tenant: create, append, re-append, fork, stale append, load and delete against a model."""

    url: str

    def __init__(self) -> None:
        super().__init__()
        self.store = Store(self.url, tenant="m-" + secrets.token_hex(6))
        self.model: dict[str, Conversation] = {}
        self.deleted: set[str] = set()

    conversations = Bundle("conversations")
    gone = Bundle("gone")

    def teardown(self) -> None:
        self.store.close()

    @rule(target=conversations, system=st.booleans())
    def create(self, system: bool) -> str:
        conversation = Conversation.new()
        if system:
            conversation = conversation.append(convo.system("be kind"))
        cid = self.store.create(conversation)
        self.model[cid] = conversation
        return cid

    @rule(
        cid=conversations,
        branch=BRANCHES,
        text=TEXTS,
        role=st.sampled_from(["user", "assistant"]),
    )
    def append(self, cid: str, branch: str, text: str, role: str) -> None:
        model = self.model[cid]
        turn = convo.user(text) if role == "user" else convo.assistant(text)
        if branch not in model.heads:
            with pytest.raises(NotFoundError):
                self.store.append(cid, turn, branch=branch, expected_head=None)
            return
        turn_id = self.store.append(
            cid, turn, branch=branch, expected_head=model.head(branch)
        )
        self.model[cid] = model.append(turn, branch=branch)
        assert turn_id == self.model[cid].head(branch)

    @rule(cid=conversations, text=TEXTS)
    def stale_append(self, cid: str, text: str) -> None:
        model = self.model[cid]
        head = model.head("main")
        stale: TurnId | None = None if head is None else model.node(head).parent
        if head is None:
            return
        with pytest.raises(ConflictError) as info:
            self.store.append(cid, convo.user(text + " late"), expected_head=stale)
        assert info.value.actual == head
        assert info.value.expected == stale

    @rule(cid=conversations, branch=BRANCHES, data=st.data())
    def reappend(self, cid: str, branch: str, data: st.DataObject) -> None:
        """Re-appending any turn on a branch's path after its parent is a no-op."""
        model = self.model[cid]
        if branch not in model.heads or model.head(branch) is None:
            return
        turn_id = data.draw(st.sampled_from(model.path_ids(branch)))
        node = model.node(turn_id)
        again = self.store.append(
            cid, node.turn, branch=branch, expected_head=node.parent
        )
        assert again == turn_id
        assert self.store.load(cid, branch=branch).path_ids() == model.path_ids(branch)

    @rule(cid=conversations, name=BRANCHES, data=st.data())
    def fork(self, cid: str, name: str, data: st.DataObject) -> None:
        model = self.model[cid]
        at = data.draw(st.sampled_from([None, *sorted(model.nodes)]))
        if name in model.heads:
            if model.heads[name] == at:
                self.store.fork(cid, name, at=at)  # the same fork again: a no-op
            else:
                with pytest.raises(ConflictError):
                    self.store.fork(cid, name, at=at)
            return
        self.store.fork(cid, name, at=at)
        self.model[cid] = model.fork(name, at=at, switch=False)

    @rule(cid=conversations, branch=BRANCHES)
    def load(self, cid: str, branch: str) -> None:
        model = self.model[cid]
        if branch not in model.heads:
            with pytest.raises(NotFoundError):
                self.store.load(cid, branch=branch)
            return
        loaded = self.store.load(cid, branch=branch)
        assert loaded.path_ids() == model.path_ids(branch)
        assert loaded.path() == model.path(branch)

    @rule(cid=conversations)
    def load_graph(self, cid: str) -> None:
        assert self.store.load_graph(cid) == self.model[cid]

    @rule(target=gone, cid=consumes(conversations))
    def delete(self, cid: str) -> str:
        self.store.delete(cid)
        del self.model[cid]
        self.deleted.add(cid)
        return cid

    @rule(cid=gone, text=TEXTS)
    def deleted_stays_deleted(self, cid: str, text: str) -> None:
        for call in (
            lambda: self.store.load(cid),
            lambda: self.store.append(cid, convo.user(text), expected_head=None),
            lambda: self.store.fork(cid, "late", at=None),
            lambda: self.store.delete(cid),
        ):
            with pytest.raises(NotFoundError):
                call()

    @invariant()
    def listing_matches_the_model(self) -> None:
        listed = {info.id for info in self.store.list(limit=1000).items}
        assert listed == set(self.model)


TENANTS = ("acme", "globex", "initech")


class TenantModel(RuleBasedStateMachine):
    """Three tenants on one database: nobody reads or writes another's conversations."""

    url: str

    def __init__(self) -> None:
        super().__init__()
        suffix = secrets.token_hex(4)
        self.stores = {t: Store(self.url, tenant=f"{t}-{suffix}") for t in TENANTS}
        self.owner: dict[str, str] = {}
        self.model: dict[str, Conversation] = {}

    conversations = Bundle("conversations")

    def teardown(self) -> None:
        for store in self.stores.values():
            store.close()

    @rule(target=conversations, tenant=st.sampled_from(TENANTS), text=TEXTS)
    def create(self, tenant: str, text: str) -> str:
        conversation = Conversation.new().user(f"{tenant}: {text}")
        cid = self.stores[tenant].create(conversation, title=f"{tenant} {text}")
        self.owner[cid] = tenant
        self.model[cid] = conversation
        return cid

    @rule(cid=conversations, tenant=st.sampled_from(TENANTS), text=TEXTS)
    def append(self, cid: str, tenant: str, text: str) -> None:
        if cid not in self.model:
            return
        store = self.stores[tenant]
        head = self.model[cid].head()
        turn = convo.assistant(text)
        if tenant != self.owner[cid]:
            with pytest.raises(NotFoundError):
                store.append(cid, turn, expected_head=head)
            return
        store.append(cid, turn, expected_head=head)
        self.model[cid] = self.model[cid].append(turn)

    @rule(cid=conversations, tenant=st.sampled_from(TENANTS))
    def read(self, cid: str, tenant: str) -> None:
        store = self.stores[tenant]
        if cid not in self.model or tenant != self.owner[cid]:
            for call in (store.load, store.load_graph, store.export, store.branches):
                with pytest.raises(NotFoundError):
                    call(cid)
            return
        assert store.load_graph(cid) == self.model[cid]

    @rule(cid=conversations, tenant=st.sampled_from(TENANTS))
    def foreign_writes(self, cid: str, tenant: str) -> None:
        if cid in self.model and tenant == self.owner[cid]:
            return
        store = self.stores[tenant]
        calls: tuple[Callable[[], object], ...] = (
            lambda: store.fork(cid, "steal", at=None),
            lambda: store.switch(cid, "main"),
            lambda: store.save(cid, Conversation.new().user("overwrite")),
            lambda: store.delete(cid),
        )
        for call in calls:
            with pytest.raises(NotFoundError):
                call()

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(sorted(self.model)))
        self.stores[self.owner[cid]].delete(cid)
        del self.model[cid]

    @invariant()
    def each_tenant_lists_and_finds_only_its_own(self) -> None:
        for tenant, store in self.stores.items():
            own = {
                cid
                for cid, t in self.owner.items()
                if t == tenant and cid in self.model
            }
            assert {i.id for i in store.list(limit=1000).items} == own
            assert {i.id for i in store.search(tenant, limit=1000).items} == own


@pytest.mark.slow
class TestStateful:
    def test_store_agrees_with_the_model(self, db_url):
        """Any sequence of create/append/re-append/fork/stale append/load/delete matches the model."""
        machine = type("Machine", (StoreModel,), {"url": db_url})
        run_state_machine_as_test(machine, settings=SETTINGS)

    def test_tenants_never_see_each_others_conversations(self, db_url):
        """Over three tenants, foreign ids always answer NotFound and nothing leaks."""
        machine = type("Machine", (TenantModel,), {"url": db_url})
        run_state_machine_as_test(machine, settings=settings(SETTINGS, max_examples=25))

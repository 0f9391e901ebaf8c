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
from convo.errors import ConflictError, InvalidConversationError, NotFoundError
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
    """One tenant: create, append, re-append, fork, stale append, load, delete,
    attribute updates, branch delete/rename, erase, prune and a foreign tenant
    view, against a model."""

    url: str

    def __init__(self) -> None:
        super().__init__()
        self.store = Store(self.url, tenant="m-" + secrets.token_hex(6))
        self.model: dict[str, Conversation] = {}
        self.deleted: set[str] = set()
        # Per conversation: (title, version), and its creation time as seen once.
        self.attributes: dict[str, tuple[str | None, int]] = {}
        self.created: dict[str, tuple[object, str]] = {}

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
        self.attributes[cid] = (None, 1)
        self.created[cid] = (self.store.info(cid).created_at, cid)
        return cid

    @rule(cid=conversations, text=TEXTS)
    def append_to_the_active_branch(self, cid: str, text: str) -> None:
        if cid not in self.model:
            return  # erased by a prune
        model = self.model[cid]
        turn = convo.user(text)
        turn_id = self.store.append(cid, turn, expected_head=model.head(model.active))
        self.model[cid] = model.append(turn, branch=model.active)
        assert turn_id == self.model[cid].head(model.active)

    @rule(cid=conversations, title=TEXTS, stale=st.booleans())
    def update_title(self, cid: str, title: str, stale: bool) -> None:
        if cid not in self.model:
            return  # erased by a prune
        _, version = self.attributes[cid]
        if stale:
            with pytest.raises(ConflictError):
                self.store.update(cid, expected_version=version - 1, title=title)
            return
        assert self.store.update(cid, expected_version=version, title=title) == (
            version + 1
        )
        self.attributes[cid] = (title, version + 1)

    @rule(cid=conversations, name=BRANCHES)
    def delete_branch(self, cid: str, name: str) -> None:
        if cid not in self.model:
            return  # erased by a prune
        model = self.model[cid]
        if name not in model.heads:
            with pytest.raises(NotFoundError):
                self.store.delete_branch(cid, name)
        elif name == model.active:
            with pytest.raises(InvalidConversationError):
                self.store.delete_branch(cid, name)
        else:
            self.store.delete_branch(cid, name)
            heads = {k: v for k, v in model.heads.items() if k != name}
            self.model[cid] = model.with_heads(heads, active=model.active)

    @rule(cid=conversations, name=BRANCHES, new_name=BRANCHES)
    def rename_branch(self, cid: str, name: str, new_name: str) -> None:
        if cid not in self.model:
            return  # erased by a prune
        model = self.model[cid]
        if name not in model.heads:
            with pytest.raises(NotFoundError):
                self.store.rename_branch(cid, name, new_name)
        elif new_name != name and new_name in model.heads:
            with pytest.raises(ConflictError):
                self.store.rename_branch(cid, name, new_name)
        else:
            self.store.rename_branch(cid, name, new_name)
            heads = {(new_name if k == name else k): v for k, v in model.heads.items()}
            active = new_name if model.active == name else model.active
            self.model[cid] = model.with_heads(heads, active=active)

    @rule(target=gone, cid=consumes(conversations))
    def erase(self, cid: str) -> str:
        if cid not in self.model:  # erased by a prune
            with pytest.raises(NotFoundError):
                self.store.erase(cid)
            return cid
        self.store.erase(cid)
        del self.model[cid]
        self.deleted.add(cid)
        return cid

    @precondition(lambda self: len(self.model) > 1)
    @rule(keep=st.integers(min_value=1, max_value=3))
    def prune_keeping_the_latest(self, keep: int) -> None:
        newest = sorted(
            (self.created[c] for c in self.model), key=lambda k: (k[0], k[1])
        )
        expected = {cid for _, cid in newest[: max(len(newest) - keep, 0)]}
        report = self.store.prune(keep_latest=keep, batch_size=2)
        assert set(report.conversation_ids) == expected
        for cid in expected:
            del self.model[cid]
            self.deleted.add(cid)

    @rule(cid=conversations)
    def another_tenants_view_sees_nothing(self, cid: str) -> None:
        if cid not in self.model:
            return  # erased by a prune
        view = self.store.for_tenant(self.store.tenant + "-x")
        with pytest.raises(NotFoundError):
            view.info(cid)
        assert view.list().items == ()

    @rule(
        cid=conversations,
        branch=BRANCHES,
        text=TEXTS,
        role=st.sampled_from(["user", "assistant"]),
    )
    def append(self, cid: str, branch: str, text: str, role: str) -> None:
        if cid not in self.model:
            return  # erased by a prune
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
        if cid not in self.model:
            return  # erased by a prune
        model = self.model[cid]
        head = model.head(model.active)
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
        if cid not in self.model:
            return  # erased by a prune
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
        if cid not in self.model:
            return  # erased by a prune
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
        if cid not in self.model:
            return  # erased by a prune
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
        if cid not in self.model:
            return  # erased by a prune
        assert self.store.load_graph(cid) == self.model[cid]

    @rule(target=gone, cid=consumes(conversations))
    def delete(self, cid: str) -> str:
        if cid not in self.model:  # erased by a prune
            with pytest.raises(NotFoundError):
                self.store.delete(cid)
            return cid
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

    @invariant()
    def info_matches_the_model(self) -> None:
        for cid, model in self.model.items():
            detail = self.store.info(cid)
            assert {b.name: b.head for b in detail.branches} == dict(model.heads)
            assert detail.active_branch == model.active
            assert detail.turn_count == len(model.nodes)
            assert (detail.title, detail.version) == self.attributes[cid]


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

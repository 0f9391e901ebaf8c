"""The decoded-turn cache: a conversation loaded again decodes only its new turns.

It may change how fast a load is, never what it returns or refuses.
"""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings

import convo
from convo import Conversation, ImageBlock, Node, TextBlock, TurnId
from convo.errors import CorruptRecordError
from convo.store import Store
from convo.store import _mapper as mapper
from convo.store._cache import TurnCache
from convo.testing.strategies import conversations, png_bytes


def head_node(conversation: Conversation) -> Node:
    head = conversation.head()
    assert head is not None
    return conversation.node(head)


def chat(n: int) -> Conversation:
    conversation = Conversation.new().append(convo.system("Be brief."))
    for i in range(n):
        conversation = conversation.user(f"q{i}").assistant(f"a{i}")
    return conversation


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the rows the store decodes from here on."""
    seen: list[str] = []
    real = mapper.decode_payload

    def counting(payload, blobs, *, key):
        seen.append(key)
        return real(payload, blobs, key=key)

    monkeypatch.setattr(mapper, "decode_payload", counting)
    return seen


class TestTurnCache:
    def node_and_payload(self, text: str):
        conversation = Conversation.new().user(text)
        node = head_node(conversation)
        return node, mapper.encode_turn(node.turn).payload

    def test_a_row_that_is_exactly_the_kept_one_gets_its_node(self):
        cache = TurnCache(1000)
        node, payload = self.node_and_payload("hi")
        cache.keep(node, payload)
        assert cache.match(node.id, None, payload) is node

    @pytest.mark.parametrize("kept_as", ["str", "bytes"])
    def test_the_same_text_read_the_other_way_gets_its_node_and_no_other(self, kept_as):
        # A streamed PostgreSQL load reads payloads as bytes, load_graph as str.
        cache = TurnCache(1000)
        node, payload = self.node_and_payload("caf\u00e9")
        turn_id = node.id
        as_bytes = payload.encode()
        cache.keep(node, payload if kept_as == "str" else as_bytes)
        other = as_bytes if kept_as == "str" else payload
        assert cache.match(turn_id, None, other) is node
        altered = payload.replace("caf", "cab")
        assert cache.match(turn_id, None, altered.encode()) is None
        assert cache.match(turn_id, None, altered) is None
        assert cache.match(turn_id, None, payload + "\ud800") is None
        assert cache.match(turn_id, None, 42) is None

    @pytest.mark.parametrize("change", ["payload", "parent"])
    def test_a_row_that_differs_in_payload_or_parent_gets_nothing(self, change):
        cache = TurnCache(1000)
        node, payload = self.node_and_payload("hi")
        cache.keep(node, payload)
        if change == "payload":
            assert cache.match(node.id, None, payload.replace("hi", "HI")) is None
        else:
            assert cache.match(node.id, TurnId("b2:" + "0" * 64), payload) is None

    def test_it_holds_at_most_its_size_and_drops_the_least_recently_used(self):
        entries = [self.node_and_payload(f"turn {i}") for i in range(3)]
        size = len(entries[0][1])
        cache = TurnCache(2 * size)
        cache.keep(*entries[0])
        cache.keep(*entries[1])
        assert cache.match(entries[0][0].id, None, entries[0][1]) is not None
        cache.keep(*entries[2])  # evicts entry 1, used least recently
        assert len(cache) == 2
        assert cache.chars <= 2 * size
        assert cache.match(entries[1][0].id, None, entries[1][1]) is None
        assert cache.match(entries[0][0].id, None, entries[0][1]) is not None

    def test_a_payload_larger_than_the_whole_cache_is_not_kept(self):
        node, payload = self.node_and_payload("x" * 100)
        cache = TurnCache(10)
        cache.keep(node, payload)
        assert len(cache) == 0

    @pytest.mark.parametrize("size", [-1, 1.5, True, "1"])
    def test_a_size_that_is_not_a_non_negative_int_is_refused(self, size):
        with pytest.raises(ValueError, match="non-negative int"):
            TurnCache(size)

    def test_clear_forgets_everything(self):
        cache = TurnCache(1000)
        cache.keep(*self.node_and_payload("hi"))
        cache.clear()
        assert (len(cache), cache.chars) == (0, 0)


class TestLoadingWithTheCache:
    def test_a_second_load_decodes_only_the_turns_appended_since(self, store, decodes):
        cid = store.create(chat(3))
        first = store.load(cid)
        assert len(decodes) == 7
        head = store.append(cid, convo.user("more"), expected_head=first.head())
        decodes.clear()
        again = store.load(cid)
        assert decodes == [head]
        assert again.path()[:-1] == first.path()

    def test_load_graph_uses_and_fills_the_same_cache(self, store, decodes):
        cid = store.create(chat(2))
        store.load_graph(cid)
        decodes.clear()
        store.load(cid)
        store.load_graph(cid)
        assert decodes == []

    def test_a_row_changed_after_it_was_cached_is_still_refused(self, store, tamper):
        cid = store.create(chat(1))
        root = store.load(cid).path_ids()[0]
        tamper(
            store,
            cid,
            root,
            payload='{"blocks":[{"text":"Be rude.","type":"text"}],"role":"system"}',
        )
        with pytest.raises(CorruptRecordError) as info:
            store.load(cid)
        assert info.value.key == root

    def test_a_row_moved_under_another_parent_after_it_was_cached_is_refused(
        self, store, tamper
    ):
        cid = store.create(chat(2))
        ids = store.load(cid).path_ids()
        # The last answer now claims to follow the first answer: its cached node
        # (kept under its true parent) must not be taken for this row.
        tamper(store, cid, ids[4], parent_id=ids[2], depth=3)
        with pytest.raises(CorruptRecordError):
            store.load_graph(cid)

    def test_turns_with_images_are_decoded_every_time(self, store, decodes):
        image = ImageBlock(media_type="image/png", data=png_bytes(2, 2, (1, 2, 3)))
        conversation = Conversation.new().user([TextBlock(text="look"), image])
        cid = store.create(conversation.assistant("a square"))
        store.load(cid)
        decodes.clear()
        store.load(cid)
        assert decodes == [conversation.head()]

    def test_a_store_with_a_zero_cache_decodes_every_row_every_time(
        self, db_url, tenant, decodes
    ):
        with Store(db_url, tenant=tenant, cache_chars=0) as store:
            cid = store.create(chat(1))
            store.load(cid)
            store.load(cid)
        assert len(decodes) == 6

    def test_another_tenant_gets_nothing_from_the_cache(self, db_url, store):
        cid = store.create(chat(1))
        store.load(cid)
        with (
            Store(db_url, tenant="someone-else") as other,
            pytest.raises(convo.errors.NotFoundError),
        ):
            other.load(cid)

    def test_threads_loading_at_once_all_get_the_same_conversation(self, store):
        cid = store.create(chat(20))
        expected = store.load(cid)
        results: list[Conversation] = []

        def load_many() -> None:
            for _ in range(10):
                results.append(store.load(cid))

        threads = [threading.Thread(target=load_many) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(results) == 40
        assert all(r == expected and r.path() == expected.path() for r in results)


class TestTheCacheChangesNothing:
    @settings(
        max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(conversation=conversations(max_turns=8, branching=True, images=True))
    def test_loads_with_and_without_the_cache_are_equal(
        self, db_url, tenant, conversation
    ):
        with (
            Store(db_url, tenant=tenant) as cached,
            Store(db_url, tenant=tenant, cache_chars=0) as plain,
        ):
            cid = cached.create(conversation)
            cold = plain.load_graph(cid)
            for _ in range(2):
                warm = cached.load_graph(cid)
                assert warm == cold == conversation
                assert dict(warm.nodes.items()) == dict(cold.nodes.items())
                assert cached.load(cid).path() == plain.load(cid).path()

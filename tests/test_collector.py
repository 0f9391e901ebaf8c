"""The collector pause of cold loads: off inside, as found after, never starved, its values promoted (issue 18)."""

from __future__ import annotations

import contextlib
import gc
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import convo
import convo.store
from convo import Conversation
from convo._collector import collector_paused
from convo.store import Store
from convo.store import _queries as queries


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector_on")
class TestCollectorPaused:
    def test_the_collector_is_off_inside_and_back_on_after(self) -> None:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled()

    def test_a_collector_the_host_turned_off_stays_off(self) -> None:
        gc.disable()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()

    def test_nested_pauses_turn_it_back_on_only_when_the_outermost_ends(self) -> None:
        with collector_paused():
            with collector_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled()

    def test_an_error_inside_still_turns_it_back_on(self) -> None:
        with pytest.raises(KeyError), collector_paused():
            raise KeyError("boom")
        assert gc.isenabled()

    def test_an_explicit_collect_still_runs_inside(self) -> None:
        with collector_paused():
            cycle: list[Any] = []
            cycle.append(cycle)
            del cycle
            assert gc.collect() >= 1

    def test_overlapping_pauses_never_keep_it_off_longer_than_one_pause(
        self,
    ) -> None:
        # Loads in several threads overlap without end in a busy backend: were
        # pauses counted, the collector could stay off for good. The first
        # pause to end that found it on turns it back on.
        first_in, second_in, first_out = (threading.Event() for _ in range(3))
        seen: list[bool] = []

        def first() -> None:
            with collector_paused():
                first_in.set()
                second_in.wait(5)
            first_out.set()

        def second() -> None:
            first_in.wait(5)
            with collector_paused():
                second_in.set()
                first_out.wait(5)
                seen.append(gc.isenabled())

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert seen == [True]
        assert gc.isenabled()


class _Value:
    """A tracked object, as a turn or a node is (a weak reference can watch it)."""

    __slots__ = ("__weakref__", "other")

    def __init__(self) -> None:
        self.other: object = None


def _in_generation(value: object, generation: int) -> bool:
    return any(item is value for item in gc.get_objects(generation))


@pytest.fixture
def nothing_frozen() -> Iterator[None]:
    gc.unfreeze()  # (a test run freezes nothing; this makes sure)
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("collector_on", "nothing_frozen")
class TestPromotion:
    def test_values_built_inside_end_in_the_oldest_generation(self) -> None:
        # Young, they would be scanned by the next collection and again as they age.
        with collector_paused():
            built = _Value()
        assert _in_generation(built, 2)
        assert gc.get_freeze_count() == 0

    def test_values_built_without_a_pause_start_young(self) -> None:
        # Proves the test above can fail: a new object is in generation 0.
        gc.collect()
        built = _Value()
        assert _in_generation(built, 0)

    def test_the_hosts_young_garbage_is_collected_not_promoted(self) -> None:
        gc.collect()
        first, second = _Value(), _Value()
        first.other, second.other = second, first  # a cycle, garbage once dropped
        watch = weakref.ref(first)
        del first, second
        with collector_paused():
            pass
        assert watch() is None

    def test_objects_the_host_froze_stay_frozen(self) -> None:
        # Pre-fork servers freeze their heap so children share its pages.
        kept = _Value()
        gc.freeze()
        frozen = gc.get_freeze_count()
        with collector_paused():
            built = _Value()
        assert gc.get_freeze_count() == frozen
        assert not _in_generation(kept, 2)
        assert built is not None
        assert gc.isenabled()

    def test_without_promotion_the_values_stay_young(self) -> None:
        gc.collect()
        with collector_paused(promote=False):
            built = _Value()
        assert _in_generation(built, 0)
        assert gc.isenabled()

    def test_a_collector_the_host_turned_off_leaves_every_generation_alone(
        self,
    ) -> None:
        gc.disable()
        with collector_paused():
            built = _Value()
        assert _in_generation(built, 0)


def _long(turns: int) -> Conversation:
    conversation = Conversation.new().append(convo.system("Be brief."))
    for i in range(turns // 2):
        conversation = conversation.append(convo.user(f"question {i}"))
        conversation = conversation.append(convo.assistant(f"answer {i}"))
    return conversation


def _collections_inside_rebuild(
    monkeypatch: pytest.MonkeyPatch, load: Callable[[], Conversation]
) -> int:
    """How many automatic collections start while a load builds its graph."""
    inside = False
    started = 0
    real: Callable[..., Conversation] = vars(queries)["rebuild"]

    def rebuild(*args: Any, **kwargs: Any) -> Conversation:
        nonlocal inside
        inside = True
        try:
            return real(*args, **kwargs)
        finally:
            inside = False

    def callback(phase: str, _info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start" and inside:
            started += 1

    monkeypatch.setattr(queries, "rebuild", rebuild)
    threshold = gc.get_threshold()
    gc.callbacks.append(callback)
    gc.set_threshold(50, 2, 2)  # a collection every 50 allocations
    try:
        load()
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(callback)
    return started


@pytest.mark.usefixtures("collector_on")
class TestStoreLoads:
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        url = f"sqlite:///{tmp_path / 'gc.db'}"
        convo.store.upgrade(url)
        with Store(url, cache_chars=0) as store:
            yield store

    def test_a_load_builds_its_graph_without_an_automatic_collection(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cid = store.create(_long(200))
        for load in (lambda: store.load(cid), lambda: store.load_graph(cid)):
            assert _collections_inside_rebuild(monkeypatch, load) == 0
            assert gc.isenabled()

    def test_without_the_pause_the_same_load_wakes_the_collector(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Proves the test above can fail: the pause is what keeps it at 0.
        cid = store.create(_long(200))
        monkeypatch.setattr(
            queries, "collector_paused", lambda **_: contextlib.nullcontext()
        )
        assert _collections_inside_rebuild(monkeypatch, lambda: store.load(cid)) > 0

    def test_a_long_loaded_conversation_is_in_the_oldest_generation(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(queries, "PROMOTE_FROM_TURNS", 40)
        cid = store.create(_long(50))
        for loaded in (store.load(cid), store.load_graph(cid)):
            node = loaded.nodes[loaded.heads["main"]]  # type: ignore[index]
            assert _in_generation(node, 2)
            assert _in_generation(node.turn, 2)

    def test_a_short_one_is_left_to_the_collector(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Promoting first collects the host's young objects: not worth it for
        # the few values of a short conversation.
        monkeypatch.setattr(queries, "PROMOTE_FROM_TURNS", 40)
        cid = store.create(_long(30))
        gc.collect()
        loaded = store.load(cid)
        node = loaded.nodes[loaded.heads["main"]]  # type: ignore[index]
        assert not _in_generation(node, 2)

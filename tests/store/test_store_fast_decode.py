"""The fast turn decoder equals the strict reference decoder, tampered input included (issue 18).

`convo.wire._canonical_fast.fast_turn` builds turns without cattrs; it must
build exactly the turn `decode_turn` builds, or nothing (then the reference
decides, errors included). Checked on every generated turn, on turns whose
canonical plain form was tampered with at any place, and through the store:
a load with the fast path equals a load with the reference path alone, the same
conversation or the same error class, for generated conversations with and
without a tampered row.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

import convo.store
from convo import Conversation, TextBlock, ToolResultBlock, Turn
from convo._converter import turn_bytes
from convo.errors import ConvoError
from convo.store import Store
from convo.store import _mapper as mapper
from convo.store._schema import TURNS
from convo.testing.strategies import conversations, turns
from convo.wire import _canonical_fast as fast
from convo.wire.canonical import decode_turn

# Values a tamperer could put anywhere: every JSON type, look-alikes of the
# canonical ones (1 for true, "1" for 1), texts the validators refuse, and tags.
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    # Integers orjson reads as floats (beyond 64 bits), and a float of one.
    st.sampled_from([2**64, -(2**63) - 1, 10**30, 1e30]),
    st.sampled_from(
        [
            "",
            "\x00",
            "\ud800",
            "text",
            "tool",
            "stop",
            "ephemeral",
            "summary_text",
            "summary_encrypted_text",
            "reasoning",
            "image",
            "1h",
        ]
    ),
    st.just([]),
    st.just({}),
    st.just([{"type": "text", "text": "x"}]),
    st.just({"type": "text", "text": "x"}),
)


def _places(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a plain JSON value, outermost first."""
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((value, key))
            _places(item, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.append((value, index))
            _places(item, out)
    return out


@st.composite
def tampered(draw: st.DrawFn, plain: Any) -> Any:
    """A copy of `plain` with one change: a value replaced, a key removed, or added."""
    plain = copy.deepcopy(plain)
    containers = [c for c, _ in _places(plain, [])] + [plain]
    places = _places(plain, [])
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace" and places:
        container, key = draw(st.sampled_from(places))
        container[key] = copy.deepcopy(draw(ODD_VALUES))
        return plain
    dicts = [c for c in containers if isinstance(c, dict)]
    if action == "remove" and places:
        container, key = draw(st.sampled_from(places))
        del container[key]
        return plain
    target = draw(st.sampled_from(dicts))
    name = draw(st.sampled_from(["extra", "metadata", "cache_control", "x", "usage"]))
    target[name] = copy.deepcopy(draw(ODD_VALUES))
    return plain


def _plain(turn: Turn) -> Any:
    return json.loads(turn_bytes(turn))


def reference(plain: Any) -> Turn | type[BaseException]:
    """The reference decoder's turn, or the class of the error it raises."""
    try:
        return decode_turn(plain)
    except ConvoError as exc:
        return type(exc)


class TestFastTurn:
    def test_the_fast_path_is_enabled_for_the_current_value_classes(self) -> None:
        assert fast.ENABLED

    @settings(max_examples=300)
    @given(turns(cache_control=True))
    def test_it_builds_the_reference_turn_or_nothing(self, turn: Turn) -> None:
        built = fast.fast_turn(_plain(turn))
        assert built is None or built == decode_turn(_plain(turn)) == turn

    @settings(max_examples=300)
    @given(turns(images=False))
    def test_it_takes_every_turn_without_images_or_cache_markers(
        self, turn: Turn
    ) -> None:
        # Without this, "None" everywhere would pass the property above.
        built = fast.fast_turn(_plain(turn))
        assert built == turn
        assert built is not None
        assert built.metadata == turn.metadata
        assert [getattr(b, "extra", None) for b in built.blocks] == [
            getattr(b, "extra", None) for b in turn.blocks
        ]

    @settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data(), turns(cache_control=True, images=False))
    def test_on_a_tampered_turn_it_never_accepts_what_the_reference_refuses(
        self, data: st.DataObject, turn: Turn
    ) -> None:
        plain = data.draw(tampered(_plain(turn)))
        expected = reference(json.loads(json.dumps(plain)))
        built = fast.fast_turn(plain)
        if isinstance(expected, type):
            assert built is None
        else:
            assert built is None or built == expected

    def test_a_value_class_with_another_field_turns_the_fast_path_off(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The guard ENABLED is computed from FIELDS: a planted extra field breaks it.
        changed = {**fast.FIELDS, Turn: (*fast.FIELDS[Turn], "new_field")}
        assert fast.fields_match(fast.FIELDS)
        assert not fast.fields_match(changed)
        monkeypatch.setattr(fast, "ENABLED", False)
        assert fast.fast_turn(_plain(convo.user("hi"))) is None


# Byte forms a tamperer (or another writer) could store for one plain value:
# canonical UTF-8, ASCII escapes (lone surrogates and NUL as `\\u` escapes),
# spaces, and the same bytes with a raw invalid UTF-8 sequence or a raw NUL.
def _byte_forms(plain: Any) -> list[bytes]:
    ascii_form = json.dumps(plain, sort_keys=True).encode()
    return [
        json.dumps(plain, sort_keys=True, ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        ),
        ascii_form,
        json.dumps(plain, indent=1).encode(),
        ascii_form.replace(b'"', b'"\xed\xa0\x80', 1),
        ascii_form.replace(b'":"', b'":"\x00', 1),
    ]


def reference_bytes(data: bytes) -> Turn | type[BaseException] | None:
    """What the reference decodes from `data` (None: not UTF-8 JSON at all)."""
    try:
        plain = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return reference(plain)


class TestFastTurnFromBytes:
    @settings(max_examples=300)
    @given(turns(images=False))
    def test_it_builds_every_turn_without_images_or_markers_from_its_bytes(
        self, turn: Turn
    ) -> None:
        data = turn_bytes(turn)
        built = fast.fast_turn_from_bytes(data)
        if _floats_in(turn):  # orjson may have read a big integer as one
            assert built is None
            return
        assert built == turn
        assert built is not None
        assert built.metadata == turn.metadata
        assert turn_bytes(built) is data  # memoised: the caller verifies these bytes

    @settings(max_examples=300)
    @given(turns(cache_control=True))
    def test_it_builds_the_reference_turn_or_nothing(self, turn: Turn) -> None:
        for data in _byte_forms(_plain(turn)):
            built = fast.fast_turn_from_bytes(data)
            assert built is None or built == reference_bytes(data) == turn

    @settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data(), turns(cache_control=True, images=False))
    def test_on_tampered_bytes_it_never_accepts_what_the_reference_refuses(
        self, data: st.DataObject, turn: Turn
    ) -> None:
        plain = data.draw(tampered(_plain(turn)))
        for form in _byte_forms(plain):
            expected = reference_bytes(form)
            built = fast.fast_turn_from_bytes(form)
            if expected is None or isinstance(expected, type):
                assert built is None
            else:
                assert built is None or (
                    built == expected and _same_types(built, expected)
                )

    @pytest.mark.parametrize(
        "value", [2**64, -(2**63) - 1, 10**30, [1, {"n": 10**40}]], ids=repr
    )
    def test_an_integer_beyond_64_bits_stays_an_integer(self, value: object) -> None:
        # orjson reads these as floats: the fast path must leave them to the reference.
        turn = Turn(role="user", blocks=(TextBlock(text="hi"),), metadata={"n": value})
        data = turn_bytes(turn)
        assert fast.fast_turn_from_bytes(data) is None
        assert reference_bytes(data) == turn

    @pytest.mark.parametrize(
        ("text", "taken"),
        [("plain", True), (r"caf\u00e9 \ud83d\ude00", True), (r"a\u0000b", False)],
    )
    def test_texts_are_trusted_only_without_a_nul_escape(
        self, text: str, taken: bool
    ) -> None:
        data = (
            b'{"blocks":[{"text":"'
            + text.encode()
            + b'","type":"text"}],"role":"user"}'
        )
        built = fast.fast_turn_from_bytes(data)
        assert (built is not None) is taken
        assert built is None or built == reference_bytes(data)

    @pytest.mark.parametrize(
        "data",
        [
            b'{"blocks":[{"text":"\\ud800","type":"text"}],"role":"user"}',
            b'{"blocks":[{"text":"\xed\xa0\x80","type":"text"}],"role":"user"}',
            b'{"blocks":[{"text":"\x01","type":"text"}],"role":"user"}',
            b'{"blocks":[],"role":"user"} x',
            b"NaN",
        ],
        ids=[
            "escaped lone surrogate",
            "raw surrogate",
            "raw control",
            "trailing",
            "nan",
        ],
    )
    def test_what_orjson_refuses_is_left_to_the_reference(self, data: bytes) -> None:
        assert fast.fast_turn_from_bytes(data) is None


def _floats_in(turn: Turn) -> bool:
    """Whether the turn's metadata or a block's extra holds a float."""
    blocks = [*turn.blocks]
    for block in turn.blocks:
        if isinstance(block, ToolResultBlock) and not isinstance(block.content, str):
            blocks.extend(block.content)
    objects = [turn.metadata, *(getattr(b, "extra", {}) for b in blocks)]
    return any(fast._has_float(dict(value)) for value in objects)


def _same_types(a: object, b: object) -> bool:
    """Whether two equal plain-ish values also agree in type (1 == 1.0 == True)."""
    if isinstance(a, Turn) and isinstance(b, Turn):
        return _same_types(dict(a.metadata), dict(b.metadata)) and all(
            _same_types(dict(getattr(x, "extra", {})), dict(getattr(y, "extra", {})))
            for x, y in zip(a.blocks, b.blocks, strict=True)
        )
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return all(_same_types(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return all(_same_types(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[call-overload]
    return True


@contextmanager
def reference_only() -> Iterator[None]:
    """Loads through the reference decoder alone (the fast paths answer None)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mapper, "fast_turn", lambda _plain: None)
        patch.setattr(mapper, "fast_turn_from_bytes", lambda _data: None)
        yield


def outcome(load: Callable[[], Conversation]) -> object:
    """A comparable picture of a load: its turns, ids and heads, or its error class."""
    try:
        conversation = load()
    except ConvoError as exc:
        return type(exc)
    return (
        [(node.id, node.parent, node.turn) for node in conversation.walk()],
        dict(conversation.heads.items()),
        conversation.active,
    )


STORE_PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Settings of the properties that run through a store: a few writes per example."""


class TestFastLoad:
    @STORE_PROPERTY
    @given(
        conversations(min_turns=1, max_turns=8, cache_control=True),
        st.data(),
        st.booleans(),
    )
    def test_a_load_equals_the_reference_load_including_tampered_rows(
        self,
        db_url: str,
        conversation: Conversation,
        data: st.DataObject,
        tamper: bool,
    ) -> None:
        with Store(db_url, cache_chars=0) as store:
            cid = store.create(conversation)
            if tamper:
                node = data.draw(st.sampled_from(list(conversation.walk())))
                plain = data.draw(tampered(_plain(node.turn)))
                with store.engine.begin() as conn:
                    conn.execute(
                        update(TURNS)
                        .where(TURNS.c.conversation_id == cid, TURNS.c.id == node.id)
                        .values(payload=json.dumps(plain, sort_keys=True))
                    )
            for load in (lambda: store.load(cid), lambda: store.load_graph(cid)):
                fast_result = outcome(load)
                with reference_only():
                    assert outcome(load) == fast_result


def test_the_store_module_uses_the_fast_decoder() -> None:
    # reference_only() above patches this name; a rename would make it a no-op.
    assert vars(mapper)["fast_turn"] is fast.fast_turn
    assert vars(mapper)["fast_turn_from_bytes"] is fast.fast_turn_from_bytes
    assert Path(mapper.__file__).name == "_mapper.py"

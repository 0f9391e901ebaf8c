"""The C decoder builds exactly the Python fast decoder's turn, or nothing (issue 18).

`convo/wire/_canonical_c.c` takes the orjson plains of stored bytes without a
NUL escape, the store's every row, before the Python decoder of
`convo.wire._canonical_fast` does. Its promise: the very turn the Python
decoder builds from the same plain (same values, same types, the memo it was
given), or None, and then the Python decoder decides. Checked here on every
generated turn and on turns tampered with at any place, plus what keeps it
honest: it takes the common turns (None everywhere would pass the property),
it leaks nothing, and where CI runs it is built.

The store-level properties of `tests/store/test_store_fast_decode.py` run
through it too: a load equals a load through the reference decoder alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convo
from convo import Provenance, ReasoningBlock, SummaryText, TextBlock, Turn, Usage
from convo._converter import turn_bytes
from convo._turns import ROLES
from convo.testing.strategies import turns
from convo.wire import _canonical_fast as fast
from tests.store.test_store_fast_decode import tampered

C_TURN = fast.C_TURN

pytestmark = pytest.mark.skipif(
    C_TURN is None and not os.environ.get("CI"),
    reason="the C decoder is not built here (no C compiler at install time)"
    " or is turned off (CONVO_PURE_PYTHON)",
)


def python_turn(plain: Any, memo: dict[str, Any]) -> Turn | None:
    """What the Python decoder of clean-byte plains builds, or None."""
    try:
        return fast._FROM_CLEAN_BYTES.turn(plain, memo)
    except Exception:  # noqa: BLE001 - the decoder refuses by raising
        return None


def c_turn(plain: Any, memo: dict[str, Any]) -> Turn | None:
    assert C_TURN is not None
    return C_TURN(plain, memo)


def same(a: Any, b: Any) -> bool:
    """Equal, and equal in type all the way down (1 == 1.0 == True elsewhere)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    slots = getattr(type(a), "__slots__", None)
    if slots is not None and not isinstance(a, str | int | float | bool):
        names = [n for n in slots if n not in ("__weakref__", "_memo")]
        return all(same(getattr(a, n), getattr(b, n)) for n in names)
    return bool(a == b)


def clean_plain(turn: Turn) -> tuple[bytes, Any]:
    data = turn_bytes(turn)
    return data, orjson.loads(data)


class TestCDecoder:
    def test_it_is_built_where_ci_runs(self) -> None:
        # CI installs with a compiler: a build that lost the decoder fails here.
        assert C_TURN is not None

    @settings(max_examples=400)
    @given(turns(cache_control=True))
    def test_it_builds_the_python_decoders_turn_or_nothing(self, turn: Turn) -> None:
        data, plain = clean_plain(turn)
        if b"\\u0000" in data:
            return  # such bytes never reach it
        memo = {"canonical": data}
        built = c_turn(plain, memo)
        if built is None:
            return
        expected = python_turn(plain, {})
        assert same(built, expected)
        assert same(built, turn)
        assert built._memo is memo  # the memo it was given, not a copy

    @settings(max_examples=400)
    @given(turns(images=False))
    def test_it_takes_every_turn_without_extras_metadata_or_markers(
        self, turn: Turn
    ) -> None:
        # Without this, "None" everywhere would pass the property above.
        data, plain = clean_plain(turn)
        built = c_turn(plain, {})
        plain_blocks = [*turn.blocks]
        for block in turn.blocks:
            content = getattr(block, "content", "")
            plain_blocks.extend(content if not isinstance(content, str) else ())
        if (
            turn.metadata
            or any(getattr(b, "extra", None) for b in plain_blocks)
            or any(b.cache_control is not None for b in plain_blocks)
            or b"\\u0000" in data
        ):
            return
        reasoning = [b for b in turn.blocks if isinstance(b, ReasoningBlock)]
        if any(b.provenance is not None for b in reasoning):
            # The Python decoder interns the provenance, as a load's first row does.
            python_turn(plain, {})
            built = c_turn(plain, {})
        assert built is not None
        assert same(built, turn)

    @settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data(), turns(cache_control=True, images=False))
    def test_on_tampered_plains_it_never_takes_what_the_python_decoder_refuses(
        self, data: st.DataObject, turn: Turn
    ) -> None:
        form = json.dumps(data.draw(tampered(orjson.loads(turn_bytes(turn))))).encode()
        try:
            plain = orjson.loads(form)
        except orjson.JSONDecodeError:
            return  # such bytes never reach it (a lone surrogate, say)
        if b"\\u0000" in form:
            return  # nor these: the Python decoder checks their texts
        expected = python_turn(plain, {})
        built = c_turn(plain, {})
        if expected is None:
            assert built is None
        else:
            assert built is None or same(built, expected)

    @pytest.mark.parametrize(
        "plain",
        [
            None,
            [],
            {"role": "user"},
            {"role": "user", "blocks": ()},
            {"role": "users", "blocks": []},
            {"role": 1, "blocks": []},
            {"role": "user", "blocks": [{"type": "text"}]},
            {"role": "user", "blocks": [{"type": "text", "text": 1}]},
            {"role": "user", "blocks": [{"type": ["text"], "text": "x"}]},
            {"role": "user", "blocks": [{"type": "image", "data": "x"}]},
            {
                "role": "user",
                "blocks": [{"type": "text", "text": "x", "extra": {"a": 1}}],
            },
            {"role": "user", "blocks": [{"type": "text", "text": "x", "extra": None}]},
            {"role": "user", "blocks": [], "metadata": {"a": 1}},
            {"role": "user", "blocks": [], "metadata": None},
            {"role": "assistant", "blocks": [], "usage": {"prompt_tokens": True}},
            {"role": "assistant", "blocks": [], "usage": {"prompt_tokens": -1}},
            {"role": "assistant", "blocks": [], "usage": {"tokens": 1}},
            {"role": "assistant", "blocks": [], "finish_reason": "done"},
            {"role": "assistant", "blocks": [], "model": 3},
            {"role": "user", "blocks": [], "x": 1},
            {
                "role": "assistant",
                "blocks": [
                    {
                        "type": "reasoning",
                        "parts": [{"type": "summary_text", "text": 1}],
                    }
                ],
            },
            {
                "role": "assistant",
                "blocks": [
                    {
                        "type": "reasoning",
                        "parts": [],
                        "provenance": {"provider": ["a"], "family": "b"},
                    }
                ],
            },
            {
                "role": "tool",
                "blocks": [{"type": "tool_result", "call_id": "c", "content": 1}],
            },
            {
                "role": "tool",
                "blocks": [
                    {
                        "type": "tool_result",
                        "call_id": "c",
                        "content": "",
                        "is_error": 0,
                    }
                ],
            },
        ],
        ids=repr,
    )
    def test_odd_plains_are_refused_without_an_error(self, plain: Any) -> None:
        assert c_turn(plain, {}) is None

    def test_a_usage_the_validators_accept_is_built_by_them(self) -> None:
        plain = {
            "role": "assistant",
            "blocks": [{"type": "text", "text": "hi"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": None},
            "finish_reason": "stop",
        }
        built = c_turn(plain, {})
        assert built is not None
        assert built.usage == Usage(prompt_tokens=3)
        assert same(built, python_turn(plain, {}))

    def test_an_interned_provenance_is_shared(self) -> None:
        turn = convo.assistant(
            [
                ReasoningBlock(
                    parts=(SummaryText(text="t", signature="s"),),
                    provenance=Provenance(provider="anthropic", family="claude"),
                ),
                TextBlock(text="answer"),
            ]
        )
        _, plain = clean_plain(turn)
        first = python_turn(plain, {})
        built = c_turn(plain, {})
        assert first is not None
        assert built is not None
        assert built.blocks[0].provenance is first.blocks[0].provenance  # type: ignore[union-attr]

    def test_it_rejects_a_memo_that_is_not_a_dict(self) -> None:
        with pytest.raises(TypeError, match="memo"):
            C_TURN({"role": "user", "blocks": []}, None)  # type: ignore[arg-type, misc]

    def test_it_can_be_configured_again(self) -> None:
        # A reloaded module configures the decoder again; the old values go.
        again = fast._c_decoder()
        assert again is C_TURN
        _, plain = clean_plain(convo.user("hello"))
        assert same(c_turn(plain, {}), convo.user("hello"))

    @pytest.mark.parametrize(
        "bad",
        [
            "a class spec that is not (class, slots)",
            "slots without a setter",
            "keys that are not frozensets",
        ],
    )
    def test_a_bad_configuration_is_refused_and_changes_nothing(self, bad: str) -> None:
        from convo.wire import _canonical_c

        specs: list[Any] = [
            (cls, tuple(cls.__dict__[name] for name in fast.FIELDS[cls]))
            for cls in fast.FIELDS
            if cls is not Provenance
        ]
        keys: Any = (frozenset(),) * 8
        if bad.startswith("a class spec"):
            specs[0] = object()
        elif bad.startswith("slots"):
            specs[1] = (TextBlock, (len,) * len(fast.FIELDS[TextBlock]))
        else:
            keys = ((),) * 8
        with pytest.raises(TypeError, match="configure"):
            _canonical_c.configure(*specs, ROLES, {}, {}, Usage, keys)
        _, plain = clean_plain(convo.user("hello"))
        assert same(c_turn(plain, {}), convo.user("hello"))  # as configured before

    def test_building_and_refusing_leak_nothing(self) -> None:
        turn = convo.assistant(
            [
                ReasoningBlock(
                    parts=(SummaryText(text="t" * 100, signature="s"),),
                    provenance=Provenance(provider="anthropic", family="claude"),
                ),
                TextBlock(text="answer"),
            ],
            usage=Usage(prompt_tokens=1),
            model="m",
        )
        _, good = clean_plain(turn)
        python_turn(good, {})  # interns the provenance
        bad = {**good, "metadata": {"a": 1}}

        def rounds() -> None:
            for _ in range(2_000):
                c_turn(good, {})
                c_turn(bad, {})

        rounds()  # warms every cache
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            rounds()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert grown < 50_000  # 4,000 turns of a few hundred bytes each would be MBs

    def test_it_holds_no_reference_it_did_not_give_back(self) -> None:
        # An extra or a missing reference to a plain's strings or to the memo
        # shows in their counts once the built turns are gone.
        _, plain = clean_plain(convo.user("a text of its own, counted"))
        text = plain["blocks"][0]["text"]
        memo: dict[str, Any] = {}
        counts = (sys.getrefcount(text), sys.getrefcount(memo))
        built = [c_turn(plain, memo) for _ in range(100)]
        assert all(t is not None and t.blocks[0].text is text for t in built)  # type: ignore[union-attr]
        assert sys.getrefcount(text) == counts[0] + 100
        del built
        assert (sys.getrefcount(text), sys.getrefcount(memo)) == counts

    def test_a_build_for_other_fields_is_not_used(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A stale build (a value class gained, lost or moved a field since)
        # would set the wrong slots: the Python decoder does it all instead.
        from convo.wire import _canonical_c

        assert _canonical_c.FIELDS[0] == fast.FIELDS[Turn]
        moved = (tuple(reversed(_canonical_c.FIELDS[0])), *_canonical_c.FIELDS[1:])
        monkeypatch.setattr(_canonical_c, "FIELDS", moved)
        assert fast._c_decoder() is None

    @pytest.mark.parametrize(
        ("module", "name"),
        [("convo.wire._canonical_fast", "C_TURN"), ("convo._graph", "_C_NODE")],
    )
    def test_convo_pure_python_turns_the_c_modules_off(
        self, module: str, name: str
    ) -> None:
        code = f"import {module} as m; print(m.{name} is None)"
        for pure, expected in (("1", "True"), ("", "False")):
            out = subprocess.run(
                [sys.executable, "-c", code],
                env={**os.environ, "CONVO_PURE_PYTHON": pure},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert out.strip() == expected

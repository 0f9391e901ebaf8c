"""No input ever becomes SQL text (S4): every value the caller gives is bound.

Arbitrary strings are used as conversation ids, branch names, titles, metadata
keys and values, search terms and turn text; the captured statements must
never contain them, and each call either works or raises a typed convo error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

import convo
from convo import Conversation
from convo.errors import ConvoError
from convo.store import Store

MARK = "qz7Xk"
"""Prefixed to every probe, so a probe is never mistaken for SQL that says the same."""

PROBES = st.text(min_size=1, max_size=40).map(lambda text: MARK + text)


class TestInputsAreAlwaysBound:
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(probe=PROBES)
    def test_no_caller_string_reaches_the_statement_text(self, store, probe):
        statements: list[str] = []

        def seen(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(store.engine, "before_cursor_execute", seen)
        cid = store.create(Conversation.new().user("hi"))
        head = store.load(cid).head()
        calls: list[Callable[[], object]] = [
            lambda: store.create(title=probe, metadata={probe: probe}),
            lambda: store.search(probe),
            lambda: store.load(probe),
            lambda: store.branches(probe),
            lambda: store.load(cid, branch=probe),
            lambda: store.fork(cid, probe, at=head),
            lambda: store.switch(cid, probe),
            lambda: store.append(cid, convo.assistant(probe), expected_head=head),
            lambda: store.append(
                cid, convo.user("x"), branch=probe, expected_head=head
            ),
            lambda: store.delete(probe),
        ]
        try:
            for call in calls:
                # Refused with a typed error is fine, as long as nothing leaked.
                with contextlib.suppress(ConvoError, ValueError):
                    call()
        finally:
            event.remove(store.engine, "before_cursor_execute", seen)
        assert statements
        assert [sql for sql in statements if MARK.lower() in sql.lower()] == []


@pytest.mark.parametrize(
    "probe",
    [
        "x'); DROP TABLE convo_turns; --",
        '" OR 1=1 --',
        "../../etc/passwd",
        "%_\\",
        "$.blocks[0]",
        "cv_" + "0" * 31 + "'",
    ],
)
def test_classic_injection_strings_are_plain_data(store: Store, probe: str) -> None:
    cid = store.create(Conversation.new().user(probe), title=probe)
    store.fork(cid, probe, at=store.load(cid).head())
    assert store.load(cid, branch=probe).path()[0].text == probe
    assert [i.id for i in store.search(probe).items] == [cid]
    with pytest.raises(convo.errors.NotFoundError):
        store.load(probe)

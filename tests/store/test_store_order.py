"""Loads sort their rows in Python as SQLite's `ORDER BY` would (issue 18).

`convo.store._queries._in_order` replaces the database's sort (which copied
every payload into a sort tree); it must put rows where SQLite puts them,
whatever storage class a tampering hand left in the sort column.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from convo.store import _queries as queries

# Every storage class SQLite keeps: NULL, INTEGER, REAL, TEXT, BLOB.
SORT_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=["Cs"])),
    st.binary(max_size=8),
)


def sqlite_order(values: Sequence[object]) -> list[int]:
    """The positions of `values` in the order SQLite's `ORDER BY` gives (ties by position)."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (position INTEGER, value)")
    connection.executemany("INSERT INTO t VALUES (?, ?)", enumerate(values))
    rows = connection.execute("SELECT position FROM t ORDER BY value, position")
    return [position for (position,) in rows]


def python_order(values: Sequence[object]) -> list[int]:
    rows = [(value, position) for position, value in enumerate(values)]
    return [position for _, position in queries._in_order(rows)]


class TestInOrder:
    def test_integers_sort_by_value(self) -> None:
        rows = [(3, "c"), (1, "a"), (2, "b")]
        assert queries._in_order(rows) == [(1, "a"), (2, "b"), (3, "c")]

    @given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), unique=True))
    def test_distinct_integers_sort_as_sqlite_sorts_them(
        self, values: list[int]
    ) -> None:
        assert python_order(values) == sqlite_order(values)

    @given(st.lists(SORT_VALUES, unique_by=repr, max_size=12))
    def test_values_of_every_storage_class_sort_as_sqlite_sorts_them(
        self, values: list[object]
    ) -> None:
        # Equal keys keep their order in both (Python's sort is stable; SQLite
        # is told to break ties by position), so the orders are comparable.
        assert python_order(values) == sqlite_order(values)

    def test_a_text_among_integers_goes_after_them_instead_of_failing(self) -> None:
        rows = [("one", "tampered"), (2, "b"), (0, "a")]
        assert [key for key, _ in queries._in_order(rows)] == [0, 2, "one"]

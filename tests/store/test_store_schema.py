"""The store's tables: Core declarations that emit exactly the DDL of the ORM rows they replaced.

`tests/store/schema_ddl.sql` is the DDL SQLAlchemy emitted for SQLite and
PostgreSQL from the declarative rows (`DeclarativeBase`, `Mapped`) before
issue 18 moved them to Core `Table`s (rendered at commit fdde63e): names,
types, nullability, server defaults, keys, foreign keys with their `ON DELETE`
and indexes, byte for byte. A change
to the schema is a migration, and then this file changes with it, deliberately.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Dialect, MetaData, create_mock_engine
from sqlalchemy.schema import CreateIndex, CreateTable

from convo.store._schema import BLOBS, CONVERSATIONS, HEADS, METADATA, TURNS

GOLDEN = Path(__file__).parent / "schema_ddl.sql"


def dialect(url: str) -> Dialect:
    """The dialect of `url`, without a driver or a database."""
    return create_mock_engine(url, executor=lambda *_args, **_kwargs: None).dialect


DIALECTS: tuple[tuple[str, Dialect], ...] = (
    ("sqlite", dialect("sqlite://")),
    ("postgresql", dialect("postgresql://")),
)


def render_ddl(metadata: MetaData) -> str:
    """Every table's CREATE TABLE and its CREATE INDEXes, per dialect, in dependency order."""
    lines: list[str] = []
    for name, dialect in DIALECTS:
        lines.append(f"-- {name}")
        for table in metadata.sorted_tables:
            lines.append(f"{str(CreateTable(table).compile(dialect=dialect)).strip()};")
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                lines.append(
                    f"{str(CreateIndex(index).compile(dialect=dialect)).strip()};"
                )
    return "\n".join(lines) + "\n"


def copy_with_nullable(table: str, column: str) -> MetaData:
    """A copy of convo's metadata with one column's nullability flipped."""
    copy = MetaData(naming_convention=METADATA.naming_convention)
    for original in METADATA.sorted_tables:
        original.to_metadata(copy)
    flipped = copy.tables[table].c[column]
    flipped.nullable = not flipped.nullable
    return copy


class TestCoreTables:
    def test_the_ddl_for_sqlite_and_postgresql_is_the_orm_rows_ddl(self):
        assert render_ddl(METADATA) == GOLDEN.read_text()

    def test_the_four_tables_are_convos_whole_metadata(self):
        assert set(METADATA.tables) == {
            "convo_conversations",
            "convo_turns",
            "convo_heads",
            "convo_blobs",
        }
        assert all(
            METADATA.tables[t.name] is t for t in (CONVERSATIONS, TURNS, HEADS, BLOBS)
        )

    @pytest.mark.parametrize(
        "table", ["convo_conversations", "convo_turns", "convo_heads", "convo_blobs"]
    )
    def test_every_column_is_reached_by_its_database_name(self, table: str):
        # Statements write `TABLE.c.<name>` and rows come back keyed by name.
        assert all(column.key == column.name for column in METADATA.tables[table].c)


class TestTheGoldenComparison:
    @pytest.mark.parametrize(
        ("table", "column"),
        [
            ("convo_conversations", "title"),
            ("convo_turns", "search_text"),
            ("convo_blobs", "data"),
        ],
    )
    def test_a_column_with_another_nullability_does_not_match(
        self, table: str, column: str
    ):
        assert render_ddl(copy_with_nullable(table, column)) != GOLDEN.read_text()

    def test_the_golden_file_holds_both_dialects_and_every_table(self):
        golden = GOLDEN.read_text()
        assert golden.count("CREATE TABLE convo_") == 2 * len(METADATA.tables)
        assert "TIMESTAMP WITHOUT TIME ZONE" in golden  # the PostgreSQL half
        assert "DATETIME NOT NULL" in golden  # the SQLite half

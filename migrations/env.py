"""Alembic environment for convo's own tables.

Runs on the caller's connection when one is given (`config.attributes["connection"]`,
inside the caller's transaction and lock: see `convo.store._migrate`), else on an
engine built from `sqlalchemy.url`. Uses the version table `convo_alembic_version`,
looks only at `convo_*` tables (the host application's are never compared or
touched), and renders batch operations so SQLite can alter tables.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from convo.store._engine import make_engine
from convo.store._migrate import VERSION_TABLE
from convo.store._schema import METADATA

config = context.config
target_metadata = METADATA


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Only convo's tables take part in comparisons and migrations."""
    if type_ == "table":
        return name is not None and name.startswith("convo_")
    return True


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        render_as_batch=True,
        compare_type=True,
        **kwargs,
    )


def run_offline() -> None:
    """Emit SQL for `convo db upgrade --sql`-style runs."""
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run on the caller's connection, or on a fresh engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        msg = "convo migrations need a connection or sqlalchemy.url"
        raise RuntimeError(msg)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

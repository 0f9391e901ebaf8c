"""What an import pulls in: the import set, pinned (issue 18's import cost).

Each check runs in a fresh interpreter, so nothing an earlier test imported
hides a module. The times themselves are measured by
`tests/benchmarks/bench_cold.py` (they depend on the machine); what is pinned
here is the set, which does not: migrations, the async machinery and the ORM
are imported when they are used, never by `import convo.store`, and the store
and the client never pull each other in. The canonical converter (cattrs) is
built when a process first encodes a turn: never by an import, nor by
resuming a stored conversation and building its first request.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

NEVER_IMPORTED: dict[str, tuple[str, ...]] = {
    "convo": (
        "cattrs",
        "convo._canonical_converter",
        "sqlalchemy",
        "httpx",
        "alembic",
        "convo.store",
        "convo.client",
    ),
    "convo.store": (
        "cattrs",
        "alembic",
        "sqlalchemy.orm",
        "sqlalchemy.ext.asyncio",
        "aiosqlite",
        "asyncpg",
        "psycopg",
        "convo.store._async",
        "httpx",
        "convo.client",
    ),
    "convo.client": (
        "cattrs",
        "sqlalchemy",
        "alembic",
        "convo.store",
    ),
}
"""Per imported module, the modules it must leave unimported."""


def imported_by(statement: str) -> set[str]:
    """The modules in `sys.modules` after `statement` runs in a fresh interpreter."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def unwanted(statement: str, forbidden: tuple[str, ...]) -> list[str]:
    """The forbidden modules (or any of their submodules) that `statement` imported."""
    modules = imported_by(statement)
    return sorted(
        name
        for name in forbidden
        if any(m == name or m.startswith(f"{name}.") for m in modules)
    )


class TestImportSets:
    @pytest.mark.parametrize("module", sorted(NEVER_IMPORTED))
    def test_importing_the_package_leaves_the_costly_modules_it_does_not_need_unimported(
        self, module: str
    ):
        assert unwanted(f"import {module}", NEVER_IMPORTED[module]) == []

    def test_the_async_store_imports_its_machinery_when_first_named(self):
        modules = imported_by("import convo.store\nconvo.store.AsyncStore")
        assert "convo.store._async" in modules

    def test_the_check_catches_a_module_imported_by_the_same_statement(self):
        planted = "import convo.store\nimport sqlalchemy.orm"
        assert unwanted(planted, NEVER_IMPORTED["convo.store"]) == ["sqlalchemy.orm"]

    def test_a_forbidden_package_counts_through_any_of_its_submodules(self):
        planted = "import convo\nimport sqlalchemy.sql"
        assert unwanted(planted, NEVER_IMPORTED["convo"]) == ["sqlalchemy"]


RESUME = """
import tempfile, pathlib
import convo, convo.store
from convo.wire.chat import encode_request_bytes
from convo._chat._core import prepare
url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'r.db'}"
convo.store.upgrade(url)
with convo.store.Store(url) as store:
    cid = store.create(CONVERSATION)
import sys
for name in [m for m in sys.modules if m == "cattrs" or m.startswith(("cattrs.", "convo._canonical_converter"))]:
    del sys.modules[name]
import convo._converter
with convo.store.Store(url) as store:
    loaded = store.load(cid)
target = convo.get_target("databricks-claude-sonnet-4-5")
view = prepare(loaded, target=target, tools=(), policies=None)
assert encode_request_bytes(view.turns, target=target)
"""


class TestTheCanonicalConverter:
    def test_resuming_a_stored_conversation_and_building_its_request_never_builds_it(
        self,
    ):
        # The conversation is created (which encodes turns) in the same
        # process, then every cattrs module is forgotten: whatever the load
        # and the request then need is imported again and would show.
        conversation = (
            "convo.Conversation.new().append(convo.system('Be brief.'))"
            ".append(convo.user('hi')).append(convo.assistant('hello'))"
        )
        statement = RESUME.replace("CONVERSATION", conversation)
        assert unwanted(statement, ("cattrs", "convo._canonical_converter")) == []

    def test_the_first_turn_encoded_builds_it(self):
        statement = "import convo\nconvo.Conversation.new().append(convo.user('hi'))"
        assert unwanted(statement, ("cattrs",)) == ["cattrs"]

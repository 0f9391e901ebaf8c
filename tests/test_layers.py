"""convo is built in layers, and every import, wherever it sits in a file, points down.

From the bottom up:

1. core: the values (blocks, turns, params, tools, targets), the graph, ids and
   the canonical form (`convo._converter`), errors and the rule table;
2. policies and wire: `convo.policies`, `convo.wire`;
3. client and store: `convo.client`, `convo.store`;
4. chat: `convo._chat`;
5. the command line, the testing kit and the `convo` package itself (which
   re-exports chat).

A module may import its own layer or a lower one, never a higher one, and the
module import graph has no cycle. The checker reads the source (AST): an import
inside a function, under `if TYPE_CHECKING:` or in a `try` counts as much as
one at the top, because it is a dependency all the same. A module that is in
no layer fails the test, so a new package must be placed here first.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent / "convo"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "core",
        (
            "convo._blocks",
            "convo._canonical_converter",
            "convo._check",
            "convo._collector",
            "convo._converter",
            "convo._converter_base",
            "convo._events",
            "convo._graph",
            "convo._ids",
            "convo._images",
            "convo._json",
            "convo._native",
            "convo._params",
            "convo._render",
            "convo._request_args",
            "convo._slots",
            "convo._structure",
            "convo._targets",
            "convo._targets_responses",
            "convo._tools",
            "convo._turns",
            "convo.errors",
            "convo.rules",
            "convo.targets",
        ),
    ),
    ("policies and wire", ("convo.policies", "convo.wire")),
    ("client and store", ("convo.client", "convo.store")),
    ("chat", ("convo._chat",)),
    ("CLI and testing kit", ("convo", "convo.__main__", "convo._cli", "convo.testing")),
)
"""Each layer by name, with the modules and packages it holds.

A package holds its submodules, except `convo`, which names only the package's
own `__init__` (the facade re-exporting every layer).
"""


def module_name(path: Path, root: Path = ROOT) -> str:
    """`convo/wire/chat/_encode.py` -> `convo.wire.chat._encode`; a package is its `__init__`."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(
    source: str, name: str, *, is_package: bool, known: Iterable[str]
) -> set[str]:
    """Every convo module `source` imports, anywhere in the file.

    `from a.b import c` names the module `a.b.c` when it exists, else `a.b`;
    relative imports are resolved against `name`.
    """
    modules = set(known)
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "convo")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "convo":
                continue
            for alias in node.names:
                child = f"{target}.{alias.name}"
                found.add(child if child in modules else target)
    found.discard(name)
    return found


@functools.cache
def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module name -> the convo modules it imports, for every module under `root`."""
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    return {
        name: imports_of(
            path.read_text("utf-8"),
            name,
            is_package=path.name == "__init__.py",
            known=paths,
        )
        for name, path in paths.items()
    }


def layer_of(module: str) -> int | None:
    """The index of the layer holding `module` (the longest matching prefix wins)."""
    best: tuple[int, int] | None = None
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            holds = module == member or (
                member != "convo" and module.startswith(member + ".")
            )
            if holds and (best is None or len(member) > best[1]):
                best = (index, len(member))
    return None if best is None else best[0]


def upward_imports(graph: Mapping[str, set[str]]) -> list[str]:
    """Every import from a lower layer into a higher one, as `a (layer) -> b (layer)`."""
    out = []
    for module, targets in sorted(graph.items()):
        low = layer_of(module)
        for target in sorted(targets):
            high = layer_of(target)
            if low is not None and high is not None and high > low:
                out.append(
                    f"{module} ({LAYERS[low][0]}) -> {target} ({LAYERS[high][0]})"
                )
    return out


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in graph), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


class TestTheLayers:
    def test_every_module_is_in_a_layer(self) -> None:
        assert [m for m in import_graph() if layer_of(m) is None] == []

    def test_no_module_imports_a_higher_layer(self) -> None:
        assert upward_imports(import_graph()) == []

    def test_the_import_graph_has_no_cycle(self) -> None:
        assert cycles(import_graph()) == []

    def test_the_core_reaches_no_io_or_format_package(self) -> None:
        graph = import_graph()
        core = [m for m in graph if layer_of(m) == 0]
        assert "convo._ids" in core
        assert "convo._converter" in core
        assert all(layer_of(t) == 0 for m in core for t in graph[m])


def _tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    root = tmp_path / "convo"
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, "utf-8")
    return root


class TestTheCheckerCatchesAPlantedViolation:
    def test_an_upward_import_inside_a_function_is_reported(
        self, tmp_path: Path
    ) -> None:
        root = _tree(
            tmp_path,
            {
                "__init__.py": "",
                "_ids.py": "def f():\n    from convo.store import Store\n",
                "store/__init__.py": "from convo._ids import f\n",
            },
        )
        assert upward_imports(import_graph(root)) == [
            "convo._ids (core) -> convo.store (client and store)"
        ]

    def test_an_upward_import_under_type_checking_is_reported(
        self, tmp_path: Path
    ) -> None:
        root = _tree(
            tmp_path,
            {
                "__init__.py": "",
                "wire/__init__.py": (
                    "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from convo._chat import Chat\n"
                ),
                "_chat/__init__.py": "",
            },
        )
        assert upward_imports(import_graph(root)) == [
            "convo.wire (policies and wire) -> convo._chat (chat)"
        ]

    def test_importing_the_convo_package_from_below_is_reported(
        self, tmp_path: Path
    ) -> None:
        root = _tree(
            tmp_path,
            {"__init__.py": "", "store/_migrate.py": "import convo\n"},
        )
        assert upward_imports(import_graph(root)) == [
            "convo.store._migrate (client and store) -> convo (CLI and testing kit)"
        ]

    def test_a_cycle_hidden_in_a_function_level_relative_import_is_reported(
        self, tmp_path: Path
    ) -> None:
        root = _tree(
            tmp_path,
            {
                "__init__.py": "",
                "wire/__init__.py": "",
                "wire/chat/__init__.py": "",
                "wire/chat/_encode.py": "from convo.wire.chat._validate import check\n",
                "wire/chat/_validate.py": (
                    "def check():\n    from ._encode import encode\n"
                ),
            },
        )
        graph = import_graph(root)
        assert upward_imports(graph) == []
        assert cycles(graph) == [
            ["convo.wire.chat._encode", "convo.wire.chat._validate"]
        ]

    def test_a_module_outside_every_layer_is_reported(self, tmp_path: Path) -> None:
        root = _tree(tmp_path, {"__init__.py": "", "_new.py": ""})
        assert [m for m in import_graph(root) if layer_of(m) is None] == ["convo._new"]

    def test_a_downward_import_and_a_sibling_import_are_allowed(
        self, tmp_path: Path
    ) -> None:
        root = _tree(
            tmp_path,
            {
                "__init__.py": "",
                "_turns.py": "",
                "policies/__init__.py": "from convo._turns import Turn\n",
                "policies/_trim.py": "from convo.policies import apply\n",
            },
        )
        graph = import_graph(root)
        assert upward_imports(graph) == []
        assert cycles(graph) == []

    @pytest.mark.parametrize(
        ("planted", "expected"),
        [
            ("from convo.client import Client\n", "client and store"),
            ("import convo.testing.fake\n", "CLI and testing kit"),
        ],
    )
    def test_a_violation_planted_in_a_real_module_fails_the_scan(
        self, planted: str, expected: str
    ) -> None:
        source = (ROOT / "_ids.py").read_text("utf-8")
        known = import_graph()
        clean = imports_of(source, "convo._ids", is_package=False, known=known)
        dirty = imports_of(
            source + f"\n\ndef _late() -> None:\n    {planted}",
            "convo._ids",
            is_package=False,
            known=known,
        )
        assert upward_imports({"convo._ids": clean}) == []
        assert [v for v in upward_imports({"convo._ids": dirty}) if expected in v]

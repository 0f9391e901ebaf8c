"""No function in convo/ is longer than 80 lines: a long one is split by what it does.

A function's length is counted from its `def` line (decorators excluded) to
its last line, docstring and comments included. `LONG` would list a
function allowed over the limit, with its reason; it is empty (issue 17
split the last nine), and the test fails when a listed one is split.
"""

from __future__ import annotations

import ast
from pathlib import Path

import convo

LIMIT = 80
ROOT = Path(convo.__file__).parent

LONG: frozenset[str] = frozenset()
"""`path:function` of the functions over the limit today (relative to convo/)."""


def long_functions(source: str, path: str) -> dict[str, int]:
    """`path:name` -> length of every function in `source` longer than `LIMIT` lines."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > LIMIT:
                found[f"{path}:{node.name}"] = length
    return found


def _in_convo() -> dict[str, int]:
    found: dict[str, int] = {}
    for file in sorted(ROOT.rglob("*.py")):
        found.update(
            long_functions(file.read_text(), file.relative_to(ROOT).as_posix())
        )
    return found


class TestFunctionLength:
    def test_no_function_in_convo_is_over_the_limit(self) -> None:
        new = {name: n for name, n in _in_convo().items() if name not in LONG}
        assert new == {}

    def test_every_listed_long_function_is_still_long(self) -> None:
        split = sorted(LONG - set(_in_convo()))
        assert split == [], "remove these from LONG: they are split"

    def test_a_planted_long_function_is_found(self) -> None:
        body = "".join(f"    x{i} = {i}\n" for i in range(LIMIT))
        source = f"def planted():\n{body}"
        assert long_functions(source, "planted.py") == {"planted.py:planted": LIMIT + 1}

    def test_a_function_at_the_limit_is_fine(self) -> None:
        body = "".join(f"    x{i} = {i}\n" for i in range(LIMIT - 1))
        assert long_functions(f"def fine():\n{body}", "fine.py") == {}

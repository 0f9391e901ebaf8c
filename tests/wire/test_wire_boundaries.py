"""The seam holds: nothing outside `convo.wire` branches on a wire format's name.

A module outside `convo/wire/` may hand a target to `convo.wire.wire_for` and
call what it returns; it may not compare anything with a format name
("chat", "anthropic", "responses"), key a table by one, or branch on
`target.wire` (compare it, test it, match on it, or look it up). The checker
reads the source (AST), so comments and docstrings are free to name formats.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent / "convo"
FORMAT_NAMES = frozenset({"chat", "anthropic", "responses"})


def _names_a_format(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in FORMAT_NAMES
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_a_format(e) for e in node.elts)
    return False


def _is_wire(node: ast.AST | None) -> bool:
    """`something.wire` (a target's wire format name)."""
    return isinstance(node, ast.Attribute) and node.attr == "wire"


def _found(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        if any(_names_a_format(o) for o in operands):
            yield "compares with a format name"
        if any(_is_wire(o) for o in operands):
            yield "compares target.wire"
    elif isinstance(node, ast.If | ast.IfExp | ast.While) and _is_wire(node.test):
        yield "tests target.wire"
    elif isinstance(node, ast.Match) and _is_wire(node.subject):
        yield "matches on target.wire"
    elif isinstance(node, ast.MatchValue) and _names_a_format(node.value):
        yield "matches a format name"
    elif (isinstance(node, ast.Subscript) and _is_wire(node.slice)) or (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and any(_is_wire(a) for a in node.args)
    ):
        yield "looks up target.wire"
    elif isinstance(node, ast.Dict) and any(
        k is not None and _names_a_format(k) for k in node.keys
    ):
        yield "keys a table by format name"


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Every place `source` branches on a wire format's name, as `file:line: what`."""
    tree = ast.parse(source, filename=filename)
    out: list[str] = []
    for node in ast.walk(tree):
        for what in _found(node):
            out.append(f"{filename}:{getattr(node, 'lineno', 0)}: {what}")
    return sorted(set(out))


def _modules_outside_the_seam() -> list[Path]:
    wire = ROOT / "wire"
    return sorted(p for p in ROOT.rglob("*.py") if wire not in p.parents)


class TestTheSeam:
    def test_it_scans_the_whole_package_but_the_wire_formats(self) -> None:
        modules = _modules_outside_the_seam()
        assert ROOT / "_chat" / "_core.py" in modules
        assert ROOT / "testing" / "_fake" / "_app.py" in modules
        assert not any("wire" in p.relative_to(ROOT).parts[:1] for p in modules)

    def test_no_module_outside_convo_wire_branches_on_a_format_name(self) -> None:
        found = [
            v
            for path in _modules_outside_the_seam()
            for v in violations(path.read_text("utf-8"), str(path.relative_to(ROOT)))
        ]
        assert found == []


PLANTED = [
    ('if target.wire == "anthropic":\n    pass\n', "compares with a format name"),
    ("x = 1 if target.wire == other else 2\n", "compares target.wire"),
    ('ok = kind in ("chat", "responses")\n', "compares with a format name"),
    ("if target.wire:\n    pass\n", "tests target.wire"),
    ("match t.wire:\n    case _:\n        pass\n", "matches on target.wire"),
    ('match name:\n    case "chat":\n        pass\n', "matches a format name"),
    ("fmt = TABLE[target.wire]\n", "looks up target.wire"),
    ("fmt = TABLE.get(target.wire)\n", "looks up target.wire"),
    ('TABLE = {"chat": 1, "anthropic": 2}\n', "keys a table by format name"),
]


class TestTheCheckerCatchesAPlantedViolation:
    @pytest.mark.parametrize(("source", "what"), PLANTED)
    def test_a_planted_branch_is_reported(self, source: str, what: str) -> None:
        assert any(v.endswith(what) for v in violations(source))

    def test_naming_formats_in_calls_docs_and_fields_is_not_branching(self) -> None:
        source = (
            '"""Speaks chat and anthropic."""\n'
            'target = Target(name="m", wire="anthropic", provider="anthropic")\n'
            "fmt = wire_for(target)\n"
            'key = f"memo:{target.wire}"\n'
        )
        assert violations(source) == []

    def test_a_violation_planted_in_a_real_module_fails_the_scan(self) -> None:
        source = (ROOT / "_chat" / "_core.py").read_text("utf-8")
        planted = source + '\n\nif TARGET.wire == "chat":\n    pass\n'
        assert violations(source) == []
        assert violations(planted) != []

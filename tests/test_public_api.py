"""The public surface is deliberate: every namespace exports exactly what it means to.

A public namespace is a module whose dotted path has no `_`-prefixed part. For
each one:
- `__all__` is sorted the way ruff's RUF022 sorts it (SCREAMING_CASE, then
  CamelCase, then the rest; digits compared as numbers) and has no duplicate;
- every listed name resolves (lazy names included);
- nothing public goes unlisted: in a package `__init__` every public binding is
  an export; in a plain module every public name its own source defines is;
- a name exported by two namespaces is the same object (one `Reply`), except
  the operations every `convo.wire.<format>` module provides by design;
- every exported class and function, and the namespace itself, is documented.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import types
import typing
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest

import convo

ROOT = Path(convo.__file__).parent

NAMESPACES = [
    "convo",
    "convo.client",
    "convo.errors",
    "convo.policies",
    "convo.rules",
    "convo.store",
    "convo.targets",
    "convo.testing",
    "convo.testing.fake",
    "convo.testing.laws",
    "convo.testing.strategies",
    "convo.wire",
    "convo.wire.anthropic",
    "convo.wire.canonical",
    "convo.wire.chat",
    "convo.wire.responses",
]
"""Every public namespace (a test checks this list against the files)."""

WIRE_FORMATS = frozenset(
    {"convo.wire.anthropic", "convo.wire.chat", "convo.wire.responses"}
)


def discovered_namespaces(root: Path = ROOT) -> list[str]:
    """The dotted names of every module under `root` with no private part."""
    names = []
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not any(p.startswith("_") for p in parts):
            names.append(".".join(parts))
    return sorted(names)


def ruf022_key(name: str) -> tuple[int, list[object]]:
    """RUF022's isort-style order: SCREAMING_CASE, CamelCase, rest; natural within each."""
    group = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    natural: list[object] = [
        int(piece) if piece.isdigit() else piece for piece in re.split(r"(\d+)", name)
    ]
    return group, natural


def is_sorted(names: typing.Sequence[str]) -> bool:
    """True when `names` is in RUF022 order without duplicates."""
    return list(names) == sorted(set(names), key=ruf022_key)


def _public_bindings(module: ModuleType) -> set[str]:
    """Public names bound in the module, leaving out modules and typing helpers."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and getattr(typing, name, object()) is not value  # Any, TYPE_CHECKING, ...
        and name != "annotations"  # from __future__ import annotations
    }


def defined_names(source: str) -> set[str]:
    """Public names a module's own source binds at top level (imports excluded)."""
    names: set[str] = set()
    body = list(ast.parse(source).body)
    while body:
        node = body.pop()
        if isinstance(node, ast.If | ast.Try):
            body.extend([*node.body, *node.orelse])
            if isinstance(node, ast.Try):
                body.extend(node.finalbody)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return {n for n in names if not n.startswith("_")}


def unlisted(module: ModuleType) -> list[str]:
    """Public names of `module` that its `__all__` leaves out."""
    path = Path(module.__file__ or "")
    if path.name == "__init__.py":
        public = _public_bindings(module)
    else:
        public = defined_names(path.read_text("utf-8"))
    return sorted(public - set(module.__all__))


def missing(module: ModuleType) -> list[str]:
    """Names `module.__all__` lists that do not resolve."""
    return [name for name in module.__all__ if not hasattr(module, name)]


def two_objects_one_name(namespaces: typing.Sequence[str]) -> dict[str, list[str]]:
    """Names exported as different objects by namespaces that are not all wire formats."""
    seen: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for name in namespaces:
        module = importlib.import_module(name)
        for exported in module.__all__:
            seen[exported][id(getattr(module, exported))].append(name)
    return {
        exported: sorted(n for where in objects.values() for n in where)
        for exported, objects in seen.items()
        if len(objects) > 1
        and not {n for where in objects.values() for n in where} <= WIRE_FORMATS
    }


class TestTopLevel:
    def test_every_name_in_all_resolves_even_if_loaded_lazily(self) -> None:
        for name in convo.__all__:
            assert getattr(convo, name) is not None, name

    def test_the_core_values_are_exported(self) -> None:
        core = {
            "Block",
            "Conversation",
            "ConvoError",
            "FinishReason",
            "ImageBlock",
            "PartialTurn",
            "Provenance",
            "ReasoningBlock",
            "SummaryEncryptedText",
            "SummaryText",
            "TextBlock",
            "Tool",
            "ToolCallBlock",
            "ToolResultBlock",
            "Turn",
            "TurnId",
            "Usage",
            "assistant",
            "system",
            "tool_results",
            "user",
        }
        assert core <= set(convo.__all__)


class TestNamespaces:
    def test_the_list_names_every_public_module_in_the_package(self) -> None:
        assert discovered_namespaces() == sorted(NAMESPACES)

    @pytest.mark.parametrize("name", NAMESPACES)
    def test_every_exported_name_resolves(self, name: str) -> None:
        assert missing(importlib.import_module(name)) == []

    @pytest.mark.parametrize("name", NAMESPACES)
    def test_no_public_name_goes_unlisted(self, name: str) -> None:
        assert unlisted(importlib.import_module(name)) == []

    @pytest.mark.parametrize("name", NAMESPACES)
    def test_all_is_sorted_as_ruff_sorts_it_without_duplicates(self, name: str) -> None:
        assert is_sorted(importlib.import_module(name).__all__)

    def test_a_name_exported_twice_is_one_object(self) -> None:
        assert two_objects_one_name(NAMESPACES) == {}

    def test_there_is_one_reply(self) -> None:
        from convo.testing import fake

        assert "Reply" not in fake.__all__
        assert "ScriptedReply" in fake.__all__

    def test_the_client_keeps_its_machinery_private(self) -> None:
        import convo.client

        internals = {"GiveUp", "Retry", "SSEParser", "build_request", "retry_decision"}
        assert internals.isdisjoint(dir(convo.client))

    @pytest.mark.parametrize("name", NAMESPACES)
    def test_every_exported_class_and_function_has_a_docstring(self, name: str) -> None:
        module = importlib.import_module(name)
        for exported in module.__all__:
            value = getattr(module, exported)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert (value.__doc__ or "").strip(), f"{name}.{exported}"

    @pytest.mark.parametrize("name", NAMESPACES)
    def test_every_namespace_has_a_docstring(self, name: str) -> None:
        assert (importlib.import_module(name).__doc__ or "").strip()


def _module(tmp_path: Path, filename: str, source: str) -> ModuleType:
    path = tmp_path / filename
    path.write_text(source, "utf-8")
    module = types.ModuleType("planted")
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - a planted test module
    return module


class TestTheCheckerCatchesAPlantedViolation:
    def test_a_function_left_out_of_a_modules_all_is_reported(
        self, tmp_path: Path
    ) -> None:
        module = _module(
            tmp_path,
            "plain.py",
            "from json import dumps\n__all__ = ['a']\ndef a(): ...\ndef b(): ...\n",
        )
        assert unlisted(module) == ["b"]

    def test_a_reexport_left_out_of_a_packages_all_is_reported(
        self, tmp_path: Path
    ) -> None:
        module = _module(
            tmp_path,
            "__init__.py",
            "from json import dumps, loads\n__all__ = ['dumps']\n",
        )
        assert unlisted(module) == ["loads"]

    def test_a_listed_name_that_is_not_there_is_reported(self, tmp_path: Path) -> None:
        module = _module(tmp_path, "plain.py", "__all__ = ['a', 'gone']\na = 1\n")
        assert missing(module) == ["gone"]

    @pytest.mark.parametrize(
        "names",
        [
            ["b", "a"],
            ["a", "a"],
            ["Chat", "COMPACT_PROMPT"],
            ["x", "Y"],
            ["V120", "V20"],
        ],
    )
    def test_an_unsorted_all_is_reported(self, names: list[str]) -> None:
        assert not is_sorted(names)

    def test_the_ruff_order_is_accepted(self) -> None:
        assert is_sorted(
            ["COMPACT_PROMPT", "GPT_OSS_20B", "GPT_OSS_120B", "Chat", "apply"]
        )

    def test_two_classes_under_one_name_are_reported(self) -> None:
        import convo.testing.fake as fake

        fake.Reply = fake.ScriptedReply  # type: ignore[attr-defined]
        fake.__all__ = [*fake.__all__, "Reply"]
        try:
            assert two_objects_one_name(["convo", "convo.testing.fake"]) == {
                "Reply": ["convo", "convo.testing.fake"]
            }
        finally:
            fake.__all__.remove("Reply")
            del fake.Reply  # type: ignore[attr-defined]

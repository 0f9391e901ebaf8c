"""The public namespaces export exactly what they define, sorted and documented."""

from __future__ import annotations

import importlib
import inspect
import typing
from types import ModuleType

import pytest

import convo

NAMESPACES = [
    "convo",
    "convo.errors",
    "convo.rules",
    "convo.wire",
    "convo.wire.canonical",
    "convo.testing",
    "convo.testing.strategies",
]


def _public_names(module: ModuleType) -> set[str]:
    """Public names bound in the module, leaving out modules and typing helpers."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and getattr(typing, name, object()) is not value  # Any, TYPE_CHECKING, ...
        and name != "annotations"  # from __future__ import annotations
    }


class TestTopLevel:
    def test_all_lists_every_public_name_defined_at_the_top_level(self) -> None:
        assert _public_names(convo) <= set(convo.__all__)

    def test_every_name_in_all_resolves_even_if_loaded_lazily(self) -> None:
        for name in convo.__all__:
            assert getattr(convo, name) is not None, name

    def test_all_is_sorted_without_duplicates(self) -> None:
        assert list(convo.__all__) == sorted(set(convo.__all__))

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
    @pytest.mark.parametrize("name", NAMESPACES)
    def test_every_exported_name_resolves(self, name: str) -> None:
        module = importlib.import_module(name)
        for exported in module.__all__:
            assert hasattr(module, exported), f"{name}.{exported}"

    @pytest.mark.parametrize("name", NAMESPACES)
    def test_exports_have_no_duplicates(self, name: str) -> None:
        module = importlib.import_module(name)
        assert len(module.__all__) == len(set(module.__all__))

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

"""The error tree: one root, drawn in the module docstring, every error picklable."""

from __future__ import annotations

import pickle  # noqa: TID251 - errors must survive pickle; these are our own values
import re
from typing import Any

import pytest

import convo
from convo import errors
from convo.errors import ConvoError, excerpt, message

ERRORS: list[type[BaseException]] = sorted(
    (
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, BaseException)
    ),
    key=lambda cls: cls.__name__,
)

_SAMPLES: dict[str, Any] = {
    "attempts": 3,
    "status_code": 429,
    "retry_after": 1.5,
    "limit": 1024,
    "version": 2,
    "supported": (1,),
    "allowed": ("text", "image"),
    "errors": ("bad @ $",),
    "partial": None,
}


def _attributes(cls: type) -> list[str]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        if klass is ConvoError or not issubclass(klass, ConvoError):
            continue
        names += [n for n in getattr(klass, "__annotations__", {}) if n not in names]
    return names


def _tree() -> list[tuple[int, str]]:
    doc = errors.__doc__ or ""
    block = doc.split("```text", 1)[1].split("```", 1)[0]
    rows = []
    for line in block.strip().splitlines():
        found = re.search(r"(?:── )?([A-Z]\w+)", line)
        assert found is not None, line
        depth = 0 if "──" not in line else line.index("──") // 4 + 1
        rows.append((depth, found.group(1)))
    return rows


class TestErrorTree:
    def test_the_module_defines_errors(self) -> None:
        assert len(ERRORS) > 30

    @pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
    def test_every_error_subclasses_convo_error(self, cls: type) -> None:
        assert issubclass(cls, ConvoError)

    @pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
    def test_every_error_has_a_one_line_docstring(self, cls: type) -> None:
        doc = cls.__doc__ or ""
        assert doc.strip()
        assert "\n" not in doc.strip()
        assert doc.strip().endswith(".")

    @pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
    def test_every_error_survives_pickle_with_its_attributes(
        self, cls: type[ConvoError]
    ) -> None:
        details = {name: _SAMPLES.get(name, f"<{name}>") for name in _attributes(cls)}
        error = cls(f"{cls.__name__} happened at $.x.", **details)
        copy: Any = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
        assert type(copy) is cls
        assert str(copy) == str(error)
        assert copy.message == error.message
        assert copy.details == details
        for name, value in details.items():
            assert getattr(copy, name) == value

    def test_the_drawn_tree_names_every_class_once(self) -> None:
        drawn = [name for _, name in _tree()]
        assert sorted(drawn) == sorted(cls.__name__ for cls in ERRORS)

    def test_the_drawn_tree_matches_the_class_hierarchy(self) -> None:
        parents: list[str] = []
        for depth, name in _tree():
            parents = parents[:depth]
            cls = getattr(errors, name)
            if parents:
                assert cls.__bases__[0] is getattr(errors, parents[-1]), name
            parents.append(name)

    def test_every_error_is_exported(self) -> None:
        assert {cls.__name__ for cls in ERRORS} <= set(errors.__all__)

    def test_the_root_is_exported_at_the_top_level(self) -> None:
        assert convo.ConvoError is ConvoError


class TestMessages:
    def test_message_orders_what_where_received_fix(self) -> None:
        text = message("Bad thing", where="$.a[0]", received="x", fix="Do this.")
        assert text == "Bad thing at $.a[0] (got 'x'). Do this."

    def test_message_without_details_is_just_what(self) -> None:
        assert message("Bad thing") == "Bad thing."

    def test_a_received_none_is_shown(self) -> None:
        assert message("Bad", received=None) == "Bad (got None)."

    def test_excerpt_bounds_long_values(self) -> None:
        text = excerpt("x" * 1000)
        assert len(text) < 250
        assert text.endswith("(1000 characters)")

    def test_excerpt_of_a_value_nested_thousands_deep_is_bounded(self) -> None:
        deep: object = "leaf"
        for _ in range(5000):
            deep = {"a": [deep]}
        text = excerpt(deep)
        assert text.startswith("{'a': [{'a': [")
        assert len(text) < 250

    def test_excerpt_of_a_huge_list_stops_at_the_limit(self) -> None:
        text = excerpt(list(range(10_000_000)))
        assert len(text) < 250
        assert text.endswith("(list of 10000000 items)")

    def test_excerpt_of_a_value_whose_repr_fails_names_its_type(self) -> None:
        class Hostile:
            def __repr__(self) -> str:
                raise RuntimeError("no")

        assert excerpt([Hostile()]) == "[<Hostile>]"

    def test_excerpt_keeps_placeholders_verbatim(self) -> None:
        assert excerpt("<3 bytes>") == "<3 bytes>"

    def test_str_of_an_error_is_its_message(self) -> None:
        assert str(ConvoError("Plain.")) == "Plain."

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


class TestDeclaredDetails:
    """Each error class declares its details; the constructor takes only those."""

    @pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
    def test_every_detail_is_a_declared_annotation(self, cls: type[ConvoError]) -> None:
        assert list(cls._details) == _attributes(cls)

    @pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
    def test_every_detail_becomes_an_attribute(self, cls: type[ConvoError]) -> None:
        details = {name: _SAMPLES.get(name, f"<{name}>") for name in cls._details}
        error = cls("Something is wrong", **details)
        for name, value in details.items():
            assert getattr(error, name) == value
        assert error.details == details

    def test_a_misspelt_detail_is_a_type_error_at_the_raise_site(self) -> None:
        with pytest.raises(TypeError, match="has no detail 'pth'"):
            errors.InvalidTextError("Bad text", pth="$.text")  # type: ignore[call-arg]

    def test_a_missing_required_detail_is_a_type_error(self) -> None:
        with pytest.raises(TypeError, match="needs the detail 'retry_after'"):
            errors.RateLimitError(  # type: ignore[call-arg]
                "Slow down", status_code=429, error_code=None, body_excerpt=""
            )

    def test_the_root_declares_no_details(self) -> None:
        with pytest.raises(TypeError, match="has no detail"):
            ConvoError("Plain", path="$")  # type: ignore[call-arg]

    def test_a_class_with_a_path_says_where_through_it(self) -> None:
        with pytest.raises(TypeError, match="path="):
            errors.InvalidTextError("Bad text", where="$.text")


class TestMessagesBuiltFromFields:
    def test_the_message_is_what_where_received_fix(self) -> None:
        error = errors.InvalidImageError(
            "Not a base64 data URL",
            path="$.url",
            received="http://x",
            fix="Use the form data:image/png;base64,<data>.",
        )
        assert str(error) == (
            "Not a base64 data URL at $.url (got 'http://x'). "
            "Use the form data:image/png;base64,<data>."
        )
        assert (error.what, error.path, error.received) == (
            "Not a base64 data URL",
            "$.url",
            "http://x",
        )

    def test_where_is_used_by_a_class_without_a_path(self) -> None:
        error = errors.UsageError("keep_last must be 0 or more", where="keep_last")
        assert str(error) == "keep_last must be 0 or more at keep_last."

    def test_nothing_received_says_no_got(self) -> None:
        assert "got" not in str(errors.UsageError("Wrong"))

    def test_a_received_none_is_shown(self) -> None:
        assert str(errors.UsageError("Wrong", received=None)) == "Wrong (got None)."

    def test_a_rejected_request_names_rule_target_and_link(self) -> None:
        error = errors.RequestRejectedError(
            "Too many markers", rule="R6", target="t", link="docs/provider-rules.md#r6"
        )
        assert str(error) == (
            "Too many markers (rule R6, target 't'). See docs/provider-rules.md#r6."
        )

    def test_every_fact_survives_pickle(self) -> None:
        error = errors.UsageError(
            "Wrong", where="name", received="x", fix="Pass another."
        )
        copy: Any = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
        assert (copy.what, copy.where, copy.received, copy.fix) == (
            "Wrong",
            "name",
            "x",
            "Pass another.",
        )
        assert str(copy) == str(error)

    def test_usage_error_is_a_value_error_and_a_convo_error(self) -> None:
        assert issubclass(errors.UsageError, ValueError)
        assert issubclass(errors.UsageError, ConvoError)

    def test_effort_takes_its_level_positionally(self) -> None:
        assert convo.Effort("high") == convo.Effort(level="high")

    def test_an_effort_level_that_is_no_string_is_a_usage_error(self) -> None:
        with pytest.raises(errors.UsageError, match="effort level"):
            convo.Effort(3)  # type: ignore[arg-type]

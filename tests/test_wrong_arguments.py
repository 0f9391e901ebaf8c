"""The walk test: no public callable lets a bare built-in exception escape for wrong arguments.

Every public callable of every public namespace is called with wrong arguments
(every required parameter filled with the same wrong value: None, a number, a
hostile string, an object of no known kind, an empty container). What may
escape is a `ConvoError` (a `UsageError`, or the more specific class the
function documents); a bare `ValueError`, `TypeError`, `AttributeError`,
`KeyError` ... is a failure. A `TypeError` from Python's own arity check (a
wrong NUMBER of arguments) is acceptable and never produced here: the
arguments are bound to the signature first, and a callable whose signature
they do not fit is not called with them.

Registries the walk fills (targets, wire formats) are restored after it.
Coroutine functions are not awaited (their checks run on first await) and
the few callables that block or serve forever are listed in `_NOT_CALLED`
with the reason. Nothing escapes (issue 17): the test fails, naming the
callable and the exception it lets out, as soon as one does.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from convo._targets import _REGISTRY as TARGETS
from convo.errors import ConvoError, UsageError
from convo.wire._format import _MODULES as WIRES

NAMESPACES = (
    "convo",
    "convo.policies",
    "convo.rules",
    "convo.targets",
    "convo.wire",
    "convo.wire.canonical",
    "convo.wire.chat",
    "convo.wire.anthropic",
    "convo.wire.responses",
    "convo.store",
    "convo.client",
    "convo.testing",
    "convo.testing.fake",
    "convo.testing.laws",
)

WRONG: tuple[tuple[str, object], ...] = (
    ("None", None),
    ("a number", 42),
    ("a NUL string", "\x00hostile"),
    ("a lone surrogate", "\ud800"),
    ("an object", object()),
    ("an empty list", []),
)

_NOT_CALLED: dict[str, str] = {
    "convo.testing.fake.serve": "serves HTTP until interrupted",
    "convo.testing.laws.check_policy": "runs Hypothesis for minutes per call",
    "convo.testing.laws.check_context_policy": "runs Hypothesis for minutes",
}


def _callables() -> Iterator[tuple[str, Callable[..., Any]]]:
    seen: set[int] = set()
    for namespace in NAMESPACES:
        module = importlib.import_module(namespace)
        for name in sorted(getattr(module, "__all__", ())):
            value = getattr(module, name)
            qualified = f"{namespace}.{name}"
            if id(value) in seen or qualified in _NOT_CALLED:
                continue
            if isinstance(value, type) and issubclass(value, BaseException):
                continue
            if not callable(value) or inspect.iscoroutinefunction(value):
                continue
            seen.add(id(value))
            yield qualified, value


def _bound(
    func: Callable[..., Any], wrong: object
) -> tuple[list[Any], dict[str, Any]] | None:
    """Every required parameter set to `wrong`; None if there is none to set."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.default is not inspect.Parameter.empty:
            continue
        if (
            parameter.kind is inspect.Parameter.POSITIONAL_ONLY
            or parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        ):
            args.append(wrong)
        elif parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = wrong
    if not args and not kwargs:
        return None
    return args, kwargs


def escape(func: Callable[..., Any], wrong: object) -> str | None:
    """The bare built-in exception `func` lets out for `wrong`, by name; None if none."""
    bound = _bound(func, wrong)
    if bound is None:
        return None
    args, kwargs = bound
    try:
        result = func(*args, **kwargs)
        if inspect.isgenerator(result):
            next(result, None)
        elif inspect.iscoroutine(result):
            result.close()
    except ConvoError:
        return None
    except Exception as exc:  # noqa: BLE001 - what escapes is what is measured
        return type(exc).__name__
    return None


def _escapes() -> dict[str, str]:
    """What escapes, by callable; the registries the walk may fill are restored."""
    saved_targets, saved_wires = dict(TARGETS), dict(WIRES)
    found: dict[str, str] = {}
    try:
        for qualified, func in _callables():
            for label, wrong in WRONG:
                name = escape(func, wrong)
                if name is not None:
                    found[qualified] = f"{name} for {label}"
                    break
    finally:
        TARGETS.clear()
        TARGETS.update(saved_targets)
        WIRES.clear()
        WIRES.update(saved_wires)
    return found


class TestWrongArguments:
    def test_no_public_callable_lets_a_bare_exception_escape(self) -> None:
        assert _escapes() == {}

    def test_the_walk_reaches_the_public_namespaces(self) -> None:
        names = {qualified for qualified, _ in _callables()}
        assert len(names) > 100
        assert "convo.policies.trim" in names
        assert "convo.client.Client" in names


class TestTheWalkCatchesAPlantedEscape:
    """The walk is a real check: a bare `ValueError` planted in a public function is caught."""

    def test_a_planted_bare_value_error_is_reported(self) -> None:
        def planted(name: str) -> str:
            if not isinstance(name, str):
                raise ValueError(name)
            return name

        assert escape(planted, None) == "ValueError"

    def test_a_usage_error_is_not_reported(self) -> None:
        def careful(name: str) -> str:
            if not isinstance(name, str):
                raise UsageError("name must be a str", where="name", received=name)
            return name

        assert escape(careful, None) is None

    def test_a_planted_escape_in_a_public_namespace_is_reported(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import convo.policies

        def summary_turn(text: str, *, covers: int) -> object:
            raise ValueError(text)

        monkeypatch.setattr(convo.policies, "summary_turn", summary_turn)
        assert "convo.policies.summary_turn" in _escapes()

"""The fuzz property, one function: any input gives a value or a `ConvoError`,
within a time and memory bound proportional to its size, and no secret shows.

A `Reader` names one public entry point (`run` takes the input, returns a value
or raises), the strategy of its inputs (mutations of golden fixtures), and the
secrets a caller gave it. `check(reader, case)` runs one input and returns the
`Failure`s it found (an empty list is a pass):

- `untyped`: an exception that is not a `ConvoError` subclass;
- `slow` / `memory`: over `time_bound(size)` seconds or `memory_bound(size)` bytes;
- `unprintable`: the value, an error or its details cannot be repr'd (too deep);
- `secret`: a secret in the value's repr, in the str/repr/details of any
  exception in the chain, or in any log record at DEBUG (message and args).

Tests assert `check` returns nothing; the long run (`run_long.py`) counts.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from hypothesis import strategies as st

from convo.errors import ConvoError, excerpt

__all__ = [
    "Case",
    "Failure",
    "Reader",
    "captured_logs",
    "check",
    "input_size",
    "memory_bound",
    "time_bound",
]

SECRET = "FAKE-FUZZ-SECRET-7f3a9c"
"""The secret planted wherever a reader takes one (token, password, header)."""


class Case:
    """One input, with a bounded repr (inputs nest thousands deep)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Case({excerpt(self.value, limit=2000)})"


@dataclass(frozen=True)
class Reader:
    """One public reader under fuzz: how to call it, what to feed it."""

    name: str
    run: Callable[[Any], object]
    inputs: st.SearchStrategy[Any]
    secrets: tuple[str, ...] = ()
    size: Callable[[Any], int] = field(default=lambda case: input_size(case))
    time_base: float = 2.0
    """Seconds any case may take (a loaded CI machine, first-call imports)."""

    @property
    def cases(self) -> st.SearchStrategy[Case]:
        """The inputs, each wrapped in a `Case` (what tests draw)."""
        return _wrapped(self.inputs)


@st.composite
def _wrapped(draw: st.DrawFn, inputs: st.SearchStrategy[Any]) -> Case:
    # Not `inputs.map(Case)`: Hypothesis prints a mapped value as the call
    # `Case(<value>)`, recursing into a value nested thousands deep.
    return Case(draw(inputs))


@dataclass(frozen=True)
class Failure:
    """One broken promise: which, and what was seen."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def input_size(case: object) -> int:
    """About how many bytes `case` is: exact for bytes and text, else ~8 a node."""
    total, stack = 0, [case]
    while stack:
        current = stack.pop()
        if isinstance(current, bytes | bytearray | str):
            total += len(current)
        elif isinstance(current, dict):
            total += 8
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, list | tuple):
            total += 8
            stack.extend(current)
        else:
            total += 8
    return total


def time_bound(size: int, *, base: float = 2.0) -> float:
    """Seconds allowed for an input of `size` bytes: linear, 2 µs a byte over base."""
    return base + 2e-6 * size


def memory_bound(size: int) -> int:
    """Peak traced bytes allowed for an input of `size` bytes: linear."""
    return 16 * 1024 * 1024 + 64 * size


class _Hung(BaseException):
    """Raised by the alarm inside a reader that ran far past its time bound."""


def _alarm(_signum: int, _frame: object) -> None:
    raise _Hung


@contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (main thread on Unix; elsewhere no-op)."""
    usable = hasattr(signal, "setitimer") and (
        threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record at DEBUG from every logger while the block runs."""
    root = logging.getLogger()
    collector = _Collector()
    old_level = root.level
    quiet = {name: logging.getLogger(name) for name in ("httpx", "httpcore", "convo")}
    old = {name: logger.level for name, logger in quiet.items()}
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    for logger in quiet.values():
        logger.setLevel(logging.DEBUG)
    try:
        yield collector.records
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)
        for name, logger in quiet.items():
            logger.setLevel(old[name])


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        current = stack.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        stack.extend(e for e in (current.__cause__, current.__context__) if e)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
    return seen


def _texts(
    value: object, error: BaseException | None, records: Sequence[logging.LogRecord]
) -> Iterator[tuple[str, Callable[[], str]]]:
    """Every text a caller could see, each as a thunk (a repr may itself fail)."""
    if value is not None:
        yield "value repr", partial(repr, value)
    if error is not None:
        for link in _chain(error):
            name = type(link).__name__
            yield f"{name} str", partial(str, link)
            yield f"{name} repr", partial(repr, link)
            if isinstance(link, ConvoError):
                yield f"{name} details", partial(repr, link.details)
    for record in records:
        yield f"log {record.name}", record.getMessage
        yield f"log {record.name} args", partial(repr, record.args)


def check(reader: Reader, case: Any, *, memory: bool = True) -> list[Failure]:
    """Run `reader` on `case`; the broken promises (none: it held)."""
    if isinstance(case, Case):
        case = case.value
    size = reader.size(case)
    failures: list[Failure] = []
    value: object = None
    error: BaseException | None = None
    with captured_logs() as records:
        if memory:
            tracemalloc.start()
        limit = time_bound(size, base=reader.time_base)
        start = time.perf_counter()
        try:
            with _watchdog(4 * limit):
                value = reader.run(case)
        except ConvoError as exc:
            error = exc
        except _Hung:
            failures.append(Failure("hung", f"interrupted after {4 * limit:.1f} s"))
        except Exception as exc:  # noqa: BLE001 - the property is about exactly this
            error = exc
            failures.append(
                Failure("untyped", f"{type(exc).__name__}: {str(exc)[:300]}")
            )
        elapsed = time.perf_counter() - start
        if memory:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            if peak > memory_bound(size):
                failures.append(
                    Failure("memory", f"{peak} bytes for {size} input bytes")
                )
    if elapsed > limit:
        failures.append(Failure("slow", f"{elapsed:.2f} s > {limit:.2f} s"))
    for where, show in _texts(value, error, records):
        try:
            text = show()
        except (RecursionError, MemoryError) as exc:
            # A value or error a caller cannot even print: unbounded.
            failures.append(Failure("unprintable", f"{where}: {type(exc).__name__}"))
            continue
        for secret in reader.secrets:
            if secret in text:
                failures.append(Failure("secret", f"in {where}: {text[:200]}"))
                break
    return failures

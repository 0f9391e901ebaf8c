"""The `convo` command: argparse subcommands, one module per group.

Each command module exposes `register(subparsers)`, which adds its parsers and
sets `handler` (or `func`): a function of the parsed namespace returning an exit
code, as a parser default. Modules are listed statically in `_COMMANDS`: no dynamic imports.

Exit codes (documented in the README, "Errors and bounds"):

| code | meaning |
|---|---|
| 0 | success |
| 1 | a convo error: unreachable or out-of-date database, bad input file, refused request |
| 2 | bad arguments (argparse prints the usage) |
| 3 | `convo db current`: the schema is not at this convo's head revision |
| 4 | no such conversation (for this tenant) |
| 70 | an internal error, a bug in convo: one line, no traceback (`CONVO_DEBUG=1` shows it) |
| 130 | interrupted (Ctrl-C) |

No argv and no input file ever makes `convo` print a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from convo._cli import _chat, _conversations, _db, _fake, _prune
from convo._cli._options import EXIT_ERROR, EXIT_NOT_FOUND
from convo.errors import ConvoError, NotFoundError, excerpt

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_CURRENT",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NOT_CURRENT = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class _CommandModule(Protocol):
    def register(self, subparsers: Any) -> object: ...


_COMMANDS: tuple[_CommandModule, ...] = (_db, _conversations, _prune, _chat, _fake)
"""Command modules, in help order. A new group adds its module here."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every convo subcommand."""
    parser = argparse.ArgumentParser(
        prog="convo",
        description="Conversation state for chatbot backends: database, conversations, chat.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `convo` command with `argv` (default: sys.argv[1:]); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(
        args, "handler", None
    ) or getattr(args, "func", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    command = str(getattr(args, "command", None) or "")
    try:
        return handler(args)
    except NotFoundError as exc:
        _say(command, str(exc))
        return EXIT_NOT_FOUND
    except ConvoError as exc:
        _say(command, str(exc))
        return EXIT_ERROR
    except OSError as exc:
        _say(command, f"{exc.strerror or type(exc).__name__}: {exc.filename or ''}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say(command, "interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("CONVO_DEBUG"):
            raise
        _say(
            command,
            f"internal error {type(exc).__name__}: {excerpt(str(exc))} (a bug in "
            "convo; please report it with the command; CONVO_DEBUG=1 shows the "
            "traceback)",
        )
        return EXIT_INTERNAL


def _say(command: str, text: str) -> None:
    prefix = f"convo {command}" if command else "convo"
    print(f"{prefix}: {text}", file=sys.stderr)

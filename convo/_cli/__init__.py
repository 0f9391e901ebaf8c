"""The `convo` command: argparse subcommands, one module per group.

Each command module exposes `register(subparsers)`, which adds its parsers and
sets `handler` (or `func`): a function of the parsed namespace returning an exit
code, as a parser default. Modules are listed statically in `_COMMANDS`: no dynamic imports.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from convo._cli import _chat, _conversations, _db, _fake, _prune

__all__ = ["build_parser", "main"]


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
        return 2
    return handler(args)

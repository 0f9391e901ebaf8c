"""Options and helpers every `convo` subcommand shares: the store, bounds, exit codes, request parameters."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from convo._params import RequestParams, ThinkingBudget
from convo.errors import ConvoError, NotFoundError
from convo.store import Store, default_url

__all__ = [
    "EXIT_ERROR",
    "EXIT_NOT_FOUND",
    "add_params_options",
    "add_store_options",
    "bounded_int",
    "file_path",
    "guard",
    "open_store",
    "params_from",
]

EXIT_ERROR = 1
EXIT_NOT_FOUND = 4


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """Add `--url` and `--tenant` to a subcommand."""
    parser.add_argument(
        "--url",
        help="database URL (default: $CONVO_DATABASE_URL, else sqlite:///convo.db)",
    )
    parser.add_argument(
        "--tenant", help="tenant whose conversations to use (default: $CONVO_TENANT)"
    )


def open_store(args: argparse.Namespace) -> Store:
    """The store named by `--url` and `--tenant`."""
    tenant = args.tenant or os.environ.get("CONVO_TENANT") or "default"
    return Store(args.url or default_url(), tenant=tenant)


def guard(
    command: str, fn: Callable[[argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except NotFoundError as exc:
            print(f"convo {command}: {exc}", file=sys.stderr)
            return EXIT_NOT_FOUND
        except ConvoError as exc:
            print(f"convo {command}: {exc}", file=sys.stderr)
            return EXIT_ERROR
        except OSError as exc:
            print(
                f"convo {command}: {exc.strerror or exc}: {exc.filename or ''}",
                file=sys.stderr,
            )
            return EXIT_ERROR

    return run


def file_path(text: str) -> str:
    """An argparse type: a file name the operating system can be asked about."""
    if "\x00" in text:
        msg = "a file name cannot contain a NUL character"
        raise argparse.ArgumentTypeError(msg)
    return text


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (argparse reports anything else)."""

    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            msg = f"must be between {low} and {high}"
            raise argparse.ArgumentTypeError(msg)
        return value

    parse.__name__ = "integer"
    return parse


def add_params_options(parser: argparse.ArgumentParser) -> None:
    """Add `--max-tokens` and `--thinking` (read back by `params_from`)."""
    parser.add_argument(
        "--max-tokens",
        type=bounded_int(1, 10_000_000),
        default=4096,
        help="max_tokens to request",
    )
    parser.add_argument(
        "--thinking",
        type=bounded_int(0, 10_000_000),
        default=0,
        help="thinking budget in tokens (0: off)",
    )


def params_from(args: argparse.Namespace) -> RequestParams:
    """The request parameters of `--max-tokens` and `--thinking`."""
    return RequestParams(
        max_tokens=args.max_tokens,
        reasoning=ThinkingBudget(budget_tokens=args.thinking)
        if args.thinking
        else None,
    )

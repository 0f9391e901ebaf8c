"""`convo db upgrade` and `convo db current`: the schema's migrations from the shell.

The URL comes from `--url`, else `CONVO_DATABASE_URL`, else `sqlite:///convo.db`.
Messages never show a database password; failures print the convo error and
exit 1 (no traceback for an expected failure such as an unreachable database or
a database a newer convo migrated). `convo db current` only reads: it never
creates a database file, and exits 3 when the schema is not at this convo's head.
"""

from __future__ import annotations

import argparse
import sys

from convo.errors import ConvoError
from convo.store._engine import default_url, parse_url
from convo.store._migrate import HEAD, current_revision, newer_schema_error, upgrade

__all__ = ["register"]


def _shown(url: str) -> str:
    try:
        return parse_url(url).render_as_string(hide_password=True)
    except ConvoError:
        return "<unparseable URL>"


def _url(args: argparse.Namespace) -> str:
    return str(args.url) if args.url else default_url()


def _upgrade(args: argparse.Namespace) -> int:
    url = _url(args)
    try:
        before = current_revision(url)
        upgrade(url)
        after = current_revision(url)
    except ConvoError as exc:
        print(f"convo db upgrade: {exc}", file=sys.stderr)
        return 1
    if before == after:
        print(f"{_shown(url)}: already at revision {after}")
    else:
        print(f"{_shown(url)}: upgraded from {before or 'empty'} to {after}")
    return 0


def _current(args: argparse.Namespace) -> int:
    url = _url(args)
    try:
        revision = current_revision(url)
    except ConvoError as exc:
        print(f"convo db current: {exc}", file=sys.stderr)
        return 1
    if revision == HEAD:
        state = "up to date"
    elif revision is not None and newer_schema_error(revision) is not None:
        state = f"newer than this convo ({HEAD}); upgrade convo"
    else:
        state = f"out of date; head is {HEAD}"
    print(f"{_shown(url)}: revision {revision or 'none'} ({state})")
    return 0 if revision == HEAD else 3


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `convo db upgrade` and `convo db current`."""
    db = subparsers.add_parser("db", help="create or upgrade convo's tables")
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    url_help = "database URL (default: $CONVO_DATABASE_URL, else sqlite:///convo.db)"
    up = commands.add_parser("upgrade", help="apply every pending migration")
    up.add_argument("--url", help=url_help)
    up.set_defaults(handler=_upgrade)
    current = commands.add_parser("current", help="show the schema revision")
    current.add_argument("--url", help=url_help)
    current.set_defaults(handler=_current)

"""`convo prune`: retention from the shell, with a dry run.

    convo prune --idle-days 30 --dry-run
    convo prune --keep-latest 100 --per-key user_id

Erases (see `Store.erase`) the tenant's conversations idle longer than
`--idle-days`, and/or all but the newest `--keep-latest` (per value of the
metadata key `--per-key`), in short write transactions. Prints what it removed
(or, with `--dry-run`, would remove). Exit codes as the other store commands.
"""

from __future__ import annotations

import argparse
import datetime as dt

from convo._cli._options import add_store_options, guard, open_store

__all__ = ["register"]


def _prune(args: argparse.Namespace) -> int:
    if args.idle_days is None and args.keep_latest is None:
        print("convo prune: give --idle-days and/or --keep-latest")
        return 2
    idle = None if args.idle_days is None else dt.timedelta(days=args.idle_days)
    with open_store(args) as store:
        report = store.prune(
            idle=idle,
            keep_latest=args.keep_latest,
            per_key=args.per_key,
            dry_run=args.dry_run,
        )
    for cid in report.conversation_ids:
        print(cid)
    verb = "would erase" if report.dry_run else "erased"
    print(
        f"{verb} {len(report.conversation_ids)} conversation(s)"
        + ("" if report.dry_run else f" in {report.batches} batch(es)")
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add prune."""
    prune = subparsers.add_parser(
        "prune", help="erase idle conversations or all but the newest ones"
    )
    add_store_options(prune)
    prune.add_argument(
        "--idle-days", type=float, help="erase conversations unchanged this many days"
    )
    prune.add_argument(
        "--keep-latest", type=int, help="keep only this many newest conversations"
    )
    prune.add_argument(
        "--per-key",
        help="with --keep-latest: keep that many per value of this metadata key",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="only print what would be erased"
    )
    prune.set_defaults(handler=guard("prune", _prune))

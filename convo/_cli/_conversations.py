"""`convo ls | show | payload | export | import`: stored conversations from the shell.

Every command takes `--url` (default `$CONVO_DATABASE_URL`, else
`sqlite:///convo.db`) and `--tenant` (default `$CONVO_TENANT`, else
`default`). Exit codes: 0 success, 1 a convo error (printed without a
traceback), 2 bad arguments (argparse), 4 no such conversation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from convo._cli._options import (
    add_params_options,
    add_store_options,
    bounded_int,
    file_path,
    guard,
    open_store,
    params_from,
)
from convo._json import canonical_bytes
from convo._render import render_tree
from convo._targets import get_target
from convo.store import UsageTotals

__all__ = ["register"]


def _ls(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        page = (
            store.search(args.search, limit=args.limit, cursor=args.cursor)
            if args.search
            else store.list(limit=args.limit, cursor=args.cursor)
        )
    if not page.items:
        print("no conversations")
        return 0
    print(
        f"{'id':<34} {'turns':>5}  {'branch':<12} {'updated':<20} "
        f"{'in/out tokens':>15}  title"
    )
    for info in page.items:
        updated = info.updated_at.strftime("%Y-%m-%d %H:%M:%S")
        tokens = f"{info.usage.input_tokens}/{info.usage.output_tokens}"
        print(
            f"{info.id:<34} {info.turn_count:>5}  {info.active_branch:<12} "
            f"{updated:<20} {tokens:>15}  {info.title or ''}"
        )
    if page.next_cursor:
        print(f"more: convo ls --cursor {page.next_cursor}")
    return 0


def _show(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        detail = store.info(args.id)
        graph = store.load_graph(args.id)
    print(render_tree(graph, ids=args.ids))
    print(_usage_line("usage", detail.usage))
    for branch in detail.branches:
        print(_usage_line(f"  {branch.name}", branch.usage))
    return 0


def _usage_line(label: str, usage: UsageTotals) -> str:
    return (
        f"{label}: input {usage.input_tokens}, cache read {usage.cache_read_tokens}, "
        f"cache write {usage.cache_write_tokens}, output {usage.output_tokens}, "
        f"reasoning {usage.reasoning_tokens}"
    )


def _payload(args: argparse.Namespace) -> int:
    from convo._chat._sync import Chat
    from convo.client import Client

    target = get_target(args.target)
    # The client only satisfies Chat: preview neither sends nor stores.
    with (
        open_store(args) as store,
        Client(host="https://preview.convo.invalid", token="preview") as client,  # noqa: S106
    ):
        chat = Chat(store=store, client=client, target=target, params=params_from(args))
        payload = chat.preview(args.id, args.message, branch=args.branch)
    if args.pretty:
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        sys.stdout.buffer.write(canonical_bytes(payload) + b"\n")
    return 0


def _export(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        data = store.export(args.id)
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data + b"\n")
    return 0


def _import(args: argparse.Namespace) -> int:
    data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    with open_store(args) as store:
        cid = store.import_(data)
    print(cid)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ls, show, payload, export and import."""
    ls = subparsers.add_parser("ls", help="list a tenant's conversations, newest first")
    add_store_options(ls)
    ls.add_argument(
        "--limit", type=bounded_int(1, 1000), default=20, help="conversations per page"
    )
    ls.add_argument("--cursor", help="the cursor printed after the previous page")
    ls.add_argument("--search", help="only conversations whose title or text has this")
    ls.set_defaults(handler=guard("ls", _ls))

    show = subparsers.add_parser("show", help="draw a conversation's tree of branches")
    add_store_options(show)
    show.add_argument("id", help="conversation id")
    show.add_argument("--ids", action="store_true", help="prefix each turn with its id")
    show.set_defaults(handler=guard("show", _show))

    payload = subparsers.add_parser(
        "payload", help="print the request the next send would make, after policies"
    )
    add_store_options(payload)
    payload.add_argument("id", help="conversation id")
    payload.add_argument(
        "--target", required=True, help="target name, e.g. databricks-claude-sonnet-4-5"
    )
    payload.add_argument("--branch", help="branch (default: the active one)")
    add_params_options(payload)
    payload.add_argument(
        "--message", help="the next user message (default: what complete() would post)"
    )
    payload.add_argument(
        "--pretty",
        action="store_true",
        help="indent the JSON (default: the exact bytes the client posts)",
    )
    payload.set_defaults(handler=guard("payload", _payload))

    export = subparsers.add_parser(
        "export", help="write a conversation as canonical JSON"
    )
    add_store_options(export)
    export.add_argument("id", help="conversation id")
    export.add_argument(
        "-o", "--output", type=file_path, help="file to write (default: stdout)"
    )
    export.set_defaults(handler=guard("export", _export))

    imp = subparsers.add_parser(
        "import", help="store a canonical JSON conversation; print its id"
    )
    add_store_options(imp)
    imp.add_argument("file", type=file_path, help="the file to read, or - for stdin")
    imp.set_defaults(handler=guard("import", _import))

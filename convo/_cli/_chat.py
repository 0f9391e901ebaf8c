"""`convo chat`: an interactive chat that persists every exchange.

It talks to a Databricks workspace when `DATABRICKS_HOST` and `DATABRICKS_TOKEN`
are set, otherwise to the fake serving endpoint, in-process (offline). The
database (default `sqlite:///convo.db`) is created or upgraded on start: this is
the one command that does so, because it is the interactive entry point.
Lines starting with `/` are commands: `/quit`, `/tree`, `/branch NAME` (edit
the last user message on a new branch with the next line), `/regen NAME`,
`/complete` (answer a question left unanswered by a failed request).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from convo._chat._core import check_params
from convo._chat._sync import Chat
from convo._cli._options import (
    add_params_options,
    add_store_options,
    open_store,
    params_from,
)
from convo._events import Finished, ReasoningDelta, StreamEvent, TextDelta
from convo._render import render_tree
from convo._targets import get_target
from convo.client import Client
from convo.errors import ConvoError
from convo.store import default_url, upgrade

__all__ = ["register"]


def _client(args: argparse.Namespace) -> tuple[Client, str]:
    if os.environ.get("DATABRICKS_HOST") and os.environ.get("DATABRICKS_TOKEN"):
        return Client(), "workspace " + os.environ["DATABRICKS_HOST"]
    from convo.testing.fake import FakeEndpoint

    endpoint = FakeEndpoint()
    return (
        Client(
            host="https://fake.convo.invalid",
            token="offline",  # noqa: S106 - the fake endpoint takes any token
            transport=endpoint.transport(),
        ),
        "the offline fake endpoint",
    )


def _lines(stream: TextIO, prompt: str) -> Iterator[str]:
    while True:
        if stream.isatty():
            print(prompt, end="", flush=True)
        line = stream.readline()
        if not line:
            return
        yield line.rstrip("\n")


def _print_events(events: Iterator[StreamEvent], *, reasoning: bool) -> None:
    in_reasoning = False
    for event in events:
        if isinstance(event, ReasoningDelta) and reasoning and event.text:
            if not in_reasoning:
                print("  (thinking) ", end="")
                in_reasoning = True
            print(event.text, end="", flush=True)
        elif isinstance(event, TextDelta):
            if in_reasoning:
                print()
                in_reasoning = False
            print(event.text, end="", flush=True)
        elif isinstance(event, Finished):
            print()
            for call in event.turn.tool_calls:
                print(f"  [tool call {call.name} {call.arguments}]")


def _chat(args: argparse.Namespace) -> int:
    url = args.url or default_url()
    try:
        target = get_target(args.target)
        params = params_from(args)
        # Refused parameters fail here, before a database or conversation exists.
        check_params(target, params, ())
        upgrade(url)
        client, where = _client(args)
        with open_store(args) as store, client:
            chat = Chat(store=store, client=client, target=target, params=params)
            cid = args.id or chat.start(system_prompt=args.system, title=args.title)
            print(f"conversation {cid} with {target.name} via {where}; /quit to leave")
            pending_branch: str | None = None
            for line in _lines(sys.stdin, "you> "):
                if not line.strip():
                    continue
                if line.strip() == "/quit":
                    break
                if line.strip() == "/tree":
                    print(render_tree(store.load_graph(cid)))
                    continue
                if line.startswith("/regen "):
                    reply = chat.regenerate(cid, branch=line.split(maxsplit=1)[1])
                    print(reply.text)
                    continue
                if line.startswith("/branch "):
                    pending_branch = line.split(maxsplit=1)[1]
                    continue
                if pending_branch is not None:
                    last_user = store.load(cid).last_user_id()
                    if last_user is None:
                        print("(no user message to edit yet)")
                        pending_branch = None
                        continue
                    reply = chat.edit(cid, last_user, line, branch=pending_branch)
                    pending_branch = None
                    print(reply.text)
                    continue
                try:
                    if line.strip() == "/complete":
                        events = chat.stream(cid)
                    else:
                        events = chat.stream(cid, line)
                    _print_events(events, reasoning=args.show_reasoning)
                except ConvoError as exc:
                    # A failed or cut answer, a pending head: say so and go on.
                    print(f"\n({exc})")
    except ConvoError as exc:
        print(f"convo chat: {exc}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `convo chat`."""
    chat = subparsers.add_parser(
        "chat", help="chat interactively (offline against the fake endpoint by default)"
    )
    add_store_options(chat)
    chat.add_argument("--id", help="continue this conversation instead of starting one")
    chat.add_argument(
        "--target", default="databricks-claude-sonnet-4-5", help="target name"
    )
    chat.add_argument("--system", help="system prompt of a new conversation")
    chat.add_argument("--title", help="title of a new conversation")
    add_params_options(chat)
    chat.add_argument(
        "--show-reasoning", action="store_true", help="print reasoning as it streams"
    )
    chat.set_defaults(handler=_chat)

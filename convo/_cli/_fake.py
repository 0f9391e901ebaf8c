"""`convo fake-server`: run the fake Databricks serving endpoint on loopback.

The command serves `convo.testing.fake.FakeEndpoint` until interrupted and
prints the base URL to use (`<url>/serving-endpoints` for the OpenAI SDK, or as a
Databricks host for convo's client). Invariant: it binds to 127.0.0.1 unless a
host is given explicitly, and any bearer token is accepted.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any

from convo._cli._options import bounded_int

__all__ = ["register", "run_fake_server"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `fake-server` command to an argparse subparsers object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "fake-server",
        help="serve the fake Databricks endpoint on loopback",
        description="Serve a deterministic fake Databricks serving endpoint (chat completions) for offline use.",
    )
    parser.add_argument(
        "--port",
        type=bounded_int(0, 65535),
        default=8000,
        help="port to listen on (0 picks a free one)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for deterministic ids"
    )
    parser.set_defaults(func=_command)
    return parser


def _command(args: argparse.Namespace) -> int:
    return run_fake_server(host=args.host, port=args.port, seed=args.seed)


def run_fake_server(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    seed: int = 0,
    stop: threading.Event | None = None,
    announce: Callable[[str], None] = print,
) -> int:
    """Serve until `stop` is set (or Ctrl-C); returns the exit status."""
    from convo.testing.fake import FakeEndpoint, serve

    endpoint = FakeEndpoint(seed=seed)
    waiter = stop or threading.Event()
    with serve(endpoint, port=port, host=host) as url:
        announce(f"convo fake endpoint listening on {url}")
        announce(f"  OpenAI SDK: base_url={url}/serving-endpoints  (any api_key)")
        announce(f"  convo:      DATABRICKS_HOST={url}  (any token)")
        try:
            while not waiter.wait(0.1):
                pass
        except KeyboardInterrupt:
            announce("stopped")
    return 0

"""A real HTTP server on loopback answering from a `FakeEndpoint`.

`serve(endpoint, port=0)` runs a `ThreadingHTTPServer` (HTTP/1.1, keep-alive) in
a daemon thread and yields its base URL. Whole answers carry `Content-Length`;
streams use chunked transfer encoding, one chunk per SSE event, flushed at once.
A dropped connection is a socket shut down after N parts with the body left
unfinished; a trickle sleeps between parts. Invariant: the server delivers exactly
the parts the endpoint produced, in order, and never logs request bodies or
credentials.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from convo.testing._fake._app import FakeEndpoint
from convo.testing._fake._raw import RawResponse

__all__ = ["serve"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], endpoint: FakeEndpoint) -> None:
        self.endpoint = endpoint
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: nothing about requests is logged."""

    def _read_body(self) -> bytes | None:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("content-length")
        return self.rfile.read(int(length)) if length else b""

    def _handle(self) -> None:
        body = self._read_body() or b""
        headers = list(self.headers.items())
        response = self.server.endpoint.handle(self.command, self.path, headers, body)
        self._send(response)

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815

    def _send(self, response: RawResponse) -> None:
        self.send_response(response.status)
        for key, value in response.headers:
            self.send_header(key, value)
        if response.streaming:
            self.send_header("transfer-encoding", "chunked")
            self.send_header("cache-control", "no-cache")
        else:
            self.send_header("content-length", str(len(response.body)))
        if response.drop_after is not None:
            self.send_header("connection", "close")
        self.end_headers()
        self.wfile.flush()
        for index, part in enumerate(response.parts):
            if response.drop_after is not None and index >= response.drop_after:
                self._drop()
                return
            if response.delay:
                self.server.endpoint.sleep(response.delay)
            self.wfile.write(
                f"{len(part):x}\r\n".encode() + part + b"\r\n"
                if response.streaming
                else part
            )
            self.wfile.flush()
        if response.streaming:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def serve(
    endpoint: FakeEndpoint, *, port: int = 0, host: str = "127.0.0.1"
) -> Iterator[str]:
    """Serve `endpoint` on `host:port` (0 picks a free port) and yield the base URL."""
    server = _Server((host, port), endpoint)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="convo-fake-server", daemon=True
    )
    thread.start()
    try:
        bound_host, bound_port = server.server_address[:2]
        yield f"http://{bound_host!s}:{bound_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

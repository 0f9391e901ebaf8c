"""A byte-level HTTP/1.1 server on loopback for the client tests.

Each connection runs in its own thread: the server parses a request (headers
and a Content-Length body), records it with its arrival time, and hands it to
the test's handler with a `Conn` that writes raw bytes: whole responses,
chunked streams, trickles, a dropped connection or a TCP reset. MockTransport
cannot produce real timing, resets or truncated chunked bodies; this can.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass
class Req:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    index: int = 0


class Conn:
    """The server side of one connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False

    def send(self, data: bytes) -> bool:
        """Write bytes; False if the client has gone away."""
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True
            return False
        return True

    def respond(
        self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        """A complete response with a Content-Length."""
        lines = [f"HTTP/1.1 {status} X"]
        all_headers = {"content-length": str(len(body)), **(headers or {})}
        lines += [f"{k}: {v}" for k, v in all_headers.items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def start_stream(self, headers: Mapping[str, str] | None = None) -> None:
        """A 200 head for a chunked event stream."""
        all_headers = {
            "content-type": "text/event-stream",
            "transfer-encoding": "chunked",
            "x-request-id": "req-loop",
            **(headers or {}),
        }
        head = "HTTP/1.1 200 OK\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in all_headers.items()
        )
        self.send((head + "\r\n").encode())

    def chunk(self, data: bytes) -> bool:
        """One chunk of a chunked body."""
        return self.send(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def end_stream(self) -> None:
        """The terminating zero-length chunk."""
        self.send(b"0\r\n\r\n")

    def reset(self) -> None:
        """Abort the connection with a TCP RST."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        self.close()

    def close(self) -> None:
        """Close the connection (a FIN, mid-body if a body was under way)."""
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.close()

    def wait_closed(self, timeout: float) -> bool:
        """Block until the client closes its side (True) or `timeout` passes."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False
        except OSError:
            return True


Handler = Callable[[Req, Conn], None]


class Loopback:
    """A threaded raw-socket HTTP server on 127.0.0.1 (use as a context manager)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Req] = []
        self.connections = 0
        self.closed_by_client = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.on_exit: list[Callable[[], object]] = []
        """Called first on exit (tests register their clients' `close`)."""
        self._accept = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Loopback:
        self._accept.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for callback in self.on_exit:
            callback()
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._accept.join(timeout=5)

    def _serve(self) -> None:
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
                self._socks.append(sock)
            thread = threading.Thread(
                target=self._connection, args=(sock,), daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _read_request(self, sock: socket.socket, buffer: bytearray) -> Req | None:
        while b"\r\n\r\n" not in buffer:
            data = sock.recv(65536)
            if not data:
                return None
            buffer += data
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = bytearray(rest)
        while len(body) < length:
            data = sock.recv(65536)
            if not data:
                return None
            body += data
        buffer[:] = body[length:]
        return Req(method=method, path=path, headers=headers, body=bytes(body[:length]))

    def _connection(self, sock: socket.socket) -> None:
        conn = Conn(sock)
        buffer = bytearray()
        try:
            while not conn.closed:
                request = self._read_request(sock, buffer)
                if request is None:
                    self.closed_by_client.set()
                    return
                with self._lock:
                    request.index = len(self.requests)
                    self.requests.append(request)
                self.handler(request, conn)
        except OSError:
            return
        finally:
            conn.close()

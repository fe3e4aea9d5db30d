"""Raw TCP servers for the network guard's tests (scraper/guard.py): a trap that records
whatever reaches it, redirects with a Location written byte for byte, and servers that
trickle a response to hold a client as long as its deadline lets them.

Apart from tests/helpers.py because it imports nothing heavy: the private network
namespace test runs it in a fresh interpreter. Each server listens on one address
(127.0.0.1 unless told) and serves from daemon threads.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress


class RawServer:
    """A TCP server whose every connection runs `reply(server, conn)`.

    `received` holds every byte any client sent; `finished` is set when a reply ran
    to its end (a trickle that no client cut short).
    """

    def __init__(self, reply, host: str = "127.0.0.1", port: int = 0):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.reply, self.host = reply, host
        self.sock = socket.create_server((host, port), family=family)
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self.finished = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def read_request(self, conn: socket.socket) -> bytes:
        """The request's head (up to its blank line), recorded in `received`."""
        conn.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(4096)
            if not data:
                break
            head += data
            self.received += data
        return head

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, suppress(OSError):  # the client went away: expected when it gives up
            self.reply(self, conn)


def answer_secret(server: RawServer, conn: socket.socket) -> None:
    """What a service on this machine would say: a request that reaches it is a leak."""
    server.read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nSECRET")


def answer(raw: bytes):
    """A reply that sends `raw` (a whole response) to every request."""

    def reply(server: RawServer, conn: socket.socket) -> None:
        server.read_request(conn)
        conn.sendall(raw)

    return reply


def redirect_to(location: bytes | str):
    """A reply that redirects to `location`, sent as raw bytes (UTF-8 for text)."""
    raw = location.encode() if isinstance(location, str) else location

    def reply(server: RawServer, conn: socket.socket) -> None:
        server.read_request(conn)
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: " + raw + b"\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )

    return reply


def trickle(head: bytes, step: bytes, *, every: float = 0.2, for_s: float = 8.0, tls=False):
    """A reply that sends `head`, then `step` every `every` seconds for `for_s` seconds;
    to a TLS client (`tls`) at once, without waiting for an HTTP request.

    Each read gets a byte well within any read timeout, so only a deadline over the
    whole fetch ends it before `for_s`.
    """

    def reply(server: RawServer, conn: socket.socket) -> None:
        if not tls:
            server.read_request(conn)
        conn.sendall(head)
        end = time.monotonic() + for_s
        while time.monotonic() < end:
            time.sleep(every)
            conn.sendall(step)
        server.finished.set()

    return reply


def slow_redirects(delay: float = 0.3):
    """A reply that answers after `delay` with a redirect to itself, for ever."""

    def reply(server: RawServer, conn: socket.socket) -> None:
        server.read_request(conn)
        time.sleep(delay)
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n"
            b"Connection: close\r\n\r\n"
        )

    return reply

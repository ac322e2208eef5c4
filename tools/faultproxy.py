"""A fault-injecting HTTP proxy on loopback: one request per connection, each given a fault (or none).

Faults: ``drop`` (close before forwarding), ``reset`` (forward, let the server answer, then reset the client
connection half-way through the answer — the server has committed, the client never learns it),
``lost_answer`` (forward, then close without a byte of the answer), ``timeout`` (hold the connection, say
nothing), ``error500``, ``throttle`` (429 with Retry-After: 1), ``slow`` (forward, trickle the answer),
``too_large`` (413 with a middlebox's HTML page, not forwarded), ``drip`` (forward, then send the answer,
status line included, one byte every ``drip_s``).

``poison``: a request whose body holds these bytes is answered 500 as a server that cannot store one item
answers (PostgreSQL's "invalid input syntax for type json" for a NaN), whatever fault was drawn.

Used by the tests and by ``bench.fault_soak``; loopback only.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

FAULTS = ("drop", "reset", "lost_answer", "timeout", "error500", "throttle", "slow")
# Refusals of the request, not of an item: the kiosk must back off without quarantining anything.
REQUEST_FAULTS = ("too_large", "drip")


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


def _canned(
    status: str, extra: str = "", body: bytes = b'{"detail": "injected"}', kind: str = "application/json"
) -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n{extra}"
        "Connection: close\r\n\r\n"
    ).encode() + body


TOO_LARGE = _canned(
    "413 Request Entity Too Large",
    body=b"<html><body>413 Request Entity Too Large</body></html>",
    kind="text/html",
)
POISONED = _canned("500 Internal Server Error", body=b'{"detail": "invalid input syntax for type json"}')


def _reset(conn: socket.socket) -> None:
    # SO_LINGER 0: close sends RST, as a dying middlebox would.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class FaultProxy:
    def __init__(
        self,
        upstream_port: int,
        choose: Callable[[], str | None] | None = None,
        hold_s: float = 3.0,
        poison: bytes | None = None,
        drip_s: float = 1.0,
    ) -> None:
        self.upstream_port = upstream_port
        self.choose = choose or (lambda: None)
        self.hold_s = hold_s
        self.poison = poison
        self.drip_s = drip_s
        self.seen: Counter[str] = Counter()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @classmethod
    def random(
        cls,
        upstream_port: int,
        rate: float,
        seed: int,
        faults: tuple[str, ...] = FAULTS,
        **options: Any,
    ) -> FaultProxy:
        rng = random.Random(seed)
        lock = threading.Lock()

        def choose() -> str | None:
            with lock:
                return rng.choice(faults) if rng.random() < rate else None

        return cls(upstream_port, choose, **options)

    def close(self) -> None:
        self._closed.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        fault = self.choose()
        self.seen[fault or "pass"] += 1
        try:
            request = _read_request(conn)
            if request is None or fault == "drop":
                conn.close()
                return
            if self.poison is not None and self.poison in request:
                self.seen["poisoned"] += 1
                conn.sendall(POISONED)
                conn.close()
                return
            if fault == "too_large":
                conn.sendall(TOO_LARGE)
                conn.close()
                return
            if fault == "timeout":
                # Until hold_s or close(), so that closing the proxy ends the clients' waits at once.
                self._closed.wait(self.hold_s)
                conn.close()
                return
            if fault in ("error500", "throttle"):
                status = "500 Internal Server Error" if fault == "error500" else "429 Too Many Requests"
                conn.sendall(_canned(status, "Retry-After: 1\r\n" if fault == "throttle" else ""))
                conn.close()
                return
            with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as up:
                up.sendall(request)
                answer = b""
                while chunk := up.recv(65536):
                    answer += chunk
            if fault == "lost_answer":
                _reset(conn)
            elif fault == "reset":
                conn.sendall(answer[: len(answer) // 2])
                _reset(conn)
            elif fault == "drip":
                for index in range(len(answer)):
                    if self._closed.wait(self.drip_s):
                        break
                    conn.sendall(answer[index : index + 1])
                conn.close()
            elif fault == "slow":
                for start in range(0, len(answer), 512):
                    conn.sendall(answer[start : start + 512])
                    time.sleep(0.01)
                conn.close()
            else:
                conn.sendall(answer)
                conn.close()
        except OSError:
            conn.close()

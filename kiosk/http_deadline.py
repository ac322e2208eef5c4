"""A total deadline for an HTTP request, headers included.

requests' timeouts bound each wait for the next bytes, not the whole answer: a server (or a middlebox)
that sends one byte every few seconds, status line and headers included, is never timed out.
:func:`deadline_session` mounts an adapter whose connections note themselves with the request's
:func:`deadline` while it runs; when the deadline passes, the watchdog shuts the socket down, which ends a
read blocked on it at once.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter


class _Watch:
    def __init__(self) -> None:
        self.fired = False
        self.connection: urllib3.connection.HTTPConnection | None = None
        self._lock = threading.Lock()

    def attach(self, connection: urllib3.connection.HTTPConnection) -> None:
        with self._lock:
            self.connection = connection
            fired = self.fired
        if fired:
            _shut(connection)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            connection = self.connection
        if connection is not None:
            _shut(connection)


def _shut(connection: urllib3.connection.HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[_Watch]:
    """Within this block, a request of a :func:`deadline_session` on this thread has its connection shut
    down ``seconds`` after the block began; ``watch.fired`` then says that is why it failed."""
    watch = _Watch()
    timer = threading.Timer(seconds, watch.fire)
    timer.daemon = True
    _current.watch = watch
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        _current.watch = None


def _note(connection: urllib3.connection.HTTPConnection) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(connection)


class _Connection(urllib3.connection.HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _note(self)
        super().request(*args, **kwargs)


class _TlsConnection(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _note(self)
        super().request(*args, **kwargs)


class _Pool(urllib3.HTTPConnectionPool):
    ConnectionCls = _Connection


class _TlsPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _TlsConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TlsPool}


def deadline_session(session: requests.Session | None = None) -> requests.Session:
    """``session`` (or a new one) with the adapter that lets :func:`deadline` reach its connections."""
    session = session or requests.Session()
    session.mount("http://", _Adapter())
    session.mount("https://", _Adapter())
    return session

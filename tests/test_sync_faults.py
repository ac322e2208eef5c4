"""Delivery that one item or one refusal cannot stop: a poisoned item is isolated and quarantined while the
others go through; a refusal of the request (413, a wrong path, a portal's page) quarantines nothing; a
server that drips its answer cannot hold a pass; quarantined items are released in bulk."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fakes import FakeCentral, wire_item

from kiosk.central_client import (
    Answers,
    Credentials,
    HttpCentral,
    Refused,
    RequestRefused,
    ServerFailed,
    TooLarge,
    Unavailable,
)
from kiosk.config import Settings
from kiosk.core import KioskCore, open_core
from kiosk.outbox import Outbox
from kiosk.sync import ISOLATION_BUDGET, SyncEngine
from main import main


@pytest.fixture
def core(tmp_path: Path) -> Iterator[KioskCore]:
    core = open_core(Settings(data_dir=tmp_path / "data"))
    yield core
    core.close()


def queue(outbox: Outbox, n: int, kind: str = "inspection") -> list[str]:
    ids = []
    for i in range(n):
        item_id = str(uuid.uuid4())
        outbox.enqueue(kind=kind, item_id=item_id, payload=wire_item(kind, item_id, i))
        ids.append(item_id)
    return ids


class Scripted(FakeCentral):
    """FakeCentral whose uploads fail as ``fail(items)`` says (an exception to raise, or None to answer)."""

    def __init__(self, fail: Callable[[Sequence[dict[str, Any]]], Exception | None]) -> None:
        super().__init__()
        self.fail = fail
        self.requests = 0

    def upload(self, kind: str, items: Sequence[dict[str, Any]]) -> Answers:
        self.requests += 1
        error = self.fail(items)
        if error is not None:
            raise error
        return super().upload(kind, items)


@pytest.mark.parametrize("where", [0, 5, 137, 199])
def test_an_item_the_server_fails_on_is_quarantined_and_the_rest_delivered(
    core: KioskCore, where: int
) -> None:
    ids = queue(core.outbox, 200)
    poison = ids[where]
    server = Scripted(
        lambda items: (
            ServerFailed("HTTP 500: invalid input syntax for type json")
            if any(item["id"] == poison for item in items)
            else None
        )
    )
    status, result = SyncEngine(core.outbox, server, batch_size=200).run_once()
    assert (result.accepted, result.rejected, status.pending, status.quarantined) == (199, 1, 0, 1)
    assert set(server.stored) == set(ids) - {poison}
    [held] = core.outbox.quarantined()
    assert held.item_id == poison
    assert held.reason == "server error on this item alone: HTTP 500: invalid input syntax for type json"
    # Halving: two requests per level of a batch of 200, then the item alone twice more.
    assert server.requests <= 2 * 8 + 1 + 2


@pytest.mark.parametrize("seed", range(5))
def test_a_passing_server_error_on_a_lone_good_item_does_not_quarantine_it(
    core: KioskCore, seed: int
) -> None:
    import random

    rng = random.Random(seed)
    ids = queue(core.outbox, 200)
    poison = ids[57]
    server = Scripted(
        lambda items: (
            ServerFailed("HTTP 500: poisoned")
            if any(item["id"] == poison for item in items)
            # One request in four fails for no reason of its items (a restart, a proxy).
            else ServerFailed("HTTP 500: passing")
            if rng.random() < 0.25
            else None
        )
    )
    engine = SyncEngine(core.outbox, server, batch_size=200)
    for _ in range(20):
        status, _ = engine.run_once()
        if status.pending == 0:
            break
    assert [item.item_id for item in core.outbox.quarantined()] == [poison]
    assert set(server.stored) == set(ids) - {poison}


def test_a_server_that_fails_everything_is_down_and_nothing_is_quarantined(core: KioskCore) -> None:
    queue(core.outbox, 200)
    server = Scripted(lambda items: ServerFailed("HTTP 500: down"))
    status, result = SyncEngine(core.outbox, server, batch_size=200).run_once()
    assert (status.online, status.pending, status.quarantined, result.rejected) == (False, 200, 0, 0)
    assert server.requests == ISOLATION_BUDGET + 1


def test_an_item_failing_alone_before_anything_was_taken_waits_for_the_next_pass(core: KioskCore) -> None:
    queue(core.outbox, 1)
    server = Scripted(lambda items: ServerFailed("HTTP 500: x"))
    status, result = SyncEngine(core.outbox, server).run_once()
    # One request, no proof the server works: not quarantined, tried again next pass.
    assert (status.pending, status.quarantined, result.deferred, server.requests) == (1, 0, 1, 1)


def test_413_from_everything_quarantines_nothing_and_backs_off(core: KioskCore) -> None:
    queue(core.outbox, 100)
    server = Scripted(lambda items: TooLarge("HTTP 413: Request Entity Too Large"))
    status, _ = SyncEngine(core.outbox, server, batch_size=200).run_once()
    assert (status.online, status.pending, status.quarantined) == (False, 100, 0)
    assert server.requests <= 8  # halved down to one item, which is refused too: stop there
    assert "413" in (status.error or "")


def test_413_for_large_batches_only_delivers_everything_in_smaller_ones(core: KioskCore) -> None:
    queue(core.outbox, 200)
    server = Scripted(lambda items: TooLarge("HTTP 413") if len(items) > 30 else None)
    status, result = SyncEngine(core.outbox, server, batch_size=200).run_once()
    assert (status.online, status.pending, status.quarantined, result.accepted) == (True, 0, 0, 200)


# --- over HTTP -------------------------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200
    content_type = "application/json"
    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., HttpCentral]]:
    servers: list[http.server.HTTPServer] = []

    def start(status: int, body: bytes, content_type: str = "application/json") -> HttpCentral:
        handler = type("H", (_Handler,), {"status": status, "body": body, "content_type": content_type})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        url = f"http://127.0.0.1:{server.server_port}"
        return HttpCentral(Credentials(url, "d", "t", "s", "k", "s"), b"\0" * 32)

    yield start
    for server in servers:
        server.shutdown()


PORTAL = b"<html><body>Please sign in to the guest network</body></html>"


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (413, b"<html>413 Request Entity Too Large</html>", "text/html"),
        (404, b'{"detail": "Not Found"}', "application/json"),
        (405, b'{"detail": "Method Not Allowed"}', "application/json"),
        (400, PORTAL, "text/html"),
        (200, PORTAL, "text/html"),
    ],
)
def test_refusals_of_the_request_quarantine_nothing(
    core: KioskCore, serve: Callable[..., HttpCentral], status: int, body: bytes, content_type: str
) -> None:
    client = serve(status, body, content_type)
    with pytest.raises(RequestRefused):
        client.upload("inspection", [{"id": "a"}])
    queue(core.outbox, 50)
    status_after, _ = SyncEngine(core.outbox, client).run_once()
    assert (status_after.online, status_after.pending, status_after.quarantined) == (False, 50, 0)


def test_a_refusal_in_the_apis_words_still_quarantines_the_item(
    core: KioskCore, serve: Callable[..., HttpCentral]
) -> None:
    client = serve(422, b'{"detail": [{"loc": ["body", "items", 0, "at"], "msg": "bad"}]}')
    with pytest.raises(Refused):
        client.upload("inspection", [{"id": "a"}])
    queue(core.outbox, 3)
    status, _ = SyncEngine(core.outbox, client).run_once()
    assert (status.pending, status.quarantined) == (0, 3)


class _Accepting(http.server.BaseHTTPRequestHandler):
    """Takes every item, as the API answers; NaN or Infinity would make its json.loads fail."""

    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        items = json.loads(body, parse_constant=lambda token: 1 / 0)["items"]
        self.received.extend(item["id"] for item in items)
        answer = json.dumps({"results": [{"id": item["id"], "status": "accepted"} for item in items]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_a_stored_infinity_is_quarantined_without_holding_back_the_others(core: KioskCore) -> None:
    ids = queue(core.outbox, 10)
    # As a kiosk stored it before answers were checked for Infinity: json.dumps writes it as "Infinity".
    bad = wire_item("submission", "bad", 0) | {"fields": {"value": float("inf")}}
    core.outbox.enqueue(kind="submission", item_id="bad", payload=bad)
    ids += queue(core.outbox, 10)
    handler = type("H", (_Accepting,), {"received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        client = HttpCentral(Credentials(url, "d", "t", "s", "k", "s"), b"\0" * 32)
        status, _ = SyncEngine(core.outbox, client, batch_size=200).run_once()
    finally:
        server.shutdown()
    assert sorted(handler.received) == sorted(ids)
    assert (status.pending, status.quarantined) == (0, 1)
    [held] = core.outbox.quarantined()
    assert held.item_id == "bad" and "not valid JSON" in held.reason


@pytest.mark.parametrize("headers_first", [True, False], ids=["body-drips", "everything-drips"])
def test_a_dripping_answer_is_given_up_at_the_deadline(headers_first: bool) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 508\r\n\r\n" + b" " * 508

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            sent = answer.index(b"\r\n\r\n") + 4 if headers_first else 0
            conn.sendall(answer[:sent])
            # One byte every 0.2 s: each read is well within the read timeout, the whole would take minutes.
            while not stop.wait(0.2) and sent < len(answer):
                try:
                    conn.sendall(answer[sent : sent + 1])
                except OSError:
                    return
                sent += 1

    threading.Thread(target=drip, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    credentials = Credentials(url, "d", "t", "s", "k", "s")
    client = HttpCentral(credentials, b"\0" * 32, timeout=(5, 5), deadline_s=1.5)
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable, match=r"no complete answer within 1\.5 s"):
            client.upload("inspection", [{"id": "a"}])
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 3.0


# --- release ---------------------------------------------------------------------------------------------


def test_outbox_release_all_and_by_kind_or_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    core = open_core(Settings(data_dir=data))
    inspections = queue(core.outbox, 4)
    submissions = queue(core.outbox, 3, kind="submission")
    for item_id in inspections[:2] + submissions[:1]:
        core.outbox.quarantine(item_id, "HTTP 413: too large")
    for item_id in inspections[2:] + submissions[1:]:
        core.outbox.quarantine(item_id, "HTTP 422: bad field")
    core.close()

    def run(*argv: str) -> tuple[int, str]:
        code = main(["outbox", *argv, "--data-dir", str(data)])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    assert run("--release")[0] == 2  # no id and no selection: refused rather than releasing everything
    assert run("--all")[0] == 2
    code, out = run("--release", "--reason", "HTTP 413")
    assert (code, out.splitlines()[0]) == (0, "released 3 item(s)")
    code, out = run("--release", "--all", "--kind", "submission")
    assert (code, out.splitlines()[:2]) == (0, ["released 2 item(s)", "pending 5, quarantined 2"])
    code, out = run("--release", "--all")
    assert (code, out.splitlines()[:2]) == (0, ["released 2 item(s)", "pending 7, quarantined 0"])

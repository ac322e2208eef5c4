"""A full disk: every command says plainly that nothing was lost (exit 4), never a traceback; the GUI
refuses new submissions with a message while there is no room; what was stored is all delivered later.

The first test fills a real 2 MB filesystem (a tmpfs, where the test may mount one: root); the others make
SQLite itself answer "database or disk is full" (``max_page_count``) or the system ENOSPC, and always run.
"""

from __future__ import annotations

import errno
import http.server
import json
import os
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import kiosk.disk
from kiosk.central_client import Credentials, save_credentials
from kiosk.cli import DISK_FULL_EXIT
from kiosk.i18n import translate
from kiosk.store import Store
from main import main
from tools.service_driver import click, complete_service


class _Accepting(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.endswith("/batch"):
            items = json.loads(body)["items"]
            self.received.extend(item["id"] for item in items)
            answer = {"results": [{"id": item["id"], "status": "accepted"} for item in items]}
        else:
            answer = {"ok": True}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.send_response(304)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def central() -> Iterator[tuple[str, list[str]]]:
    handler = type("H", (_Accepting,), {"received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", handler.received
    server.shutdown()


def _enrol(data: Path, url: str) -> None:
    # A seal key of the right size, so submissions are sealed to "the central key" as when enrolled.
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from protocol.sealing import b64e

    seal = b64e(X25519PrivateKey.generate().public_key().public_bytes_raw())
    save_credentials(data / "secrets", Credentials(url, "dev-1", "token", "default", b64e(bytes(32)), seal))


def _run(argv: list[str], data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main([*argv, "--data-dir", str(data)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out + captured.err


def _submit_n(data: Path, n: int, capsys: pytest.CaptureFixture[str]) -> Path:
    answers = data.parent / "answers.json"
    assert main(["services", "example", "queue-ticket", "--data-dir", str(data)]) == 0
    answers.write_text(capsys.readouterr().out, "utf-8")
    for _ in range(n):
        assert _run(["submit", "--service", "queue-ticket", "--answers", str(answers)], data, capsys)[0] == 0
    return answers


def _submissions(data: Path) -> int:
    store = Store(data / "kiosk.sqlite3")
    try:
        return int(store.query("SELECT COUNT(*) FROM submissions")[0][0])
    finally:
        store.close()


def _assert_said_plainly(code: int, out: str, command: str) -> None:
    assert code == DISK_FULL_EXIT, out
    assert f"kiosk {command}: the disk is full" in out
    assert "Nothing was lost" in out


# --- a real small filesystem -----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as err:
        assert err.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_a_full_small_filesystem_loses_nothing_and_says_so(
    small_disk: Path, capsys: pytest.CaptureFixture[str], central: tuple[str, list[str]]
) -> None:
    url, received = central
    data = small_disk / "data"
    _enrol(data, url)
    answers = _submit_n(data, 5, capsys)
    filler = _fill(small_disk)

    code, out = _run(["submit", "--service", "queue-ticket", "--answers", str(answers)], data, capsys)
    _assert_said_plainly(code, out, "submit")
    assert "This submission was NOT stored" in out
    code, out = _run(["sync"], data, capsys)
    _assert_said_plainly(code, out, "sync")
    code, out = _run(["export", "--out", str(small_disk / "export.bin")], data, capsys)
    _assert_said_plainly(code, out, "export")
    code, out = _run(["outbox"], data, capsys)
    assert code == 0 or "Nothing was lost" in out

    filler.unlink()
    assert _submissions(data) == 5
    code, out = _run(["sync"], data, capsys)
    assert code == 0, out
    assert len(set(received)) == 5  # every item delivered; any sent twice the server takes as a duplicate


# --- at the seams: SQLite's own "full", the system's ENOSPC ----------------------------------------------


def test_submit_on_a_full_store_says_it_was_not_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    answers = _submit_n(data, 3, capsys)
    store = Store(data / "kiosk.sqlite3")
    store.close()
    real = sqlite3.connect
    real_full: list[str] = []

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(database, *args, **kwargs)
        if Path(str(database)).name == "kiosk.sqlite3":
            conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
            real_full.append(str(database))
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    # Queue-ticket answers are tiny: fill the last free pages first, so the next submission cannot fit.
    for _ in range(200):
        code, out = _run(["submit", "--service", "queue-ticket", "--answers", str(answers)], data, capsys)
        if code != 0:
            break
    _assert_said_plainly(code, out, "submit")
    assert "database or disk is full" in out and "NOT stored" in out
    monkeypatch.setattr(sqlite3, "connect", real)
    stored = _submissions(data)
    assert stored >= 3 and real_full


def test_sync_with_a_full_store_loses_nothing_and_delivers_later(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    central: tuple[str, list[str]],
) -> None:
    url, received = central
    data = tmp_path / "data"
    _enrol(data, url)
    _submit_n(data, 4, capsys)

    def full(self: Any, answers: Any) -> None:
        # What SQLite raises when marking the deliveries needs a page the disk does not have.
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as patched:
        patched.setattr("kiosk.outbox.Outbox.resolve", full)
        code, out = _run(["sync"], data, capsys)
    _assert_said_plainly(code, out, "sync")
    assert "stay queued" in out
    assert _run(["sync"], data, capsys)[0] == 0
    assert len(set(received)) == 4


def test_export_onto_a_full_disk_says_the_items_stay_queued(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    central: tuple[str, list[str]],
) -> None:
    data = tmp_path / "data"
    _enrol(data, central[0])
    _submit_n(data, 2, capsys)

    def no_room(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("kiosk.sneakernet.write_atomically", no_room)
    code, out = _run(["export", "--out", str(tmp_path / "out.bin")], data, capsys)
    _assert_said_plainly(code, out, "export")
    assert "No space left on device" in out and "stay queued" in out
    assert _run(["outbox"], data, capsys) == (0, "pending 2, quarantined 0\n")


def test_a_log_that_cannot_be_written_is_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from kiosk.logs import configure_logging

    configure_logging(tmp_path)
    handler = logging.getLogger().handlers[0]

    def full(record: logging.LogRecord) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(handler, "shouldRollover", full)
    for _ in range(3):
        logging.getLogger("kiosk.test").warning("something")
    err = capsys.readouterr().err
    assert err.count("cannot write the log file") == 1
    assert "Traceback" not in err


# --- the GUI ---------------------------------------------------------------------------------------------


def test_the_gui_refuses_new_submissions_while_the_disk_is_full(
    self_service_window: Callable[..., Any], qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = self_service_window()
    monkeypatch.setattr(kiosk.disk, "DISK_FULL_BYTES", 2**62)  # no disk has that much free
    click(window.home.service_buttons["queue-ticket"])
    assert window.stack.currentWidget() is window.home
    assert window.home.notice_label.isVisible()
    assert window.home.notice_label.text() == translate("home.storage_full", "zh-CN")

    monkeypatch.setattr(kiosk.disk, "DISK_FULL_BYTES", 0)  # staff freed space
    complete_service(window, "queue-ticket", lambda until: qtbot.waitUntil(until, timeout=5000))
    assert not window.home.notice_label.isVisible()
    screen = window.self_service.screen
    # The disk fills while the form is on screen: confirming is refused with the message, nothing stored.
    monkeypatch.setattr(kiosk.disk, "DISK_FULL_BYTES", 2**62)
    click(screen.next_button)
    assert not screen.on_done
    assert translate("form.storage_full", "zh-CN") in screen.error_label.text()
    assert window.core.store.query("SELECT COUNT(*) FROM submissions")[0][0] == 0

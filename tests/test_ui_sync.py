"""The GUI with a central server: the top bar follows the background sync (online/offline, items to
upload), a new inspection is delivered soon after, and a hanging server never holds up the checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from central_helpers import LiveServer, running_server
from sqlalchemy import func, select

from central.db import make_engine, session_factory
from central.models import Inspection
from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.i18n import translate
from tools.faultproxy import FaultProxy
from tools.synth_frames import valid_id_number

WAIT_MS = 20_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with running_server(tmp_path, device_rate=(1000.0, 1000.0)) as live:
        yield live


def stored_inspections(server: LiveServer) -> int:
    engine = make_engine(server.database_url)
    with session_factory(engine)() as session:
        count = int(session.scalar(select(func.count()).select_from(Inspection)) or 0)
    engine.dispose()
    return count


def record(data_dir: Path, n: int) -> None:
    """Inspections recorded before the window opens (while the kiosk was offline, say)."""
    core = open_core(Settings(data_dir=data_dir))
    for index in range(n):
        core.checkpoint.inspect(f"queued code {index}", source="manual")
    core.close()


def shows(window: Any, online: bool, pending: int) -> bool:
    bar = window.top_bar
    network = translate("network.online" if online else "network.offline", window.language)
    return bar.network_label.text() == network and bar.pending_label.text() == translate(
        "pending.count", window.language, n=pending
    )


def enter_id(qtbot: Any, window: Any) -> None:
    from PySide6.QtCore import Qt

    buttons = window.manual_screen.keypad.buttons
    for key in valid_id_number():
        qtbot.mouseClick(buttons[key], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(buttons["confirm"], Qt.MouseButton.LeftButton)


def test_top_bar_goes_online_and_new_inspections_are_delivered(
    make_window: Any, qtbot: Any, server: LiveServer, ui_data_dir: Path
) -> None:
    server.enrol(ui_data_dir)
    record(ui_data_dir, 3)
    window = make_window(screen="manual", central_url=server.url)
    qtbot.waitUntil(lambda: shows(window, online=True, pending=0), timeout=WAIT_MS)
    assert stored_inspections(server) == 3
    # An inspection wakes the loop: delivered long before the 30 s interval is up.
    enter_id(qtbot, window)
    qtbot.waitUntil(lambda: stored_inspections(server) == 4, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: shows(window, online=True, pending=0), timeout=WAIT_MS)


def test_an_unreachable_server_shows_offline_with_the_count_waiting(
    make_window: Any, qtbot: Any, server: LiveServer, ui_data_dir: Path
) -> None:
    server.enrol(ui_data_dir)
    record(ui_data_dir, 2)
    # central_url is where the kiosk sends; nothing listens on the discard port.
    window = make_window(screen="home", central_url="http://127.0.0.1:9")
    qtbot.waitUntil(lambda: window.sync.latest is not None, timeout=WAIT_MS)
    assert not window.sync.latest.online and window.sync.latest.pending == 2
    qtbot.waitUntil(lambda: shows(window, online=False, pending=2), timeout=WAIT_MS)


def test_a_hanging_server_never_holds_up_an_inspection(
    make_window: Any, qtbot: Any, server: LiveServer, ui_data_dir: Path, verdicts: Any
) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    proxy = FaultProxy(port, choose=lambda: "timeout", hold_s=60)
    try:
        server.enrol(ui_data_dir)
        window = make_window(screen="manual", central_url=proxy.url)
        seen = verdicts(window)
        qtbot.waitUntil(lambda: sum(proxy.seen.values()) > 0, timeout=WAIT_MS)
        # The sync pass is waiting on the server; the inspection is recorded and shown regardless.
        enter_id(qtbot, window)
        qtbot.waitUntil(lambda: len(seen) == 1, timeout=WAIT_MS)
        assert window.sync.latest is None, "the pass should still be waiting on the network"
        qtbot.waitUntil(
            lambda: window.top_bar.pending_label.text() == translate("pending.count", "zh-CN", n=1)
        )
    finally:
        proxy.close()


def test_no_sync_without_enrolment(make_window: Any, qtbot: Any, ui_data_dir: Path, caplog: Any) -> None:
    window = make_window(screen="home", central_url="http://127.0.0.1:9")
    qtbot.waitUntil(lambda: "not enrolled" in caplog.text, timeout=WAIT_MS)
    # The pending count is read on a worker, so the label may lag the log line on a loaded machine.
    qtbot.waitUntil(lambda: shows(window, online=False, pending=0), timeout=WAIT_MS)
    assert window.sync.loop is None

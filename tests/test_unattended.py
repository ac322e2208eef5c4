"""Running unattended: one kiosk per data folder, a stale lock taken over, the camera and print watchdogs,
systemd's readiness and watchdog pings, and the deploy files."""

from __future__ import annotations

import configparser
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from devices.camera.fake import FakeCamera
from devices.printer import FakePrinter, PrinterState
from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.forms.answers import example_answers
from kiosk.forms.definition import catalogue_for
from kiosk.forms.receipts import ReceiptData
from kiosk.forms.submissions import SubmissionDesk
from kiosk.paths import PROJECT_ROOT
from printing.jobs import PrintQueue
from ui.scan_pipeline import CameraState
from ui.single_instance import LOCK_NAME, AlreadyRunning, InstanceLock
from ui.watchdog import CameraWatchdog, PrintRunner, SystemdNotifier

DEPLOY = PROJECT_ROOT / "deploy"


def test_a_second_kiosk_on_the_same_data_is_refused(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(AlreadyRunning) as refused:
            InstanceLock(tmp_path).acquire()
        assert refused.value.pid == os.getpid()
        (tmp_path / "other").mkdir()
        other = InstanceLock(tmp_path / "other")
        other.acquire()  # another data folder is another kiosk
        other.release()
    finally:
        first.release()
    assert not (tmp_path / LOCK_NAME).exists()
    again = InstanceLock(tmp_path)
    again.acquire()
    assert not again.crashed_before  # the last one let go cleanly
    again.release()


def test_the_lock_of_a_killed_kiosk_is_taken_over(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from ui.single_instance import InstanceLock\n"
        f"lock = InstanceLock(Path({str(tmp_path)!r}))\n"
        "lock.acquire()\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    with pytest.raises(AlreadyRunning):
        InstanceLock(tmp_path).acquire()
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    lock = InstanceLock(tmp_path)
    lock.acquire()
    assert lock.crashed_before
    lock.release()


class StallingCamera(FakeCamera):
    """Serves its frames, then hangs in read() as a wedged driver does, until released."""

    def __init__(self, frames: list[np.ndarray], stall_after: int, release: threading.Event) -> None:
        super().__init__(frames, loop=True)
        self.stall_after = stall_after
        self.release = release

    def read(self) -> np.ndarray | None:
        if self.served >= self.stall_after:
            self.release.wait()
            return None
        return super().read()


def test_a_camera_that_stops_delivering_is_restarted(make_window: Any, qtbot: Any) -> None:
    frame = np.full((120, 160, 3), 90, np.uint8)
    release = threading.Event()
    cameras: list[FakeCamera] = []

    def factory() -> FakeCamera:
        # The first camera wedges after 5 frames; the one the watchdog opens next keeps delivering.
        camera = StallingCamera([frame], 5, release) if not cameras else FakeCamera([frame], loop=True)
        cameras.append(camera)
        return camera

    window = make_window(camera_factory=factory, screen="home")
    watchdog = CameraWatchdog(window.pipeline, timeout_s=0.5, parent=window)
    statuses: list[str] = []
    window.pipeline.camera_status.connect(lambda state, _: statuses.append(state))
    watchdog.start()
    try:
        qtbot.waitUntil(lambda: watchdog.restarts == 1, timeout=10000)
        qtbot.waitUntil(lambda: len(cameras) == 2 and cameras[1].served > 5, timeout=10000)
        assert CameraState.RECONNECTING.value in statuses
        assert window.pipeline.camera_state[0] == CameraState.OK.value
    finally:
        release.set()  # let the abandoned thread end with the test
        watchdog.stop()


class HangingPrinter(FakePrinter):
    def __init__(self, folder: Path, release: threading.Event) -> None:
        super().__init__(folder)
        self.release = release

    def print_receipt(self, receipt: ReceiptData) -> str:
        self.release.wait()
        raise RuntimeError("the driver came back too late")


def test_a_hung_print_job_is_given_up_and_kept_for_reprint(tmp_path: Path, qtbot: Any) -> None:
    core = open_core(Settings(data_dir=tmp_path, sound=False))
    release = threading.Event()
    try:
        definition = catalogue_for(tmp_path).get("queue-ticket")
        assert definition is not None
        desk = SubmissionDesk(core.store, core.settings)
        job = desk.submit(definition, example_answers(definition), "zh-CN")
        queue = PrintQueue(core.store)
        runner = PrintRunner(queue, timeout_s=0.3)
        outcomes: list[Any] = []
        runner.finished.connect(outcomes.append)
        runner.print_job(job.print_job_id, HangingPrinter(tmp_path / "receipts", release))
        qtbot.waitUntil(lambda: bool(outcomes), timeout=5000)
        assert (outcomes[0].printed, outcomes[0].state) == (False, PrinterState.TIMEOUT)
        stored = queue.get(job.print_job_id)
        assert stored.status == "failed" and "timeout" in (stored.last_error or "")

        # The next job is not stuck behind the hung one, and a working printer prints it.
        runner.print_job(job.print_job_id, FakePrinter(tmp_path / "receipts"))
        qtbot.waitUntil(lambda: len(outcomes) == 2, timeout=10000)
        assert outcomes[1].printed and queue.get(job.print_job_id).status == "printed"
    finally:
        release.set()
        core.close()


def test_systemd_hears_ready_then_regular_watchdog_pings(tmp_path: Path, qtbot: Any) -> None:
    address = str(tmp_path / "notify")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.setblocking(False)
    heard: list[str] = []

    def listen() -> bool:
        with contextlib.suppress(BlockingIOError):
            heard.append(server.recv(64).decode())
        return heard.count("WATCHDOG=1") >= 2

    def drain() -> None:
        with contextlib.suppress(BlockingIOError):
            while True:
                heard.append(server.recv(64).decode())

    try:
        notifier = SystemdNotifier(environ={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"})
        notifier.ready()
        qtbot.waitUntil(listen, timeout=5000)
        assert heard[0] == "READY=1"
        notifier.stopping()
        drain()
        assert heard[-1] == "STOPPING=1"
        heard.clear()
        qtbot.wait(700)  # longer than the 500 ms ping interval: no ping after STOPPING=1
        drain()
        assert heard == []
    finally:
        server.close()
    SystemdNotifier(environ={}).ready()  # not under systemd: nothing to do, nothing fails


def test_the_deploy_files_start_restart_and_stop_the_kiosk_properly() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "kiosk.service")
    service = unit["Service"]
    assert service["ExecStart"].endswith("kiosk run --fullscreen")
    assert service["Restart"] == "always" and service["Type"] == "notify"
    assert service["RestartPreventExitStatus"] == "3"  # "already running" is not a crash
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str  # type: ignore[assignment,method-assign]
    desktop.read(DEPLOY / "kiosk.desktop")
    entry = desktop["Desktop Entry"]
    assert entry["Type"] == "Application" and 'kiosk" run --fullscreen' in entry["Exec"]
    assert "kiosk.service" in (DEPLOY / "README.md").read_text("utf-8")

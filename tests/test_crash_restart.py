"""Kill the running kiosk mid-form and mid-print (SIGKILL: no clean-up at all), restart it, and check the
store: the half-filled form left nothing, the confirmed submission and its upload item are there once, its
receipt is kept for reprint, and the restarted kiosk takes over the stale lock and says what it found."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from devices.printer import FakePrinter
from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.paths import PROJECT_ROOT
from printing.jobs import PrintQueue
from ui.single_instance import LOCK_NAME

DRIVER = Path(__file__).with_name("kiosk_driver.py")
READY = "driver-ready"
ENV = os.environ | {
    "QT_QPA_PLATFORM": "offscreen",
    "PYTHONPATH": str(PROJECT_ROOT),
    "KIOSK_SOUND": "false",
    "KIOSK_VOICE": "false",
}


def _until(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    timeout_s = 90.0
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert proc.poll() is None, f"the kiosk exited ({proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"the kiosk did not get to {what} in {timeout_s:.0f} s"
        time.sleep(0.05)


def _kill_at(data: Path, scenario: str) -> None:
    """Run the driver to ``scenario``'s point and SIGKILL it there."""
    (data / READY).unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, str(DRIVER), str(data), scenario], env=ENV, text=True)
    try:
        _until((data / READY).exists, proc, scenario)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def _store(data: Path) -> dict[str, list[tuple]]:
    core = open_core(Settings(data_dir=data))
    try:
        return {
            "submissions": [tuple(r) for r in core.store.query("SELECT id, service_id FROM submissions")],
            "outbox": [tuple(r) for r in core.store.query("SELECT kind, item_id FROM outbox")],
            "print_jobs": [
                tuple(r) for r in core.store.query("SELECT id, submission_id, status FROM print_jobs")
            ],
        }
    finally:
        core.close()


def test_a_killed_kiosk_restarts_with_submissions_and_receipts_intact(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()

    _kill_at(data, "half-form")
    assert (data / LOCK_NAME).exists()  # a crash leaves its lock behind
    assert _store(data) == {"submissions": [], "outbox": [], "print_jobs": []}  # the half form: nothing

    _kill_at(data, "printing")
    after_kill = _store(data)
    [(submission_id, service)] = after_kill["submissions"]
    assert service == "queue-ticket"
    assert after_kill["outbox"] == [("submission", submission_id)]
    [(job_id, job_submission, status)] = after_kill["print_jobs"]
    assert (job_submission, status) == (submission_id, "pending")  # mid-print: kept, not lost or "printed"

    kiosk = subprocess.Popen(
        [sys.executable, "main.py", "run", "--data-dir", str(data), "--mode", "checkpoint", "-v"],
        cwd=PROJECT_ROOT,
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert kiosk.stderr is not None
        for line in kiosk.stderr:
            lines.append(line)
            if "home screen shown after" in line:
                break
        log = "".join(lines)
        assert "home screen shown after" in log, log
        assert "did not exit cleanly" in log
        assert "1 receipt(s) kept for reprint" in log

        second = subprocess.run(
            [sys.executable, "main.py", "run", "--data-dir", str(data)],
            cwd=PROJECT_ROOT,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3
        assert f"already running (process {kiosk.pid})" in second.stderr

        kiosk.send_signal(signal.SIGTERM)
        assert kiosk.wait(30) == 0
    finally:
        if kiosk.poll() is None:
            kiosk.kill()
    assert not (data / LOCK_NAME).exists()  # a clean exit releases the lock

    assert _store(data) == after_kill  # the restart changed nothing: once, not twice, not lost
    core = open_core(Settings(data_dir=data))
    try:
        outcome = PrintQueue(core.store).print_job(job_id, FakePrinter(tmp_path / "reprint"))
    finally:
        core.close()
    assert outcome.printed
    assert [p.suffix for p in (tmp_path / "reprint").iterdir()] == [".pdf"]

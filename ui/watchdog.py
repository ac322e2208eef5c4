"""Watchdogs for an unattended kiosk: a camera that stops delivering frames, a print job that hangs, and the
GUI itself (systemd's watchdog).

- Camera: while the camera is reported open, no frame for ``FRAME_TIMEOUT_S`` means its thread is stuck in a
  driver call. The scan pipeline abandons that thread and starts a fresh one, which reopens the device; the
  top bar shows "reconnecting" meanwhile and the log says why.
- Printer: :class:`PrintRunner` prints each job on a daemon thread of its own; one that has not finished after
  ``PRINT_TIMEOUT_S`` is given up: the job is marked failed (timeout) for a reprint and the next job gets a
  new thread. A driver that never returns cannot hold up the kiosk or its exit.
- GUI: under systemd with ``WatchdogSec=`` (deploy/kiosk.service) the GUI thread tells systemd it is alive
  every few seconds; a frozen event loop stops telling, and systemd restarts the kiosk.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from PySide6.QtCore import QObject, QTimer, Signal

from devices.printer import Printer, PrinterError, PrinterState
from printing.jobs import PrintOutcome, PrintQueue
from ui.operations import RunGuard
from ui.scan_pipeline import CameraState, ScanPipeline

log = logging.getLogger(__name__)

FRAME_TIMEOUT_S = 10.0
PRINT_TIMEOUT_S = 60.0
CHECK_INTERVAL_MS = 1000


class CameraWatchdog(QObject):
    """Restarts the camera thread when an open camera delivers no frame for ``timeout_s``."""

    tripped = Signal()

    def __init__(
        self, pipeline: ScanPipeline, timeout_s: float = FRAME_TIMEOUT_S, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.pipeline = pipeline
        self.timeout_s = timeout_s
        self.restarts = 0
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_INTERVAL_MS)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def check(self) -> None:
        state, _ = self.pipeline.camera_state
        silent_s = time.monotonic() - self.pipeline.last_frame_at
        if state != CameraState.OK or silent_s < self.timeout_s:
            return
        self.restarts += 1
        log.error(
            "camera delivered no frame for %.0f s: restarting its thread (restart %d)",
            silent_s,
            self.restarts,
        )
        self.pipeline.restart_camera(f"no frame for {silent_s:.0f} s")
        self.tripped.emit()


class PrintRunner(QObject):
    """Prints queue jobs one thread each, and gives up on one that outlives ``timeout_s``.

    ``finished(PrintOutcome)`` arrives on the GUI thread exactly once per ``print_job`` call: the printer's
    outcome, or a timeout outcome if the watchdog fired first (a late real outcome is then only logged, and
    stored: a receipt that did come out is marked printed after all).
    """

    finished = Signal(object)

    def __init__(
        self, queue: PrintQueue, timeout_s: float = PRINT_TIMEOUT_S, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.queue = queue
        self.timeout_s = timeout_s
        # An attempt is open until its outcome (or the timeout) is delivered; several may be open at once.
        self._attempts = RunGuard(self._deliver, stale=self._late, parent=self)
        self._jobs: dict[int, int] = {}  # attempt → job id

    def print_job(self, job_id: int, printer: Printer) -> None:
        attempt = self._attempts.begin(exclusive=False)
        self._jobs[attempt] = job_id
        threading.Thread(
            target=self._run, args=(attempt, job_id, printer), name=f"print-{job_id}", daemon=True
        ).start()
        QTimer.singleShot(round(self.timeout_s * 1000), self, lambda: self._overdue(attempt))

    def _run(self, attempt: int, job_id: int, printer: Printer) -> None:
        try:
            outcome = self.queue.print_job(job_id, printer)
        except Exception as err:  # a bug or the store: the job stays unprinted, for a reprint
            log.exception("print job %d failed", job_id)
            outcome = PrintOutcome(job_id, False, PrinterState.ERROR, detail=str(err))
        self._attempts.report(attempt, outcome)

    def _deliver(self, attempt: int, outcome: PrintOutcome) -> None:
        self._attempts.close(attempt)
        self._jobs.pop(attempt, None)
        self.finished.emit(outcome)

    def _late(self, attempt: int, outcome: PrintOutcome) -> None:
        log.warning("print job %d finished after its timeout (printed: %s)", outcome.job_id, outcome.printed)

    def _overdue(self, attempt: int) -> None:
        if not self._attempts.close(attempt):
            return
        job_id = self._jobs.pop(attempt)
        log.error("print job %d hung for %.0f s: given up, kept for reprint", job_id, self.timeout_s)
        error = PrinterError(PrinterState.TIMEOUT, f"no answer in {self.timeout_s:.0f} s")
        self.queue.mark_failed(job_id, str(error))
        self.finished.emit(PrintOutcome(job_id, False, PrinterState.TIMEOUT, detail=error.detail))


class SystemdNotifier(QObject):
    """READY=1 once the kiosk is up, then WATCHDOG=1 from the GUI thread at half the watchdog period.

    Inert unless systemd started the kiosk with ``Type=notify`` (``NOTIFY_SOCKET``) and ``WatchdogSec=``.
    """

    def __init__(self, parent: QObject | None = None, environ: dict[str, str] | None = None) -> None:
        super().__init__(parent)
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET", "")
        watchdog_usec = int(env.get("WATCHDOG_USEC", "0") or 0)
        self._timer = QTimer(self)
        self._timer.timeout.connect(lambda: self.send("WATCHDOG=1"))
        self._timer.setInterval(max(500, watchdog_usec // 2000))
        self.watchdog = watchdog_usec > 0

    def ready(self) -> None:
        if not self.address:
            return
        self.send("READY=1")
        if self.watchdog:
            self._timer.start()

    def stopping(self) -> None:
        """STOPPING=1 and no more pings: the kiosk is shutting down on purpose (a sync thread may take a few
        seconds to stop), so systemd must not take the silence for a hang."""
        self._timer.stop()
        if self.address:
            self.send("STOPPING=1")

    def send(self, message: str) -> None:
        address = self.address
        if not address:
            return
        if address.startswith("@"):  # an abstract socket
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode("ascii"), address)
        except OSError as err:
            log.warning("could not notify systemd (%s): %s", message, err)

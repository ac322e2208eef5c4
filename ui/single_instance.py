"""One kiosk per data folder: a lock file in the data folder, held while the GUI runs.

Two kiosks on one store would show two sets of counters and race for the camera and the printer, so a second
``kiosk run`` says the kiosk is already running and exits non-zero. A lock left by a process that died (a
crash, a power cut, SIGKILL) is stale: QLockFile sees that its process is gone and takes it over, and the
start is logged as a restart after a crash, so the log says what happened.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QLockFile

log = logging.getLogger(__name__)

LOCK_NAME = "kiosk.lock"
# A live kiosk never gives its lock up; a lock older than this whose process is gone is stale at once anyway
# (QLockFile checks the process), so this only bounds the wait for a lock file being written this instant.
TRY_LOCK_MS = 200


class AlreadyRunning(RuntimeError):
    def __init__(self, pid: int) -> None:
        super().__init__("the kiosk is already running" + (f" (process {pid})" if pid else ""))
        self.pid = pid


class InstanceLock:
    """``acquire()`` or raise :class:`AlreadyRunning`; ``release()`` at a clean exit (the lock file goes).

    ``crashed_before`` is True when the previous run did not exit cleanly: its lock file was still there.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._lock = QLockFile(str(self.path))
        # Never stale by age alone: a kiosk runs for months. Staleness comes from the dead process.
        self._lock.setStaleLockTime(0)
        self.crashed_before = False

    def acquire(self) -> None:
        self.crashed_before = self.path.exists()
        if self._lock.tryLock(TRY_LOCK_MS):
            if self.crashed_before:
                log.warning("the previous run did not exit cleanly (crash or power cut); starting afresh")
            return
        if self._lock.error() == QLockFile.LockError.LockFailedError:
            info = self._lock.getLockInfo()  # (pid, hostname, application name); empty if unreadable
            raise AlreadyRunning(int(info[0]) if info else 0)
        raise OSError(f"cannot create the lock file {self.path}: {self._lock.error().name}")

    def release(self) -> None:
        self._lock.unlock()

"""Every piece of one-shot work off the GUI thread goes through here, after Anki's ``aqt.operations`` and
``aqt.taskman``: the caller says what to run, on which lane, and what to do with the result or the error;
the callbacks always run on the GUI thread, so they may touch widgets.

Two lanes, so that a citizen's submission never queues behind an administrator's USB export:

- ``Lane.STORE``: one thread, for short reads and writes of the local store (counters, figures, the
  outbox page, the audit log, a manual inspection). SQLite writes one at a time anyway; one lane keeps
  them in the order they were asked for.
- ``Lane.IO``: a few threads, for work that waits on something else — the network (a booking, enrolment,
  the sync engine's start), a USB stick, a printer, key derivation, model loading. A submission runs here:
  its booking waits on the central server, and its store write is short.

Long-lived threads (camera, decoding, card reading, print jobs with a watchdog) are not operations; they
report back through a :class:`RunGuard`, the one "run number + private signal" guard that drops what a
run reports once a newer run has started or the run was given up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

IO_THREADS = 4  # waiting threads cost no CPU; four keep a slow enrolment or export from holding up a booking


class Lane(StrEnum):
    STORE = "store"
    IO = "io"


_pools: dict[Lane, QThreadPool] = {}


def pool(lane: Lane) -> QThreadPool:
    """The thread pool of ``lane``, made on first use (after the application object exists)."""
    found = _pools.get(lane)
    if found is None:
        found = QThreadPool()
        found.setMaxThreadCount(1 if lane is Lane.STORE else IO_THREADS)
        _pools[lane] = found
    return found


def wait_for_done(timeout_ms: int) -> bool:
    """Wait for every lane to finish its work (at shutdown, before the store is closed); True if all did."""
    return all([found.waitForDone(timeout_ms) for found in _pools.values()])  # every lane, not up to one


class _Relay(QObject):
    """Lives on the GUI thread; signals emitted by the worker reach its slots through the event queue."""

    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(
        self,
        parent: QObject,
        on_success: Callable[[Any], None],
        on_failure: Callable[[Exception], None] | None,
    ) -> None:
        # Parented so that Qt keeps it alive until the queued result has been delivered.
        super().__init__(parent)
        self._on_success = on_success
        self._on_failure = on_failure
        self.succeeded.connect(self._deliver_success)
        self.failed.connect(self._deliver_failure)

    @Slot(object)
    def _deliver_success(self, result: Any) -> None:
        try:
            self._on_success(result)
        finally:
            self.deleteLater()

    @Slot(object)
    def _deliver_failure(self, error: Exception) -> None:
        try:
            if self._on_failure is None:
                log.error("background operation failed", exc_info=error)
            else:
                self._on_failure(error)
        finally:
            self.deleteLater()


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as err:  # handed to on_failure on the GUI thread, never lost in the pool
            self._relay.failed.emit(err)
        else:
            self._relay.succeeded.emit(result)


def run_op(
    parent: QObject,
    fn: Callable[[], Any],
    *,
    lane: Lane,
    on_success: Callable[[Any], None],
    on_failure: Callable[[Exception], None] | None = None,
) -> None:
    """Run ``fn()`` on ``lane``; then ``on_success(result)`` or ``on_failure(error)`` on the GUI thread.

    ``parent`` must outlive the operation (the main window waits for the lanes before it is destroyed);
    without ``on_failure`` the error is logged.
    """
    relay = _Relay(parent, on_success, on_failure)
    pool(lane).start(_Task(fn, relay))


class RunGuard(QObject):
    """Run numbers for work on threads of its own, and the private signal they report through.

    ``begin()`` opens a run (``exclusive``: and closes every other one, so a newer capture or camera thread
    replaces the older); ``report(run, payload)`` may be called from any thread; on the GUI thread
    ``deliver(run, payload)`` is called for reports of runs still open and ``stale(run, payload)`` for the
    others. A worker thread may ask ``is_open(run)`` to end itself once it has been replaced.
    """

    _reported = Signal(int, object)

    def __init__(
        self,
        deliver: Callable[[int, Any], None],
        stale: Callable[[int, Any], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._deliver = deliver
        self._stale = stale
        self._last = 0
        # Replaced whole, never changed in place, so worker threads read it without a lock.
        self._open: frozenset[int] = frozenset()
        self._reported.connect(self._on_report)

    def begin(self, *, exclusive: bool = True) -> int:
        self._last += 1
        self._open = frozenset({self._last}) if exclusive else self._open | {self._last}
        return self._last

    def close(self, run: int) -> bool:
        """End ``run``; False if it had already ended (or was replaced)."""
        was_open = run in self._open
        self._open = self._open - {run}
        return was_open

    def close_all(self) -> None:
        self._open = frozenset()

    def is_open(self, run: int) -> bool:
        return run in self._open

    def report(self, run: int, payload: Any) -> None:
        self._reported.emit(run, payload)

    @Slot(int, object)
    def _on_report(self, run: int, payload: Any) -> None:
        if run in self._open:
            self._deliver(run, payload)
        elif self._stale is not None:
            self._stale(run, payload)

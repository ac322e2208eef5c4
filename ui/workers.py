"""Run one blocking call off the GUI thread and get its outcome back on the GUI thread.

In the spirit of Anki's ``QueryOp``: the caller says what to run and what to do with the result or the error;
the callbacks always run on the GUI thread, so they may touch widgets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


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
                log.error("background task failed", exc_info=error)
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


def run_in_background(
    parent: QObject,
    fn: Callable[[], Any],
    *,
    on_success: Callable[[Any], None],
    on_failure: Callable[[Exception], None] | None = None,
    pool: QThreadPool | None = None,
) -> None:
    """Run ``fn()`` on a thread pool; then ``on_success(result)`` or ``on_failure(error)`` on the GUI thread.

    ``parent`` must outlive the task (the main window waits for the pool before it is destroyed); without
    ``on_failure`` the error is logged.
    """
    relay = _Relay(parent, on_success, on_failure)
    (pool or QThreadPool.globalInstance()).start(_Task(fn, relay))

"""The sync loop behind the GUI: delivers the outbox on its own thread and reports on the GUI thread.

It runs only when ``central_url`` is set and the kiosk is enrolled. Nothing here touches the network or the
store on the GUI thread: the engine is built by a worker (it reads credentials and keys), the passes run on
the loop's thread, and the pending count after each pass is read by a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from kiosk.core import KioskCore
from kiosk.sync import SyncEngine, SyncLoop, SyncStatus, open_sync
from ui.operations import Lane, run_op

log = logging.getLogger(__name__)

# How long closing the kiosk waits for a pass that is on the network; after that the pass ends on its own
# without reporting, and what it could not mark stays queued (the server answers "duplicate" next time).
STOP_WAIT_S = 3.0


class BackgroundSync(QObject):
    """``online_changed(bool)`` and ``pending_changed(int)`` after every pass, on the GUI thread;
    ``status_changed(SyncStatus)`` with the whole status."""

    online_changed = Signal(bool)
    pending_changed = Signal(int)
    status_changed = Signal(object)
    # Emitted on the loop's thread; Qt queues it to this object's (the GUI) thread.
    _reported = Signal(object)

    def __init__(
        self, core: KioskCore, parent: QObject, health: Callable[[], dict[str, Any]] | None = None
    ) -> None:
        """``health`` gives each heartbeat's health object; it is called on the sync thread."""
        super().__init__(parent)
        self.core = core
        self._health = health
        self.loop: SyncLoop | None = None
        self.latest: SyncStatus | None = None
        self._stopped = False
        self._reported.connect(self._on_pass)

    def start(self) -> None:
        if not self.core.settings.central_url:
            return
        core, health = self.core, self._health
        run_op(self, lambda: open_sync(core, health), lane=Lane.IO, on_success=self._start_loop)

    def _start_loop(self, engine: SyncEngine | None) -> None:
        if self._stopped:
            return
        if engine is None:
            log.warning("central_url is set but this kiosk is not enrolled (`kiosk enrol`): not syncing")
            return
        self.loop = SyncLoop(
            engine, interval_s=self.core.settings.sync_interval_s, on_status=self._reported.emit
        )
        self.loop.start()

    def online_engine(self) -> SyncEngine | None:
        """The engine, when its last pass reached the server; None offline or not syncing."""
        loop, latest = self.loop, self.latest
        return loop.engine if loop is not None and latest is not None and latest.online else None

    def wake(self) -> None:
        """Something was queued: sync soon rather than at the next interval."""
        if self.loop is not None:
            self.loop.wake()

    def stop(self) -> None:
        """Before the store closes; safe to call twice."""
        self._stopped = True
        if self.loop is not None and not self.loop.stop(STOP_WAIT_S):
            log.warning("sync pass still waiting on the network at shutdown; it ends on its own")
        self.loop = None

    @Slot(object)
    def _on_pass(self, status: SyncStatus) -> None:
        if self._stopped:
            return
        self.latest = status
        self.online_changed.emit(status.online)
        self.status_changed.emit(status)
        # Read again rather than taken from the status: whatever was queued during the pass counts too.
        run_op(self, self.core.outbox.pending_count, lane=Lane.STORE, on_success=self._pending)

    def _pending(self, count: int) -> None:
        if not self._stopped:
            self.pending_changed.emit(count)

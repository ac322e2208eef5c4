"""Idle timeout: any touch, click or key press anywhere restarts the wait; after the timeout a countdown runs,
and at its end the window goes home and clears personal data. Input during the countdown cancels it."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal

_INPUT_EVENTS = frozenset(
    {
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.KeyPress,
        QEvent.Type.Wheel,
    }
)


class IdleWatcher(QObject):
    countdown = Signal(int)  # seconds left: at the start of the countdown and every second after
    cancelled = Signal()
    expired = Signal()

    def __init__(self, timeout_ms: int, countdown_s: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self._start_countdown)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._on_tick)
        self._remaining = 0
        self.configure(timeout_ms, countdown_s)

    def configure(self, timeout_ms: int, countdown_s: int) -> None:
        self._idle.setInterval(timeout_ms)
        self._countdown_s = countdown_s

    @property
    def counting(self) -> bool:
        return self._tick.isActive()

    # The application object, whatever its class: its event filter sees every input event of every window.
    def install(self, app: QCoreApplication) -> None:
        app.installEventFilter(self)
        self._idle.start()

    def uninstall(self, app: QCoreApplication) -> None:
        app.removeEventFilter(self)
        self._idle.stop()
        self._tick.stop()

    def poke(self) -> None:
        """Activity: cancel a running countdown and start the wait again."""
        if self._tick.isActive():
            self._tick.stop()
            self.cancelled.emit()
        self._idle.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT_EVENTS:
            self.poke()
        return False

    def _start_countdown(self) -> None:
        self._remaining = self._countdown_s
        self._tick.start()
        self.countdown.emit(self._remaining)

    def _on_tick(self) -> None:
        self._remaining -= 1
        if self._remaining > 0:
            self.countdown.emit(self._remaining)
            return
        self._tick.stop()
        self.expired.emit()
        self._idle.start()

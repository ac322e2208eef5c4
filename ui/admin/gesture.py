"""The hidden way into admin mode: five taps within three seconds on the site name in the top bar.

Nothing on screen hints at it, and a citizen tapping the title once or twice does nothing; the gesture only
opens the PIN page, so finding it by chance gives nothing away.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QWidget

TAPS = 5
WINDOW_S = 3.0


class TapGesture(QObject):
    """Emits ``triggered`` after ``taps`` presses on ``target`` within ``window_s`` seconds."""

    triggered = Signal()

    def __init__(
        self,
        target: QWidget,
        taps: int = TAPS,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(target)
        self._taps = taps
        self._window_s = window_s
        self._clock = clock
        self._times: list[float] = []
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Presses only: Qt adds a DblClick event after the second of two quick presses (counting it would
        # count that tap twice), and a label takes no touch events, so a touch arrives as a mouse press.
        if event.type() == QEvent.Type.MouseButtonPress:
            now = self._clock()
            self._times = [t for t in self._times if now - t < self._window_s] + [now]
            if len(self._times) >= self._taps:
                self._times.clear()
                self.triggered.emit()
        return False  # the press still reaches the label (and the idle watcher sees it as activity)

"""The ID-card reader seen from the GUI: polled off the GUI thread while a screen wants a card.

One :class:`ChipReader` per window, shared by the ID step of self-service and the checkpoint tap. A screen
calls ``start()`` while it would take a card and ``stop()`` when it leaves; ``card_read`` brings the
checked fields of a card placed on the reader (once per placing: a card left lying there is not read
again until it is lifted), ``read_failed`` an i18n key saying what the person should do. A failing reader
never stops anything: the next poll tries again, and the camera path goes on beside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QObject, QTimer, Signal

from devices.id_reader import POLL_S, ReaderError, ReaderMonitor, decode_photo
from kiosk.idcard.chip import ChipIdentity, ChipRefused, decode_text
from ui.operations import Lane, run_op

log = logging.getLogger(__name__)

READ_FAILED = "idreader.read_failed"  # 读卡失败，请重新放置或使用摄像头识别
PLACE_ON_READER = "idreader.place"  # 请将身份证放在读卡区


@dataclass(frozen=True)
class ChipCard:
    """A card read whole: its fields, and its portrait as BMP bytes (memory only) when a WLT library
    decoded it."""

    identity: ChipIdentity
    photo_bmp: bytes | None


class ChipReader(QObject):
    card_read = Signal(object)  # ChipCard
    read_failed = Signal(str)  # i18n key
    state_changed = Signal(str)  # ReaderMonitor.state, when it changes

    def __init__(
        self, monitor: ReaderMonitor, photo_library: str = "", parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.monitor = monitor
        self.photo_library = photo_library
        self._busy = False
        self._users = 0
        self._delivered: str | None = None  # the number of the card lying on the reader, once read
        self._state = monitor.state
        self._timer = QTimer(self)
        self._timer.setInterval(int(POLL_S * 1000))
        self._timer.timeout.connect(self.poll)

    @property
    def configured(self) -> bool:
        return self.monitor.configured

    def start(self) -> None:
        if not self.configured:
            return
        self._users += 1
        self._delivered = None  # a new person: a card already lying there is theirs to use
        if not self._timer.isActive():
            self._timer.start()
            self.poll()

    def stop(self) -> None:
        self._users = max(0, self._users - 1)
        if not self._users:
            self._timer.stop()

    def stop_polling(self) -> None:
        """The window is closing: no more polls (the caller closes the monitor once the pool is idle)."""
        self._users = 0
        self._timer.stop()

    def poll(self) -> None:
        if self._busy:
            return
        self._busy = True
        monitor, library = self.monitor, self.photo_library

        def read() -> ChipCard | None:
            got = monitor.poll()
            if got is None:
                return None
            identity = decode_text(got.text, date.today())
            return ChipCard(identity, decode_photo(got.photo, library))

        run_op(self, read, lane=Lane.IO, on_success=self._on_read, on_failure=self._on_failed)

    def _report_state(self) -> None:
        if self.monitor.state != self._state:
            self._state = self.monitor.state
            self.state_changed.emit(self._state)

    def _on_read(self, card: ChipCard | None) -> None:
        self._busy = False
        self._report_state()
        if card is None:
            self._delivered = None
            return
        number = card.identity.fields["id_number"]
        if number == self._delivered or not self._timer.isActive():
            return
        self._delivered = number
        self.card_read.emit(card)

    def _on_failed(self, error: Exception) -> None:
        self._busy = False
        self._report_state()
        if isinstance(error, ChipRefused):
            log.warning("ID card chip answer refused: %s", ",".join(error.reasons))
        elif isinstance(error, ReaderError):
            log.warning("ID card reader: %s", error.kind)  # the detail names no person
        else:
            log.error("ID card reader failed", exc_info=error)
        if self._timer.isActive():
            self.read_failed.emit(READ_FAILED)

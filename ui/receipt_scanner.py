"""The camera looking for a receipt's QR code while "check my application" is on screen.

The checkpoint's decode thread inspects (and records) every code it sees; a citizen holding up a receipt to
look up a decision is not an inspection. So this screen taps the camera's frames (as the ID-card reader
does) and decodes them on a thread of its own, handing each new code text to the GUI thread; nothing is
stored.
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, Signal

from ui.operations import RunGuard
from ui.scan_pipeline import Debouncer, FrameMailbox, ScanPipeline

log = logging.getLogger(__name__)

# A receipt held up is seen in every frame: the same text again within this is not a new code.
HOLD_S = 3.0


class ReceiptScanner(QObject):
    code_seen = Signal(str)  # on the GUI thread

    def __init__(self, pipeline: ScanPipeline, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pipeline = pipeline
        self._runs = RunGuard(lambda _run, text: self.code_seen.emit(text), parent=self)
        self._stop: threading.Event | None = None
        self._mailbox: FrameMailbox | None = None

    @property
    def running(self) -> bool:
        return self._stop is not None

    def start(self) -> None:
        self.stop()
        run = self._runs.begin()
        self._stop, self._mailbox = threading.Event(), FrameMailbox()
        thread = threading.Thread(
            target=self._loop, args=(run, self._stop, self._mailbox), name="receipt-scan", daemon=True
        )
        self._pipeline.add_frame_tap(self._mailbox)
        thread.start()

    def stop(self) -> None:
        """Not joined: the thread ends after the frame it is on; what it still reports is dropped."""
        if self._stop is None or self._mailbox is None:
            return
        self._pipeline.remove_frame_tap(self._mailbox)
        self._stop.set()
        self._mailbox.close()
        self._stop = self._mailbox = None
        self._runs.close_all()

    def _loop(self, run: int, stop: threading.Event, mailbox: FrameMailbox) -> None:
        try:
            decoder = self._pipeline.new_decoder()
        except Exception:
            log.exception("no QR decoder for the check screen: receipts are typed in")
            return
        seen = Debouncer(HOLD_S)
        while not stop.is_set():
            item = mailbox.take(timeout=0.2)
            if item is None:
                continue
            try:
                symbols = decoder.decode(item[0])
            except Exception:
                log.exception("scanning a frame for a receipt failed")
                continue
            now = time.perf_counter()
            for symbol in symbols:
                if seen.is_new(symbol.text, now):
                    self._runs.report(run, symbol.text)

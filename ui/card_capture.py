"""Live ID-card capture off the GUI thread: camera frames in, reader prompts and the settled card out.

The camera thread is the scan pipeline's (the kiosk has one camera): this worker adds a one-frame mailbox as
a frame tap and runs an OCR thread that takes the newest frame, analyses it (``IdCardRecogniser.analyse``, a
few hundred ms) and feeds ``CardReader``, so it never builds a backlog however slow the models are. Before
the first frame it waits for the OCR models, which load in the background after start-up.

Every run has a number; reports from a run that has been stopped (its thread finishing the frame it was on)
are dropped on the GUI thread, so a restarted capture never sees the previous person's card.
"""

from __future__ import annotations

import logging
import threading
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from ui.operations import RunGuard
from ui.scan_pipeline import FrameMailbox, ScanPipeline

if TYPE_CHECKING:  # the OCR modules pull in numpy and OpenCV; they are imported on the OCR thread
    from devices.ocr import BackgroundLoader

log = logging.getLogger(__name__)

MODEL_POLL_S = 0.2  # how often a thread waiting for the models or a frame checks whether it was stopped


class CaptureEvent(StrEnum):
    LOADING = "loading"  # the OCR models are not ready yet
    READY = "ready"  # they are: frames are being read
    UPDATE = "update"  # a ReaderUpdate for one analysed frame
    UNAVAILABLE = "unavailable"  # the models failed to load: only manual entry is left


class OcrModels(QObject):
    """The kiosk's one set of ID-card OCR models, shared by every capture screen.

    Start-up gives it a ``BackgroundLoader`` (already loading) or marks the models unavailable; screens that
    exist before either happens say "starting" and pick the loader up when ``changed`` fires.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader: BackgroundLoader | None = None
        self.unavailable = False

    def set_loader(self, loader: BackgroundLoader) -> None:
        self.loader = loader
        self.unavailable = False
        self.changed.emit()

    def set_unavailable(self) -> None:
        self.loader = None
        self.unavailable = True
        self.changed.emit()


class CardCaptureWorker(QObject):
    """``start(side, loader)`` begins a capture, ``stop()`` ends it without waiting for the OCR thread."""

    models_loading = Signal()
    models_ready = Signal()
    reader_update = Signal(object)  # kiosk.idcard.reader.ReaderUpdate; the run ends after "done"/"gave_up"
    ocr_unavailable = Signal(str)  # why, for the log and the staff; the screen shows a fixed text

    def __init__(self, pipeline: ScanPipeline, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pipeline = pipeline
        # What an OCR thread reports reaches the screen only while its capture is the current one.
        self._runs = RunGuard(self._deliver, parent=self)
        self._stop: threading.Event | None = None
        self._mailbox: FrameMailbox | None = None

    @property
    def running(self) -> bool:
        return self._stop is not None

    def start(self, side: str, loader: BackgroundLoader) -> None:
        self.stop()
        run = self._runs.begin()
        self._stop = threading.Event()
        self._mailbox = FrameMailbox()
        thread = threading.Thread(
            target=self._ocr_loop,
            args=(run, side, loader, self._stop, self._mailbox),
            name="card-ocr",
            daemon=True,
        )
        self._pipeline.add_frame_tap(self._mailbox)
        thread.start()

    def stop(self) -> None:
        """Stop feeding frames and tell the OCR thread to end; it may finish the frame it is on, unseen.

        Not joined: an OCR run can take most of a second and the GUI thread must not wait for it.
        """
        if self._stop is None or self._mailbox is None:
            return
        self._pipeline.remove_frame_tap(self._mailbox)
        self._stop.set()
        self._mailbox.close()
        self._stop = None
        self._mailbox = None
        self._runs.close_all()  # whatever the old thread still reports is now stale

    def _deliver(self, run: int, report: tuple[str, Any]) -> None:
        event, payload = report
        if event == CaptureEvent.LOADING:
            self.models_loading.emit()
        elif event == CaptureEvent.READY:
            self.models_ready.emit()
        elif event == CaptureEvent.UNAVAILABLE:
            self.stop()
            self.ocr_unavailable.emit(payload)
        else:
            if payload.state in ("done", "gave_up"):
                self.stop()
            self.reader_update.emit(payload)

    # --- OCR thread ------------------------------------------------------------------------------------

    def _ocr_loop(
        self, run: int, side: str, loader: BackgroundLoader, stop: threading.Event, mailbox: FrameMailbox
    ) -> None:
        from devices.idcard import IdCardRecogniser
        from devices.ocr import OcrUnavailable
        from devices.second_reader import default_second_reader
        from kiosk.idcard.reader import CardReader

        if not loader.ready:
            self._runs.report(run, (CaptureEvent.LOADING.value, None))
        while True:
            if stop.is_set():
                return
            try:
                engine = loader.wait(timeout=MODEL_POLL_S)
                break
            except TimeoutError:
                continue
            except OcrUnavailable as err:
                self._runs.report(run, (CaptureEvent.UNAVAILABLE.value, str(err)))
                return
        second = default_second_reader()
        if second is not None:
            try:
                second.load()  # here, once per process, rather than inside the first frame's read
            except OcrUnavailable as err:
                log.warning("reading ID cards without a second reader: %s", err)
                second = None
        self._runs.report(run, (CaptureEvent.READY.value, None))
        recogniser = IdCardRecogniser(engine, second=second)
        reader = CardReader(side=side)
        while not stop.is_set():
            item = mailbox.take(timeout=MODEL_POLL_S)
            if item is None:
                continue
            frame, _ = item
            try:
                update = reader.feed(recogniser.analyse(frame, side))
            except Exception:  # one bad frame (a driver glitch, an engine error) must not end the capture
                log.exception("analysing a card frame failed")
                continue
            self._runs.report(run, (CaptureEvent.UPDATE.value, update))
            if update.state in ("done", "gave_up"):
                return

"""The live scan pipeline: a camera thread and a decode thread, joined by a one-frame mailbox.

The camera thread reads frames as they come, sends a small preview to the GUI at most ~15 times a second and
drops the newest frame into the mailbox, replacing any frame the decoder has not taken yet: the decoder always
works on the latest image and never builds a backlog. The decode thread scans, inspects each new code
(``Checkpoint.inspect`` commits to SQLite, so it must not run on the GUI thread) and reports the inspection.
Both are plain daemon threads: a camera stuck in a driver call cannot keep the process alive at exit.

The kiosk has one camera, so other readers of it (the ID-card capture) do not open their own: they add a
mailbox of theirs as a frame tap and get every frame the camera thread reads, in the same newest-only way.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from kiosk.checkpoint import Checkpoint
from ui.operations import RunGuard

if TYPE_CHECKING:  # the real modules pull in OpenCV; they are imported in the threads, after start-up
    import numpy as np

    from devices.camera import Camera
    from kiosk.scanning import Decoder

log = logging.getLogger(__name__)

PREVIEW_WIDTH = 640
PREVIEW_INTERVAL_S = 1 / 15
# Consecutive failed attempts after which the camera is reported as failed rather than reconnecting;
# the thread keeps retrying at the longest back-off so a re-plugged camera comes back by itself.
FAILED_AFTER_ATTEMPTS = 4


class CameraState(StrEnum):
    STARTING = "starting"
    OK = "ok"
    RECONNECTING = "reconnecting"
    FAILED = "failed"


@dataclass(frozen=True)
class ScanTiming:
    """``time.perf_counter()`` readings, for measuring frame-to-verdict latency."""

    captured_at: float  # the frame came off the camera
    inspected_at: float  # the inspection was committed to the store


class FrameMailbox:
    """A single slot: a newer frame replaces an older one that has not been taken yet."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: tuple[np.ndarray, float] | None = None
        self._closed = False

    def put(self, frame: np.ndarray, captured_at: float) -> None:
        with self._cond:
            self._item = (frame, captured_at)
            self._cond.notify()

    def take(self, timeout: float) -> tuple[np.ndarray, float] | None:
        """The newest frame and its capture time, or ``None`` after ``timeout`` s or once closed."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class Debouncer:
    """Ignores a text seen again within ``hold_s`` of its last sighting.

    A code held in front of the camera is seen in every frame; it is inspected once, and again only after it
    has been out of view for ``hold_s`` (the time its verdict stays on screen). Only digests are kept.
    """

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self._last_seen: dict[bytes, float] = {}

    def is_new(self, text: str, now: float) -> bool:
        self._last_seen = {k: t for k, t in self._last_seen.items() if now - t < self.hold_s}
        key = hashlib.sha256(text.encode("utf-8")).digest()
        new = key not in self._last_seen
        self._last_seen[key] = now
        return new


def _preview_image(frame: np.ndarray) -> QImage:
    import cv2

    height, width = frame.shape[:2]
    scale = PREVIEW_WIDTH / width
    small = cv2.resize(frame, (PREVIEW_WIDTH, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    # copy(): the QImage must own its pixels once the numpy buffer goes away.
    return QImage(small.data, w, h, small.strides[0], QImage.Format.Format_BGR888).copy()


class ScanPipeline(QObject):
    """Owns the two threads. Signals are emitted from them and reach GUI-thread slots queued."""

    frame_ready = Signal(QImage)
    camera_status = Signal(str, str)  # CameraState value, short reason ("" when fine)
    inspected = Signal(object, object)  # Inspection, ScanTiming

    def __init__(
        self,
        camera_factory: Callable[[], Camera],
        decoder_factory: Callable[[], Decoder],
        checkpoint: Checkpoint,
        hold_s: float,
        *,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 5.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._camera_factory = camera_factory
        self._decoder_factory = decoder_factory
        self._checkpoint = checkpoint
        self._debouncer = Debouncer(hold_s)
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._mailbox = FrameMailbox()
        self._stop = threading.Event()
        self._scanning = threading.Event()
        self._threads: list[threading.Thread] = []
        self._taps: tuple[FrameMailbox, ...] = ()  # replaced whole, so the camera thread reads it unlocked
        self._taps_lock = threading.Lock()
        self._camera_state = (CameraState.STARTING.value, "")
        # The camera thread in charge; a thread of an older run (one the watchdog gave up on) ends, if it
        # ever comes back from the driver, and what it reports meanwhile is dropped.
        self._camera_runs = RunGuard(self._camera_reported, parent=self)
        # time.monotonic() of the last frame read (or of the start): what the camera watchdog looks at.
        self.last_frame_at = time.monotonic()

    def start(self) -> None:
        if self._threads:
            return
        self.last_frame_at = time.monotonic()
        run = self._camera_runs.begin()
        self._camera_reported(run, (CameraState.STARTING.value, ""))
        self._threads = [
            threading.Thread(target=self._camera_loop, args=(run,), name="camera", daemon=True),
            threading.Thread(target=self._decode_loop, name="decode", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def set_scanning(self, enabled: bool) -> None:
        """Decode and inspect only while the checkpoint screen is up; the preview keeps the camera warm."""
        if enabled:
            self._scanning.set()
        else:
            self._scanning.clear()

    @property
    def camera_state(self) -> tuple[str, str]:
        """The last reported (CameraState value, reason), for a screen that shows up after the report."""
        return self._camera_state

    def new_decoder(self) -> Decoder:
        """A decoder of the kind this pipeline scans with, for a thread of another screen's own."""
        return self._decoder_factory()

    def add_frame_tap(self, mailbox: FrameMailbox) -> None:
        """Also put every camera frame into ``mailbox`` (whatever the screen), until it is removed."""
        with self._taps_lock:
            self._taps = (*self._taps, mailbox)

    def remove_frame_tap(self, mailbox: FrameMailbox) -> None:
        with self._taps_lock:
            self._taps = tuple(tap for tap in self._taps if tap is not mailbox)

    def restart_camera(self, reason: str) -> None:
        """Leave a camera thread that stopped delivering (stuck in a driver call) and start a new one."""
        run = self._camera_runs.begin()
        self.last_frame_at = time.monotonic()
        self._camera_reported(run, (CameraState.RECONNECTING.value, reason))
        thread = threading.Thread(target=self._camera_loop, args=(run,), name="camera", daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        self._mailbox.close()
        for thread in self._threads:
            thread.join(timeout_s)
            if thread.is_alive():
                log.warning("%s thread did not stop within %.1f s", thread.name, timeout_s)

    # --- camera thread ---------------------------------------------------------------------------------

    def _current(self, run: int) -> bool:
        return self._camera_runs.is_open(run) and not self._stop.is_set()

    def _camera_loop(self, run: int) -> None:
        from devices.camera import CameraError, CameraSourceInvalid

        failures = 0
        while self._current(run):
            camera: Camera | None = None
            try:
                camera = self._camera_factory()
                camera.open()
                if not self._current(run):
                    return
                self._report(run, CameraState.OK.value, "")
                log.info("camera %s open", camera.describe())
                failures = 0
                self._read_frames(camera, run)
            except CameraSourceInvalid as err:  # a wrong setting does not fix itself: say so, stop trying
                log.error("camera source invalid: %s", err)
                self._report(run, CameraState.FAILED.value, str(err))
                return
            except Exception as err:  # CameraError or a driver bug: retry either way, the kiosk stays up
                failures += 1
                if not isinstance(err, CameraError):
                    log.exception("unexpected camera error")
                state = CameraState.RECONNECTING if failures < FAILED_AFTER_ATTEMPTS else CameraState.FAILED
                delay = min(self._initial_backoff_s * 2 ** (failures - 1), self._max_backoff_s)
                log.warning("camera %s (attempt %d, retry in %.1f s): %s", state, failures, delay, err)
                self._report(run, state.value, str(err) or type(err).__name__)
                self._stop.wait(delay)
            finally:
                if camera is not None:
                    try:
                        camera.close()
                    except Exception:
                        log.exception("closing the camera failed")

    def _report(self, run: int, state: str, reason: str) -> None:
        """From a camera thread: reaches the screens only if ``run`` is still the camera thread in charge."""
        self._camera_runs.report(run, (state, reason))

    def _camera_reported(self, run: int, status: tuple[str, str]) -> None:
        self._camera_state = status
        self.camera_status.emit(*status)

    def _read_frames(self, camera: Camera, run: int) -> None:
        period = 1.0 / camera.fps if camera.fps and camera.fps > 0 else 1 / 30
        last_preview = 0.0
        next_due = time.perf_counter()
        while self._current(run):
            frame = camera.read()
            now = time.perf_counter()
            if frame is None:
                self._stop.wait(0.005)
                continue
            self.last_frame_at = time.monotonic()
            if self._scanning.is_set():
                self._mailbox.put(frame, now)
            for tap in self._taps:
                tap.put(frame, now)
            if now - last_preview >= PREVIEW_INTERVAL_S:
                last_preview = now
                self.frame_ready.emit(_preview_image(frame))
            # Never faster than the camera's rate: a source that returns at once (a file, a fake) would
            # otherwise spin a core that the decoder needs.
            next_due = max(next_due + period, now)
            self._stop.wait(max(0.0, next_due - time.perf_counter()))

    # --- decode thread ---------------------------------------------------------------------------------

    def _decode_loop(self) -> None:
        try:
            decoder = self._decoder_factory()
        except Exception as err:
            log.exception("no QR decoder available")
            self.camera_status.emit(CameraState.FAILED.value, f"decoder: {err}")
            return
        while not self._stop.is_set():
            item = self._mailbox.take(timeout=0.2)
            if item is None or not self._scanning.is_set():
                continue
            frame, captured_at = item
            try:
                # Decoded only: the checkpoint evaluates each new code once, as it records it (a Scanner
                # would evaluate every code of every frame, repeats included, and the checkpoint again).
                symbols = decoder.decode(frame)
            except Exception:
                log.exception("scanning a frame failed")
                continue
            now = time.perf_counter()
            for symbol in symbols:
                if not self._debouncer.is_new(symbol.text, now):
                    continue
                try:
                    inspection = self._checkpoint.inspect(symbol.text, source="camera")
                except Exception:  # e.g. the disk is full: log it, keep scanning; nothing was recorded
                    log.exception("recording an inspection failed")
                    continue
                self.inspected.emit(inspection, ScanTiming(captured_at, time.perf_counter()))

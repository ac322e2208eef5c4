"""A camera by device index, a video file or a stream URL, through OpenCV."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import cv2
import numpy as np

from devices.camera import CameraDisconnected, CameraError, CameraSourceInvalid, NoCameraFound

log = logging.getLogger(__name__)


def _redact_url(url: str) -> str:
    """The URL without user name and password, for logs and ``describe``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


class OpenCvCamera:
    """A camera by device index, a video file (looped at its end) or a stream URL (``cv2.VideoCapture``)."""

    DEFAULT_FPS = 30.0
    MAX_EMPTY_READS_BEFORE_FIRST_FRAME = 50  # some devices deliver nothing for a moment after opening

    def __init__(self, source: int | str, width: int = 1920, height: int = 1080) -> None:
        self.source = source
        self.width = width
        self.height = height
        self.fps = self.DEFAULT_FPS
        self._cap: cv2.VideoCapture | None = None
        self._had_frame = False
        self._empty_reads = 0
        self._path: Path | None = None  # set for a local video file, which loops
        if isinstance(source, str):
            if source.lower().startswith("file://"):
                self._path = Path(unquote(urlsplit(source).path))
            elif "://" not in source:
                self._path = Path(source)

    def describe(self) -> str:
        if isinstance(self.source, int):
            return f"camera #{self.source}"
        if self._path is not None:
            return f"video file {self._path.name}"
        return f"stream {_redact_url(self.source)}"

    def open(self) -> None:
        self.close()
        target: int | str = str(self._path) if self._path is not None else self.source
        if self._path is not None and not self._path.is_file():
            raise NoCameraFound(f"{self.describe()}: no such file")
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            raise NoCameraFound(f"{self.describe()}: cannot be opened")
        if isinstance(self.source, int):
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # latest frame, not a queue of stale ones
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if math.isfinite(fps) and 0 < fps <= 240 else self.DEFAULT_FPS
        self._cap = cap
        self._had_frame = False
        self._empty_reads = 0
        log.info(
            "opened %s: %dx%d at %.1f fps",
            self.describe(),
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            self.fps,
        )

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            raise CameraError(f"{self.describe()}: read() before open()")
        frame = self._grab()
        if frame is None and self._path is not None and self._had_frame:
            log.debug("%s: end reached, looping", self.describe())
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            frame = self._grab()
        if frame is not None:
            self._had_frame = True
            self._empty_reads = 0
            return frame
        if self._had_frame:
            raise CameraDisconnected(f"{self.describe()}: stopped delivering frames")
        if self._path is not None:
            raise CameraSourceInvalid(f"{self.describe()}: no readable frame in the file")
        self._empty_reads += 1
        if self._empty_reads >= self.MAX_EMPTY_READS_BEFORE_FIRST_FRAME:
            raise NoCameraFound(f"{self.describe()}: opened but delivers no frames")
        return None

    def _grab(self) -> np.ndarray | None:
        assert self._cap is not None
        try:
            ok, frame = self._cap.read()
        except cv2.error as err:
            log.warning("%s: read failed: %s", self.describe(), err)
            return None
        if not ok or frame is None or frame.size == 0:
            return None
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

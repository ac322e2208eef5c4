"""Camera sources: a real camera, video file or stream (``opencv``), a folder of images (``folder``), a
built-in demo (``demo``), a fake for tests (``fake``); ``factory.open_camera`` picks one from a spec.

Every source gives BGR ``uint8`` frames through the same small protocol. ``read`` never blocks for long on
the paced sources: it returns ``None`` when no new frame is due yet, and raises a ``CameraError`` subclass
when the source is gone or unusable. Decoded texts are never logged here (they may hold personal data).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

Frame = np.ndarray  # BGR uint8, shape (height, width, 3)

Clock = Callable[[], float]

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pnm"}
)
URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "file")


class CameraError(Exception):
    """A camera source failed; the message says which source and why (never frame contents)."""


class NoCameraFound(CameraError):
    """The device, file or stream could not be opened, or it never delivered a frame."""


class CameraDisconnected(CameraError):
    """The source delivered frames, then stopped (cable pulled, stream dropped)."""


class CameraSourceInvalid(CameraError):
    """The source spec or its content is unusable (unknown spec, folder without a readable image, …)."""


@runtime_checkable
class Camera(Protocol):
    fps: float

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None:
        """The next frame, or ``None`` when no new frame is available right now."""
        ...

    def close(self) -> None: ...

    def describe(self) -> str: ...


class Pacer:
    """Lets a frame through at most every ``1 / fps`` s of a monotonic clock, without bursts after a stall."""

    def __init__(self, fps: float, clock: Clock) -> None:
        if not fps > 0:
            raise ValueError("fps must be positive")
        self.period = 1.0 / fps
        self.clock = clock
        self.next_due: float | None = None

    def reset(self) -> None:
        self.next_due = None

    def due(self) -> bool:
        now = self.clock()
        if self.next_due is not None and now < self.next_due:
            return False
        if self.next_due is None or now - self.next_due > self.period:
            self.next_due = now + self.period  # first frame, or we fell behind: restart the beat from now
        else:
            self.next_due += self.period
        return True

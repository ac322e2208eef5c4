"""A camera for tests: a list of frames, optionally looped, optionally failing after N."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from devices.camera import CameraDisconnected, CameraError


class FakeCamera:
    """For tests: returns ``frames`` in order, then ``None`` (or starts again with ``loop``); with
    ``fail_after=N`` it raises ``CameraDisconnected`` once N frames have been served."""

    def __init__(
        self,
        frames: Sequence[np.ndarray],
        loop: bool = False,
        fail_after: int | None = None,
        fps: float = 30.0,
    ) -> None:
        self.frames = list(frames)
        self.loop = loop
        self.fail_after = fail_after
        self.fps = fps
        self.served = 0
        self.is_open = False
        self._index = 0

    def describe(self) -> str:
        return f"fake camera ({len(self.frames)} frames)"

    def open(self) -> None:
        self.is_open = True
        self._index = 0
        self.served = 0

    def read(self) -> np.ndarray | None:
        if not self.is_open:
            raise CameraError(f"{self.describe()}: read() before open()")
        if self.fail_after is not None and self.served >= self.fail_after:
            raise CameraDisconnected(f"{self.describe()}: disconnected after {self.served} frames")
        if self._index >= len(self.frames):
            if not self.loop or not self.frames:
                return None
            self._index = 0
        frame = self.frames[self._index]
        self._index += 1
        self.served += 1
        return frame

    def close(self) -> None:
        self.is_open = False

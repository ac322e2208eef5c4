"""A folder of images served as a camera (replaying photos taken on site)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from devices.camera import IMAGE_SUFFIXES, CameraDisconnected, CameraError, CameraSourceInvalid, Clock, Pacer
from devices.image_file import UnreadableImage, read_image

log = logging.getLogger(__name__)


class ImageFolderCamera:
    """Serves the images of a folder in name order at ``fps``; unreadable files are skipped with a warning."""

    def __init__(
        self, folder: str | Path, fps: float = 10.0, loop: bool = True, clock: Clock = time.monotonic
    ):
        self.folder = Path(folder)
        self.fps = float(fps)
        self.loop = loop
        self._pacer = Pacer(self.fps, clock)
        self._files: list[Path] = []
        self._bad: set[Path] = set()
        self._index = 0
        self._opened = False

    def describe(self) -> str:
        return f"image folder {self.folder.name or self.folder} ({len(self._files)} files)"

    def open(self) -> None:
        if not self.folder.is_dir():
            raise CameraSourceInvalid(f"image folder {self.folder}: not a folder")
        self._files = sorted(
            (p for p in self.folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: p.name,
        )
        self._bad.clear()
        self._index = 0
        self._pacer.reset()
        if not any(self._load(p) is not None for p in self._files):
            raise CameraSourceInvalid(f"image folder {self.folder}: no readable image")
        self._opened = True
        log.info("opened %s at %.1f fps", self.describe(), self.fps)

    def _load(self, path: Path) -> np.ndarray | None:
        if path in self._bad:
            return None
        try:
            return read_image(path)
        except UnreadableImage as err:
            self._bad.add(path)
            log.warning("skipping image %s: %s", path.name, err)
            return None

    def read(self) -> np.ndarray | None:
        if not self._opened:
            raise CameraError(f"{self.describe()}: read() before open()")
        if not self._pacer.due():
            return None
        for _ in range(len(self._files)):
            if self._index >= len(self._files):
                if not self.loop:
                    return None
                self._index = 0
            path = self._files[self._index]
            self._index += 1
            image = self._load(path)
            if image is not None:
                return image
        if len(self._bad) == len(self._files):
            raise CameraDisconnected(f"{self.describe()}: no readable image left")
        return None

    def close(self) -> None:
        self._opened = False

"""Camera sources: a real camera, video file or stream (OpenCV), a folder of images, a built-in demo, a fake.

Every source gives BGR ``uint8`` frames through the same small protocol. ``read`` never blocks for long on
the paced sources: it returns ``None`` when no new frame is due yet, and raises a ``CameraError`` subclass
when the source is gone or unusable. Decoded texts are never logged here (they may hold personal data).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit, urlunsplit

import cv2
import numpy as np
import segno

from devices.image_file import UnreadableImage, read_image
from kiosk.idnumber import check_digit

log = logging.getLogger(__name__)

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


class _Pacer:
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


class ImageFolderCamera:
    """Serves the images of a folder in name order at ``fps``; unreadable files are skipped with a warning."""

    def __init__(
        self, folder: str | Path, fps: float = 10.0, loop: bool = True, clock: Clock = time.monotonic
    ):
        self.folder = Path(folder)
        self.fps = float(fps)
        self.loop = loop
        self._pacer = _Pacer(self.fps, clock)
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


# --- the built-in demo source ------------------------------------------------------------------------------


def demo_id_number() -> str:
    """A fictitious but well-formed resident ID number (valid check digit)."""
    first17 = "11010519491231002"
    return first17 + check_digit(first17)


DEMO_TEXTS: tuple[str, ...] = (demo_id_number(), "https://example.gov.cn/health?id=demo", "TICKET-0001")


def qr_module_image(text: str, module_px: int = 8, border: int = 4, error: str = "m") -> np.ndarray:
    """The QR code of ``text`` as a grey ``uint8`` image: black modules on white, ``border`` quiet modules."""
    matrix = np.array(segno.make(text, error=error, micro=False).matrix, dtype=np.uint8)
    matrix = np.pad(matrix, border)
    image = np.where(matrix > 0, 0, 255).astype(np.uint8)
    return cv2.resize(image, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)


def desk_background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A desk-like BGR scene: lit gradient, low-frequency texture, a few objects and printed lines."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    light = 95 + 70 * xs + 35 * ys - 40 * ((xs - 0.6) ** 2 + (ys - 0.4) ** 2)
    tint = np.array([0.78, 0.90, 1.0], dtype=np.float32)  # warm, wood-ish
    coarse = rng.normal(0, 14, (max(height // 24, 2), max(width // 24, 2))).astype(np.float32)
    texture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = cv2.resize(
        rng.normal(0, 8, (height, max(width // 40, 2))).astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_LINEAR,
    )
    scene = (light + texture + grain)[..., None] * tint
    image = np.clip(scene, 0, 255).astype(np.uint8)
    for _ in range(6):  # papers, a keyboard-ish block, a mug
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(width // 12, width // 4)), int(rng.integers(height // 12, height // 4))
        colour = tuple(int(c) for c in rng.integers(30, 240, 3))
        cv2.rectangle(image, (x, y), (x + w, y + h), colour, -1)
        for line in range(6):  # "printed" lines on it
            ly = y + 12 + line * max(h // 8, 10)
            if ly < y + h - 5:
                cv2.putText(
                    image, "Lorem ipsum 0123", (x + 8, ly), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (40, 40, 40), 1
                )
    cv2.circle(image, (int(width * 0.85), int(height * 0.75)), height // 10, (60, 70, 150), -1)
    return image


def paste_code(
    frame: np.ndarray,
    code: np.ndarray,
    center: tuple[float, float],
    size: float,
    angle_deg: float = 0.0,
    tilt: float = 0.0,
) -> np.ndarray:
    """A new BGR frame: ``frame`` with the grey ``code`` image warped onto it, ``size`` px wide, rotated by
    ``angle_deg``; ``tilt`` in [-0.4, 0.4] foreshortens one side (perspective)."""
    h, w = code.shape[:2]
    half_w = size / 2.0
    half_h = half_w * h / w
    squeeze = 1.0 - abs(tilt)
    near, far = half_h, half_h * squeeze  # half-heights of the near and far edges
    left, right = (far, near) if tilt > 0 else (near, far)
    local = np.array([[-half_w, -left], [half_w, -right], [half_w, right], [-half_w, left]], dtype=np.float32)
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=np.float32)
    dst = local @ rot.T + np.array(center, dtype=np.float32)
    # Warp only into the bounding box of the destination quad: much cheaper than the whole frame.
    x0, y0 = np.floor(dst.min(axis=0)).astype(int)
    x1, y1 = np.ceil(dst.max(axis=0)).astype(int) + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, frame.shape[1]), min(y1, frame.shape[0])
    out = frame.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst - np.array([x0, y0], dtype=np.float32))
    box = (x1 - x0, y1 - y0)
    warped = cv2.warpPerspective(code, matrix, box, flags=cv2.INTER_LINEAR, borderValue=0)
    mask = cv2.warpPerspective(np.full_like(code, 255), matrix, box, flags=cv2.INTER_LINEAR, borderValue=0)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    region = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = (region * (1 - alpha) + warped[..., None].astype(np.float32) * alpha).astype(np.uint8)
    return out


class DemoCamera:
    """A built-in source for machines without a camera: a desk with a phone-held QR code drifting in view.

    It cycles through ``texts``, showing each for ``seconds_per_code`` and then about a second of empty desk,
    and adds a little blur and sensor noise so the frames behave like a camera's.
    """

    GAP_SECONDS = 1.0

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        fps: float = 15.0,
        texts: Sequence[str] | None = None,
        seconds_per_code: float = 4.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.width = width
        self.height = height
        self.fps = float(fps)
        self.texts = tuple(texts) if texts else DEMO_TEXTS
        self.seconds_per_code = float(seconds_per_code)
        self._clock = clock
        self._pacer = _Pacer(self.fps, clock)
        self._t0: float | None = None
        self._background: np.ndarray | None = None
        self._codes: list[np.ndarray] = []
        self._noise: list[np.ndarray] = []
        self._frame_no = 0

    def describe(self) -> str:
        return f"demo camera {self.width}x{self.height} ({len(self.texts)} sample codes)"

    def open(self) -> None:
        self._background = desk_background(self.width, self.height, seed=7)
        self._codes = [qr_module_image(text, module_px=6) for text in self.texts]
        rng = np.random.default_rng(11)
        self._noise = [
            rng.normal(0, 4.0, (self.height, self.width, 1)).astype(np.int16) for _ in range(4)
        ]  # precomputed: fresh noise every frame would cost more than the rest of the rendering
        self._t0 = self._clock()
        self._pacer.reset()
        self._frame_no = 0
        log.info("opened %s", self.describe())

    def read(self) -> np.ndarray | None:
        if self._t0 is None:
            raise CameraError(f"{self.describe()}: read() before open()")
        if not self._pacer.due():
            return None
        return self.frame_at(self._clock() - self._t0)

    def code_index_at(self, t: float) -> int | None:
        """Which sample text is in view ``t`` seconds after opening, or ``None`` during a gap."""
        cycle = self.seconds_per_code + self.GAP_SECONDS
        phase = t % cycle
        if phase >= self.seconds_per_code:
            return None
        return int(t // cycle) % len(self.texts)

    def frame_at(self, t: float) -> np.ndarray:
        """The frame the demo shows ``t`` seconds after opening (deterministic apart from the noise)."""
        if self._background is None:
            raise CameraError(f"{self.describe()}: frame_at() before open()")
        frame = self._background
        index = self.code_index_at(t)
        if index is not None:
            frame = self._with_phone(frame, self._codes[index], t)
        frame = cv2.GaussianBlur(frame, (0, 0), 0.9)
        noise = self._noise[self._frame_no % len(self._noise)]
        self._frame_no += 1
        return np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)

    def _with_phone(self, frame: np.ndarray, code: np.ndarray, t: float) -> np.ndarray:
        size = 0.42 * self.height * (1.0 + 0.05 * math.sin(t * 1.3))
        cx = self.width * (0.5 + 0.06 * math.sin(t * 0.9))
        cy = self.height * (0.5 + 0.05 * math.sin(t * 1.7 + 1.0))
        angle = 8.0 * math.sin(t * 0.7)
        tilt = 0.08 * math.sin(t * 0.5)
        phone = np.full((int(code.shape[0] * 1.9), int(code.shape[1] * 1.15)), 25, dtype=np.uint8)
        top = (phone.shape[0] - code.shape[0]) // 2
        left = (phone.shape[1] - code.shape[1]) // 2
        cv2.rectangle(
            phone, (left - 8, top - 60), (left + code.shape[1] + 8, top + code.shape[0] + 60), 245, -1
        )
        phone[top : top + code.shape[0], left : left + code.shape[1]] = code
        scale = size / code.shape[1]
        return paste_code(frame, phone, (cx, cy), phone.shape[1] * scale, angle, tilt)

    def close(self) -> None:
        self._t0 = None


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


_URL_RE = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


def open_camera(spec: str) -> Camera:
    """The camera source for a command-line / config spec (not yet opened).

    ``demo`` → the built-in demo; digits → a camera device index; an existing folder → its images; an existing
    file → a video file; ``rtsp://``, ``http(s)://``, ``file://`` … → a stream or file URL.
    """
    text = spec.strip()
    if not text:
        raise CameraSourceInvalid(
            "empty camera spec; use 'demo', a device index, a folder, a video file or a URL"
        )
    if text.lower() == "demo":
        return DemoCamera()
    if text.isdigit():
        return OpenCvCamera(int(text))
    match = _URL_RE.match(text)
    if match:
        if match.group(1).lower() not in URL_SCHEMES:
            raise CameraSourceInvalid(
                f"unsupported URL scheme {match.group(1)!r} in camera spec; "
                f"use one of {', '.join(URL_SCHEMES)}"
            )
        return OpenCvCamera(text)
    path = Path(text).expanduser()
    if path.is_dir():
        return ImageFolderCamera(path)
    if path.is_file():
        return OpenCvCamera(str(path))
    raise CameraSourceInvalid(
        f"camera spec {spec!r} is neither 'demo', a device index, an existing folder or video file, nor a URL"
    )

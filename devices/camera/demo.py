"""The built-in demo source, for machines with no camera: sample codes drawn on a desk scene, moving.

The drawing helpers are shared with the synthetic frames of tests and benches."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

import cv2
import numpy as np
import segno

from devices.camera import CameraError, Clock, Pacer
from kiosk.idnumber import check_digit

log = logging.getLogger(__name__)


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
        self._pacer = Pacer(self.fps, clock)
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

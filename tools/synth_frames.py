"""Camera-like frames with QR codes, for tests, screenshots and benchmarks (no camera needed).

Codes are made with segno and warped onto a desk scene with OpenCV: rotated, tilted, small or blurred.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from devices.camera.demo import desk_background, paste_code, qr_module_image
from kiosk.idnumber import check_digit


def valid_id_number(first17: str = "11010519491231002") -> str:
    return first17 + check_digit(first17)


def wrong_check_digit(first17: str = "11010519491231002") -> str:
    good = check_digit(first17)
    return first17 + ("0" if good != "0" else "1")


@dataclass(frozen=True)
class Pose:
    """Where and how the code sits in the frame. ``size`` is a fraction of the frame height."""

    size: float = 0.45
    angle_deg: float = 0.0
    tilt: float = 0.0
    blur_sigma: float = 0.0
    center: tuple[float, float] = (0.5, 0.5)


POSES = {
    "rotated": Pose(size=0.45, angle_deg=27.0),
    "tilted": Pose(size=0.5, angle_deg=-6.0, tilt=0.3),
    "small": Pose(size=0.2, center=(0.42, 0.55)),
    "blurred": Pose(size=0.45, angle_deg=4.0, blur_sigma=1.6),
}


def scene(width: int = 1280, height: int = 720, seed: int = 3) -> np.ndarray:
    return desk_background(width, height, seed=seed)


def code_frame(
    text: str, pose: Pose = Pose(), width: int = 1280, height: int = 720, background: np.ndarray | None = None
) -> np.ndarray:
    """A BGR frame of ``width`` x ``height`` showing the QR code of ``text`` in ``pose``."""
    base = scene(width, height) if background is None else background
    code = qr_module_image(text, module_px=8)
    frame = paste_code(
        base,
        code,
        (pose.center[0] * width, pose.center[1] * height),
        pose.size * height,
        pose.angle_deg,
        pose.tilt,
    )
    if pose.blur_sigma > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), pose.blur_sigma)
    return frame

"""Reading still images from files, for `kiosk scan` and the image-folder camera."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


class UnreadableImage(ValueError):
    """The file is missing, unreadable, or not an image; the message says which in plain words."""


def read_image(path: Path) -> np.ndarray:
    """Read any image file OpenCV knows (PNG, JPEG, WebP, …) as BGR, whatever characters its name has."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise UnreadableImage(f"cannot read file: {err.strerror or err}") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise UnreadableImage("not a readable image")
    return image

"""Picture-quality checks on a rectified card, the offline counterpart of a cloud ID-OCR service's warnings.

All work on the ``RECT_W × RECT_H`` card from ``devices.card_finder.rectify``, so thresholds do not depend on
how far the card was from the camera.
"""

from __future__ import annotations

import cv2
import numpy as np

BLUR_WARN_BELOW = 3.0  # quality score; below it reading fails on the synthetic set (docs/benchmarks-ocr.md)
GLARE_MIN_AREA = 0.004  # share of the card washed out to white in one patch
# Share of the card whose colour stands apart from the card's own median colour (by PHOTOCOPY_CHROMA in
# the a*b* plane, after smoothing away sensor noise): a real card's blue labels and photo give 6 % or more
# even faded and pale (the least of 30 hard colour fronts in seven typefaces: 5.8 %); a black-and-white
# copy gives under 0.1 % (seed 7 of tools/idcard_synth.py, docs/benchmarks.md).
PHOTOCOPY_MAX_COLOUR = 0.01
PHOTOCOPY_CHROMA = 4.0  # a*b* units
PHOTOCOPY_SMOOTH = 2.0  # Gaussian σ, rectified-card px: JPEG and sensor chroma noise is finer than print
INCOMPLETE_FILL = 0.93


def sharpness(card: np.ndarray) -> float:
    """0..100: the variance of the Laplacian of the card, scaled so a crisp card scores about 100."""
    grey = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)
    # 16-bit holds the Laplacian of 8-bit pixels exactly, and OpenCV's own variance is a fifth of the time
    # of converting to float64 for NumPy's (the same value).
    _, std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_16S))
    return min(100.0, float(std[0, 0]) ** 2 / 6.0)


def has_glare(card: np.ndarray) -> bool:
    """A patch blown out to white: specular reflection from the laminate hides the print beneath it."""
    hsv = cv2.cvtColor(card, cv2.COLOR_BGR2HSV)
    blown = ((hsv[..., 2] >= 248) & (hsv[..., 1] < 30)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(blown)
    largest = max((stats[i, cv2.CC_STAT_AREA] for i in range(1, count)), default=0)
    return largest / blown.size >= GLARE_MIN_AREA


def colour_share(card: np.ndarray) -> float:
    """Share of the card whose hue differs from the card's median colour. Measured against the median, not
    against grey, so the colour of the light (a warm lamp over a grey copy) is not taken for print, and
    faded labels under dim light still count (a saturation threshold lost them: 29 % of hard fronts)."""
    lab = cv2.cvtColor(card, cv2.COLOR_BGR2LAB).astype(np.float32)
    a = cv2.GaussianBlur(lab[..., 1], (0, 0), PHOTOCOPY_SMOOTH)
    b = cv2.GaussianBlur(lab[..., 2], (0, 0), PHOTOCOPY_SMOOTH)
    chroma = np.hypot(a - np.median(a), b - np.median(b))
    return float((chroma > PHOTOCOPY_CHROMA).mean())


def is_photocopy(card: np.ndarray) -> bool:
    """Black-and-white copy: almost nothing on the card differs in colour (real cards have blue labels and
    a colour photo)."""
    return colour_share(card) < PHOTOCOPY_MAX_COLOUR

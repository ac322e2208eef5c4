"""Picture-quality checks on a rectified card, the offline counterpart of a cloud ID-OCR service's warnings.

All work on the ``RECT_W × RECT_H`` card from ``devices.card_finder.rectify``, so thresholds do not depend on
how far the card was from the camera.
"""

from __future__ import annotations

import cv2
import numpy as np

BLUR_WARN_BELOW = 3.0  # quality score; below it reading fails on the synthetic set (docs/benchmarks-ocr.md)
GLARE_MIN_AREA = 0.004  # share of the card washed out to white in one patch
PHOTOCOPY_MAX_COLOUR = 0.004  # share of clearly coloured pixels: a real card has blue print and a photo
INCOMPLETE_FILL = 0.93


def sharpness(card: np.ndarray) -> float:
    """0..100: the variance of the Laplacian of the card, scaled so a crisp card scores about 100."""
    grey = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)
    variance = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return min(100.0, variance / 6.0)


def has_glare(card: np.ndarray) -> bool:
    """A patch blown out to white: specular reflection from the laminate hides the print beneath it."""
    hsv = cv2.cvtColor(card, cv2.COLOR_BGR2HSV)
    blown = ((hsv[..., 2] >= 248) & (hsv[..., 1] < 30)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(blown)
    largest = max((stats[i, cv2.CC_STAT_AREA] for i in range(1, count)), default=0)
    return largest / blown.size >= GLARE_MIN_AREA


def is_photocopy(card: np.ndarray) -> bool:
    """Black-and-white copy: almost no coloured pixels left (real cards have blue labels and a photo)."""
    hsv = cv2.cvtColor(card, cv2.COLOR_BGR2HSV)
    coloured = (hsv[..., 1] > 60) & (hsv[..., 2] > 60)
    return float(coloured.mean()) < PHOTOCOPY_MAX_COLOUR

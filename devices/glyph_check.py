"""Checking a recogniser's candidate characters against the shapes they take in print.

PP-OCR's mobile recognisers learnt from text where 库 is common and 厍 rare, so on a blurred name they read
the common look-alike even when the rare character's own shape is on the card (厍→库, 䶮→美, 赟→赞). Their
next guesses (the top twenty) usually hold the right one. Here each guess is drawn in a CJK typeface, blurred
like the crop, laid over the ink of its character cell and compared (normalised cross-correlation): the
shape that explains the ink better earns evidence in its favour, measured against how well the first
guess explains it. The recogniser still proposes every character; this only re-ranks its proposals.

The default typeface is Noto Sans CJK SC, deliberately not the one the project's synthetic cards are
printed in, so the benchmark measures shape evidence rather than a copy of the renderer; a deployment may
point ``KIOSK_NAME_TYPEFACE`` at the typeface its cards use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kiosk.paths import ASSETS_DIR

NAME_TYPEFACE = ASSETS_DIR / "fonts" / "NotoSansCJKsc-Regular-names.otf"
GLYPH_PX = 96  # drawn this large once, then shrunk to each ~30 px cell; at 64 px 8 more names of 800 fail
GLYPH_CACHE = 2048  # glyphs kept (uint8, about 8 kB each): the usual guesses stay drawn
# How a glyph may look on the photo: stroke weight (dilation, crop px: regular to bold print) and blur
# (Gaussian σ, crop px; a hard-level photo spans about 0.7–2.5). Both belong to the photo, not to the
# character, so evidence() fixes them for the whole line before judging the guesses.
LOOKS = tuple((stroke, blur) for stroke in (1, 2, 3) for blur in (0.7, 1.2, 1.8, 2.6))
MAX_SHIFT = 1  # the cell's ink box is found on a blurred, thresholded crop: allow a pixel either way
CELL_PAD = 3
# Nats of evidence per unit of "residual ink unexplained by this glyph, relative to the crop's typical
# residual": tuned on seed 7 of the synthetic set (tools/idcard_synth.py), checked on seeds 2024, 99, 31.
WEIGHT = 12.0
MIN_NOISE = 1e-3


def is_ideograph(ch: str) -> bool:
    """A CJK ideograph (basic block, extension A, compatibility, or beyond the BMP), as names are written."""
    return len(ch) == 1 and ("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch >= "\U00020000")


class GlyphChecker:
    """Evidence for and against the recogniser's alternatives at each character of a one-line crop."""

    def __init__(self, typeface: Path | None = None) -> None:
        configured = os.environ.get("KIOSK_NAME_TYPEFACE")
        self.typeface = typeface or (Path(configured) if configured else NAME_TYPEFACE)
        self._font: ImageFont.FreeTypeFont | None = None
        self._missing: np.ndarray | None = None
        self._glyph = lru_cache(maxsize=GLYPH_CACHE)(self._draw)

    def _draw(self, ch: str) -> np.ndarray | None:
        """``ch``'s ink cropped to its box, 0..255; ``None`` when the typeface has no glyph for it."""
        if self._font is None:
            self._font = ImageFont.truetype(str(self.typeface), GLYPH_PX)
            self._missing = self._render("\ue000")  # a private-use point: what "no glyph" looks like
        ink = self._render(ch)
        if ink is None or (self._missing is not None and _same(ink, self._missing)):
            return None
        return ink

    def _render(self, ch: str) -> np.ndarray | None:
        assert self._font is not None
        size = int(GLYPH_PX * 1.6)
        image = Image.new("L", (size, size), 0)
        ImageDraw.Draw(image).text((GLYPH_PX * 0.3, GLYPH_PX * 0.3), ch, font=self._font, fill=255)
        ink = np.asarray(image)
        ys, xs = np.nonzero(ink > 76)
        if len(xs) == 0:
            return None
        return ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].copy()

    def evidence(self, crop: np.ndarray, options: Sequence[Sequence[str]]) -> list[dict[str, float]] | None:
        """For a BGR ``crop`` of one line of CJK characters spaced evenly (a name on the card) and, per
        character, the recogniser's guesses (its reading first): the log-evidence in nats of each guess
        against the reading, > 0 when its shape fits the ink better. Guesses the typeface cannot draw are
        left out (no evidence either way). ``None`` when the crop cannot be split into that many cells or a
        reading is not an ideograph (a ·, a Latin letter: not evenly spaced)."""
        if not options or any(not opts or not is_ideograph(opts[0]) for opts in options):
            return None
        ink = _ink(crop)
        boxes = _cells(ink, len(options))
        if boxes is None:
            return None
        fits = [
            {ch: f for ch in dict.fromkeys(opts) if (f := self._fit(ink, box, ch)) is not None}
            for box, opts in zip(boxes, options, strict=True)
        ]
        if any(opts[0] not in fit for fit, opts in zip(fits, options, strict=True)):
            return None
        # Stroke weight and blur are the photo's, not the guess's: fix them where the line is best
        # explained (each cell by its best-fitting guess, so a misreading does not choose the look), and a
        # guess with more strokes cannot hide them in a heavier blur than the rest of the line shows.
        look = int(np.argmax(sum(np.max(list(fit.values()), axis=0) for fit in fits)))
        unexplained = [1 - fit[opts[0]][look] ** 2 for fit, opts in zip(fits, options, strict=True)]
        noise = max(float(np.mean(unexplained)), MIN_NOISE)
        return [
            {ch: WEIGHT * (base - (1 - f[look] ** 2)) / noise for ch, f in fit.items()}
            for fit, base in zip(fits, unexplained, strict=True)
        ]

    def _fit(self, ink: np.ndarray, box: tuple[int, int, int, int], ch: str) -> np.ndarray | None:
        """How well ``ch`` drawn into ``box`` explains the ink around it: for each of ``LOOKS`` (stroke
        weight, blur), the best correlation over one-pixel shifts."""
        glyph = self._glyph(ch) if is_ideograph(ch) else None
        if glyph is None:
            return None
        top, bottom, left, right = box
        y0, x0 = max(top - CELL_PAD, 0), max(left - CELL_PAD, 0)
        region = ink[y0 : bottom + CELL_PAD, x0 : right + CELL_PAD]
        shape = (
            cv2.resize(glyph, (right - left, bottom - top), interpolation=cv2.INTER_AREA).astype(np.float32)
            / 255
        )
        height, width = region.shape
        oy, ox = top - y0 + MAX_SHIFT, left - x0 + MAX_SHIFT
        out = np.empty(len(LOOKS))
        drawn: dict[int, np.ndarray] = {}  # per stroke weight: each is drawn once for its several blurs
        for i, (stroke, blur) in enumerate(LOOKS):
            if stroke not in drawn:
                glyph_ink = shape if stroke == 1 else cv2.dilate(shape, np.ones((stroke, stroke), np.uint8))
                canvas = np.zeros((height + 2 * MAX_SHIFT, width + 2 * MAX_SHIFT), np.float32)
                canvas[oy : oy + glyph_ink.shape[0], ox : ox + glyph_ink.shape[1]] = glyph_ink
                drawn[stroke] = canvas
            blurred = cv2.GaussianBlur(drawn[stroke], (0, 0), blur)
            # Correlation of the ink with the drawn glyph at every shift of up to MAX_SHIFT pixels at once.
            out[i] = float(cv2.matchTemplate(blurred, region, cv2.TM_CCOEFF_NORMED).max())
        return out


def _ink(crop: np.ndarray) -> np.ndarray:
    """0 (paper) .. 1 (ink), stretched between the darkest strokes and the paper (uneven light and the
    card's pattern sit above the 90th percentile of a name crop, which is mostly paper)."""
    gray = (cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop).astype(np.float32)
    dark, paper = np.percentile(gray, 2), np.percentile(gray, 90)
    return np.clip((paper - gray) / max(float(paper - dark), 1.0), 0, 1)


def _cells(ink: np.ndarray, count: int) -> list[tuple[int, int, int, int]] | None:
    """(top, bottom, left, right) of each character's ink: the line's ink split into ``count`` equal
    columns (a name is printed at a fixed pitch), each then shrunk to the ink inside it."""
    solid = ink > 0.5
    rows = np.nonzero(solid.sum(axis=1) > 0.02 * solid.shape[1])[0]
    cols = np.nonzero(solid.sum(axis=0) > 0)[0]
    if len(rows) == 0 or len(cols) == 0:
        return None
    y0, y1, x0, x1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    pitch = (x1 - x0) / count
    if pitch < 4:
        return None
    boxes = []
    for i in range(count):
        a, b = round(x0 + i * pitch), round(x0 + (i + 1) * pitch)
        ys, xs = np.nonzero(solid[y0:y1, a:b])
        if len(xs) == 0:
            return None
        boxes.append((y0 + int(ys.min()), y0 + int(ys.max()) + 1, a + int(xs.min()), a + int(xs.max()) + 1))
    return boxes


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))

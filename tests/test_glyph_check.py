"""The shape check on drawn names: it must favour the character whose shape is on the crop, either way.

The names are drawn in Droid Sans Fallback (the app's font, and the synthetic cards'), while the checker
draws its guesses in its own typeface: the evidence has to come from shape, not from identical pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from devices.glyph_check import GlyphChecker
from kiosk.paths import FONT_PATH


@pytest.fixture(scope="module")
def checker() -> GlyphChecker:
    return GlyphChecker()


def _name_crop(text: str, blur: float, seed: int = 0) -> np.ndarray:
    """``text`` as a name crop of a photographed card: 28 px glyphs, blurred, noisy, on light grey."""
    font = ImageFont.truetype(str(FONT_PATH), 28)
    image = Image.new("L", (20 + 31 * len(text), 52), 228)
    draw = ImageDraw.Draw(image)
    for i, ch in enumerate(text):
        draw.text((10 + 31 * i, 10), ch, font=font, fill=40)
    gray = cv2.GaussianBlur(np.asarray(image, np.float32), (0, 0), blur)
    gray += np.random.default_rng(seed).normal(0, 5, gray.shape)
    return cv2.cvtColor(np.clip(gray, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize(
    ("printed", "reading", "guess"),
    [
        ("厍宇", "库宇", "厍"),  # a rare surname read as its common look-alike
        ("库宇", "厍宇", "库"),  # and the other way round: the check has no taste for rare characters
        ("郑䶮", "郑美", "䶮"),
        ("闫金赟", "闫金赞", "赟"),
    ],
)
def test_the_printed_shape_wins_against_its_look_alike(
    checker: GlyphChecker, printed: str, reading: str, guess: str
) -> None:
    at = next(i for i, (p, r) in enumerate(zip(printed, reading, strict=True)) if p != r)
    options = [[ch] for ch in reading]
    options[at] = [reading[at], guess]
    for blur in (0.8, 1.6):
        evidence = checker.evidence(_name_crop(printed, blur), options)
        assert evidence is not None and len(evidence) == len(printed)
        assert evidence[at][guess] > 1.0, (blur, evidence[at])
        assert evidence[at][reading[at]] == 0.0  # the reading is the reference


def test_the_reading_that_is_printed_keeps_its_place(checker: GlyphChecker) -> None:
    evidence = checker.evidence(_name_crop("王雨静", 1.2), [["王", "玉"], ["雨", "南", "两"], ["静", "靜"]])
    assert evidence is not None
    assert evidence[0]["玉"] < 0 and evidence[1]["南"] < 0 and evidence[1]["两"] < 0


def test_no_verdict_where_the_crop_or_the_reading_does_not_allow_one(checker: GlyphChecker) -> None:
    blank = np.full((52, 100, 3), 228, np.uint8)
    assert checker.evidence(blank, [["王"], ["芳"]]) is None  # no ink to split
    assert checker.evidence(_name_crop("王芳", 1.0), []) is None
    assert checker.evidence(_name_crop("王芳", 1.0), [["王"], ["·"]]) is None  # not evenly spaced ideographs
    # A guess the typeface cannot draw gets no evidence either way rather than a penalty.
    evidence = checker.evidence(_name_crop("王芳", 1.0), [["王", "\U0002a6d6"], ["芳"]])
    assert evidence is not None and "\U0002a6d6" not in evidence[0]

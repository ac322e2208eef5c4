"""The grid stage of the QR cascade (``devices.qr_grid``): symbols zxing-cpp locates but cannot decode,
re-sampled on a refitted grid and, when their format information is damaged, read with each of the 32
format words. Each test builds a code only this stage reads."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import segno

from devices.qr import CascadeDecoder, ZxingDecoder
from devices.qr_grid import format_cells, read_grid, symbol_size

URL_TEXT = "https://example.gov.cn/health?id=demo"
MODULE_PX = 8


def _matrix(text: str = URL_TEXT) -> np.ndarray:
    return np.array(segno.make(text, error="m", micro=False).matrix, dtype=np.uint8)


def _frame(matrix: np.ndarray, inverted: bool = False, angle: float = 12.0) -> np.ndarray:
    """The code at 8 px a module in a 1080p grey frame, turned by ``angle`` degrees, mild blur and noise."""
    code = np.where(np.pad(matrix, 4) > 0, 0, 255).astype(np.uint8)
    if inverted:
        code = 255 - code
    code = cv2.resize(code, None, fx=MODULE_PX, fy=MODULE_PX, interpolation=cv2.INTER_NEAREST)
    frame = np.full((1080, 1920), 255 if inverted else 200, np.uint8)
    y, x = 300, 800
    frame[y : y + code.shape[0], x : x + code.shape[1]] = code
    turn = cv2.getRotationMatrix2D((x + code.shape[1] / 2, y + code.shape[0] / 2), angle, 1.0)
    frame = cv2.warpAffine(frame, turn, (1920, 1080), borderValue=200)
    frame = cv2.GaussianBlur(frame, (0, 0), 0.8)
    noise = np.random.default_rng(3).normal(0, 3, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def _unbudgeted() -> CascadeDecoder:
    """The cascade without the grid stages' CPU budget: a loaded test machine's CPU seconds go further than a
    quiet kiosk's, and what is tested here is what the stages read (tests/test_qr_finders.py tests the
    budget)."""
    return CascadeDecoder(stages=CascadeDecoder.default_stages(budget_s=None))


def _damaged_format(matrix: np.ndarray) -> np.ndarray:
    """Both copies of the format information with 5 of their 15 bits flipped: more than the 3 the
    format code's BCH check corrects, so the error level and mask cannot be read from the symbol."""
    damaged = matrix.copy()
    for cells in format_cells(matrix.shape[0]):
        for r, c in cells[::3]:
            damaged[r, c] ^= 1
    return damaged


@pytest.mark.parametrize("inverted", [False, True])
def test_grid_stage_reads_a_code_whose_format_information_is_damaged(inverted: bool) -> None:
    frame = _frame(_damaged_format(_matrix()), inverted=inverted)
    assert ZxingDecoder().decode(frame) == []
    assert CascadeDecoder(stages=CascadeDecoder.default_stages(grid=False, finders=False)).decode(frame) == []
    cascade = _unbudgeted()
    found = cascade.decode(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    assert [s.text for s in found] == [URL_TEXT] and cascade.last_stage == "zxing-grid"
    xs = [x for x, _ in found[0].corners]
    assert min(xs) >= 780 and max(xs) <= 1130  # where the code is, in frame pixels


def test_the_32_format_words_are_what_reads_the_damaged_code() -> None:
    frame = _frame(_damaged_format(_matrix()))
    located = ZxingDecoder().decode_located(frame)[2]
    assert located and located[0][1] == _matrix().shape[0]
    corners, size = located[0]
    assert read_grid(frame, corners, size, try_formats=False) is None
    assert read_grid(frame, corners, size) == URL_TEXT


def test_refit_grid_reads_a_symbol_whose_corners_are_placed_off() -> None:
    """Corners 1.5 modules off (as zxing-cpp places them on a bent or partly hidden code): sampling
    through them misses the modules; the grid refitted to the finder and alignment patterns found in the
    rectified picture reads the code."""
    matrix = _matrix(
        "HC1:" + "6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK G2EP4J0B3KL6QM5/OVGA/MAT%ZSGV"
    )
    frame = _frame(matrix, angle=0.0)
    size = matrix.shape[0]
    left, top = 800 + 4 * MODULE_PX, 300 + 4 * MODULE_PX
    side = size * MODULE_PX
    off = 1.5 * MODULE_PX
    corners = (
        (left + off, top - off),
        (left + side + off, top + off),
        (left + side - off, top + side),
        (left, top + side - off),
    )
    assert read_grid(frame, corners, size, refit=False) is None
    assert read_grid(frame, corners, size) is not None


# A signed-pass-like payload long enough for a version-8 symbol (six alignment patterns).
LONG_TEXT = "HC1:" + "".join(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i % 36] for i in range(7, 7 + 13 * 260, 13)
)


def _curved_frame(strength: float, bow: float) -> np.ndarray:
    """LONG_TEXT printed on a cylinder (a bottle, a wrist band) turned ``strength`` of a half-turn, its rows
    bowed by ``bow`` of its height, at 6 px a module in a 1080p frame, mildly blurred and noisy."""
    matrix = np.array(segno.make(LONG_TEXT, error="l", micro=False).matrix, dtype=np.uint8)
    code = np.where(np.pad(matrix, 4) > 0, 30, 225).astype(np.float32)
    code = cv2.resize(code, None, fx=6, fy=6, interpolation=cv2.INTER_NEAREST)
    h, w = code.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    turn = (xs / (w - 1) * 2 - 1) * strength * math.pi / 2
    src_x = (np.sin(turn) / math.sin(strength * math.pi / 2) + 1) / 2 * (w - 1)
    src_y = ys + bow * h * (1 - np.cos(turn)) * (ys / (h - 1) * 2 - 1)
    bent = cv2.remap(code, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    frame = np.full((1080, 1920), 200, np.float32)
    frame[200 : 200 + h, 600 : 600 + w] = bent
    frame = cv2.GaussianBlur(frame, (0, 0), 1.0) + np.random.default_rng(1).normal(0, 3, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("strength", "bow"), [(0.7, 0.0), (0.7, 0.04), (0.8, 0.0)])
def test_grid_bent_onto_the_timing_patterns_reads_a_code_on_a_curved_surface(
    strength: float, bow: float
) -> None:
    frame = _curved_frame(strength, bow)
    assert ZxingDecoder().decode(frame) == []
    assert CascadeDecoder(stages=CascadeDecoder.default_stages(grid=False, finders=False)).decode(frame) == []
    cascade = _unbudgeted()
    assert [s.text for s in cascade.decode(frame)] == [LONG_TEXT] and cascade.last_stage == "zxing-grid"
    corners, size = ZxingDecoder().decode_located(frame)[2][0]
    assert read_grid(frame, corners, size, bend=False) is None  # the patterns' homography and quadratic
    assert read_grid(frame, corners, size) == LONG_TEXT


def _blotted_finder_frame() -> np.ndarray:
    """URL_TEXT whose top-right finder pattern has a dark blot (2 modules across) on its inner corner, turned
    17 degrees in a 1080p frame: zxing-cpp's finder scan no longer sees the 1:1:3:1:1 runs there."""
    matrix = _matrix()
    size = matrix.shape[0]
    code = np.where(np.pad(matrix, 4) > 0, 0, 255).astype(np.uint8)
    code = cv2.resize(code, None, fx=MODULE_PX, fy=MODULE_PX, interpolation=cv2.INTER_NEAREST)
    centre = (round((4 + size - 2) * MODULE_PX), round((4 + 5) * MODULE_PX))
    cv2.circle(code, centre, MODULE_PX, 0, -1)
    frame = np.full((1080, 1920), 190, np.uint8)
    frame[300 : 300 + code.shape[0], 800 : 800 + code.shape[1]] = code
    frame = cv2.warpAffine(frame, cv2.getRotationMatrix2D((960, 500), 17, 1.0), (1920, 1080), borderValue=190)
    frame = cv2.GaussianBlur(frame, (0, 0), 0.8) + np.random.default_rng(2).normal(0, 3, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def test_opencv_located_stage_reads_a_code_whose_finder_pattern_is_blotted() -> None:
    frame = _blotted_finder_frame()
    found, suspects, sized = ZxingDecoder().decode_located(frame)
    assert found == [] and suspects and sized == []  # something located, not the symbol's version
    assert CascadeDecoder(stages=CascadeDecoder.default_stages(grid=False, finders=False)).decode(frame) == []
    cascade = _unbudgeted()
    assert [s.text for s in cascade.decode(frame)] == [URL_TEXT]
    assert cascade.last_stage == "opencv-located-grid"


def test_symbol_size_is_counted_along_the_timing_pattern() -> None:
    sizes = []
    for text, error in ((URL_TEXT, "m"), (LONG_TEXT, "l")):
        matrix = np.array(segno.make(text, error=error, micro=False).matrix, dtype=np.uint8)
        size = matrix.shape[0]
        frame = _frame(matrix, angle=0.0)
        left, top, side = 800 + 4 * MODULE_PX, 300 + 4 * MODULE_PX, size * MODULE_PX
        quad = np.array(
            [[left, top], [left + side, top], [left + side, top + side], [left, top + side]], float
        )
        assert symbol_size(frame, quad, inverted=False) == size
        sizes.append(size)
    assert sizes == [29, 49]


def test_grid_stage_costs_nothing_without_a_located_symbol() -> None:
    stages = dict(CascadeDecoder.default_stages())
    blank = np.full((1080, 1920), 170, np.uint8)
    assert stages["zxing"](blank) == [] and stages["zxing-grid"](blank) == []
    assert stages["opencv-located-grid"](blank) == []
    assert ZxingDecoder().decode_located(blank)[2] == []

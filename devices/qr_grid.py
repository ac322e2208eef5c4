"""Re-reading a QR symbol that zxing-cpp located but could not decode, by sampling its module grid again.

zxing-cpp samples a located symbol through one homography fitted to its finder patterns (and one alignment
pattern). On a code printed on a curved surface, or one whose corner estimate is a little off, that grid
drifts by half a module or more across the symbol and the code fails its error correction although its
modules are legible. Here the symbol is rectified with zxing-cpp's corners, the finder and alignment patterns
are looked for near where the homography puts them, and a polynomial correction fitted to where they were
found bends the grid back onto the modules. Each module is then sampled at its centre, compared with the
modules around it, and redrawn into a clean symbol whose finder, timing, alignment and version patterns are
drawn ideal (segno's encoder draws them); zxing-cpp reads that with ``is_pure`` and corrects the errors.
When the format information (error level and mask) is too damaged for zxing-cpp's own check, the 32 valid
format words are tried in turn: the Reed-Solomon check of the data then tells the right one.

Only the grid geometry and sampling are written here; pattern drawing (segno's encoder functions, which
follow ISO/IEC 18004 and are pinned with segno in constraints.txt) and Reed-Solomon error correction
(zxing-cpp) come from the libraries.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import segno.consts
import segno.encoder
import zxingcpp

# Rectified symbols are drawn at this many pixels a module: enough for template matching at sub-module
# precision, small enough that a version-40 symbol stays under 1 MP.
CANON_PX = 6
BORDER = 5  # modules of picture kept round the rectified symbol (a finder's search window reaches past it)
# How far (in modules) a finder or alignment pattern may be from where the homography puts it.
SEARCH_MODULES = 2.5
# A pattern is trusted when its template correlates at least this well (normalised, -1..1).
MIN_MATCH = 0.45
# Each module is compared with the mean of the sampled modules in windows of these many modules a side
# (small windows follow glare and shadows, large ones ride over blots).
WINDOWS = (5, 9, 15)
FORMAT_TRIES = 2  # the best-fitting samplings the 32 format words are tried on
PURE_PX = 4  # module size of the clean symbol handed to zxing-cpp
ERROR_LEVELS = (
    segno.consts.ERROR_LEVEL_L,
    segno.consts.ERROR_LEVEL_M,
    segno.consts.ERROR_LEVEL_Q,
    segno.consts.ERROR_LEVEL_H,
)


def version_of(size: int) -> int | None:
    """The QR version of a ``size``-module symbol, ``None`` if no version has that size."""
    version = (size - 17) // 4
    return version if 1 <= version <= 40 and 17 + 4 * version == size else None


@functools.lru_cache(maxsize=48)
def _template(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The ideal function patterns of a ``size`` x ``size`` symbol (1 dark) and the mask of the modules
    that carry data (neither function pattern nor format or version information)."""
    version = version_of(size)
    assert version is not None
    matrix = segno.encoder.make_matrix(size, size)  # reserves format and version areas, draws timing
    segno.encoder.add_finder_patterns(matrix, size, size)
    segno.encoder.add_alignment_patterns(matrix, size, size)
    reserved = np.array([list(row) for row in matrix], dtype=np.uint8)
    data = reserved == 0x2
    segno.encoder.add_version_info(matrix, version)
    drawn = np.array([list(row) for row in matrix], dtype=np.uint8)
    return np.where(data, 0, drawn).astype(np.uint8), data


def format_cells(size: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The two copies of the format information, bit 14 first (ISO/IEC 18004 7.9.1)."""
    first = [(8, c) for c in (0, 1, 2, 3, 4, 5, 7, 8)] + [(r, 8) for r in (7, 5, 4, 3, 2, 1, 0)]
    second = [(size - 1 - r, 8) for r in range(7)] + [(8, size - 8 + c) for c in range(8)]
    return first, second


def _with_format(modules: np.ndarray, error: int, mask: int) -> np.ndarray:
    out = modules.copy()
    matrix = tuple(bytearray(row) for row in out.tolist())
    segno.encoder.add_format_info(matrix, version_of(out.shape[0]), error, mask)
    return np.array([list(row) for row in matrix], dtype=np.uint8)


def _pattern_points(size: int) -> list[tuple[float, float, int]]:
    """Centres (x, y in module units from the symbol's corner) of its finder (kind 7) and alignment
    (kind 5) patterns."""
    points = [(3.5, 3.5, 7), (size - 3.5, 3.5, 7), (3.5, size - 3.5, 7)]
    version = version_of(size)
    if version is not None and version >= 2:
        centres = segno.consts.ALIGNMENT_POS[version - 2]
        last = centres[-1]
        for row in centres:
            for col in centres:
                if (row, col) in ((6, 6), (6, last), (last, 6)):
                    continue  # under a finder pattern
                points.append((col + 0.5, row + 0.5, 5))
    return points


# A finder pattern near the edge of a code on a curved surface is squeezed across the bend (to half its
# width or less); it is looked for at these widths and heights (fractions of a flat one) too.
SQUEEZES = ((1.0, 1.0), (0.7, 1.0), (0.45, 1.0), (1.0, 0.7), (1.0, 0.45))


@functools.lru_cache(maxsize=24)
def _pattern_image(kind: int, inverted: bool, squeeze: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """A finder (7) or alignment (5) pattern with one light module round it, at ``CANON_PX`` a module
    squeezed by ``squeeze`` (x, y)."""
    if kind == 7:
        core = np.ones((7, 7), np.uint8)
        core[1:6, 1:6] = 0
        core[2:5, 2:5] = 1
    else:
        core = np.ones((5, 5), np.uint8)
        core[1:4, 1:4] = 0
        core[2, 2] = 1
    cells = np.pad(core, 1)
    image = np.where(cells > 0, 0, 255).astype(np.uint8)
    if inverted:
        image = 255 - image
    side = cells.shape[0] * CANON_PX
    size = (max(3, round(side * squeeze[0])) | 1, max(3, round(side * squeeze[1])) | 1)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _poly_terms(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    return np.stack([x**i * y**j for i in range(degree + 1) for j in range(degree + 1 - i)], axis=-1)


def _find_patterns(
    canon: np.ndarray, size: int, inverted: bool
) -> tuple[list[tuple[float, float, int]], list[tuple[float, float]]]:
    """Where the symbol's finder and alignment patterns should be (x, y, kind) and where they were found
    (module units in the rectified picture), for those found."""
    ideal: list[tuple[float, float, int]] = []
    found: list[tuple[float, float]] = []
    reach = SEARCH_MODULES * CANON_PX
    for x, y, kind in _pattern_points(size):
        cx, cy = (x + BORDER) * CANON_PX, (y + BORDER) * CANON_PX
        best, spot = MIN_MATCH, None
        for squeeze in SQUEEZES if kind == 7 else SQUEEZES[:1]:
            template = _pattern_image(kind, inverted, squeeze)
            half_w, half_h = template.shape[1] / 2, template.shape[0] / 2
            x0, y0 = int(cx - half_w - reach), int(cy - half_h - reach)
            x1, y1 = int(cx + half_w + reach) + 1, int(cy + half_h + reach) + 1
            if x0 < 0 or y0 < 0 or x1 > canon.shape[1] or y1 > canon.shape[0]:
                continue
            scores = cv2.matchTemplate(canon[y0:y1, x0:x1], template, cv2.TM_CCOEFF_NORMED)
            _, score, _, (bx, by) = cv2.minMaxLoc(scores)
            if score > best:
                best, spot = score, (x0 + bx + half_w, y0 + by + half_h)
        if spot is not None:
            ideal.append((x, y, kind))
            found.append(((spot[0] - 0.5) / CANON_PX - BORDER, (spot[1] - 0.5) / CANON_PX - BORDER))
    return ideal, found


def _fitted_grids(ideal: np.ndarray, found: np.ndarray, size: int) -> list[np.ndarray]:
    """Module centres moved by a homography through the pattern positions and, when there are enough of
    them across the symbol (a bend on a curved surface), also with a quadratic correction of what it
    leaves."""
    if len(ideal) < 4:
        return []
    src, dst = ideal.astype(np.float32), found.astype(np.float32)
    grid = np.stack(np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5), axis=-1).astype(np.float32)
    correction, _ = cv2.findHomography(src, dst, 0)
    if correction is None:
        return []
    moved = cv2.perspectiveTransform(grid.reshape(-1, 1, 2), correction).reshape(grid.shape)
    if len(ideal) < 6:
        return [moved]
    fitted = cv2.perspectiveTransform(src.reshape(-1, 1, 2), correction).reshape(src.shape)
    terms = _poly_terms(src[:, 0], src[:, 1], 2)
    coef, *_ = np.linalg.lstsq(terms, dst - fitted, rcond=None)
    return [moved + _poly_terms(grid[..., 0], grid[..., 1], 2) @ coef, moved]


def _refined_grids(canon: np.ndarray, size: int, inverted: bool) -> list[np.ndarray]:
    """Module centres in the rectified picture corrected by where its patterns were found there: fitted to
    all of them, and to the alignment patterns alone (a finder squeezed at the edge of a bend, or half under
    a blot, is found a module off; the alignment patterns inside the symbol are not)."""
    ideal, found = _find_patterns(canon, size, inverted)
    if not ideal:
        return []
    points, spots = np.array(ideal)[:, :2], np.array(found)
    inner = np.array([kind == 5 for _, _, kind in ideal])
    grids = _fitted_grids(points, spots, size)
    if inner.sum() >= 6:
        grids += _fitted_grids(points[inner], spots[inner], size)
    return grids


def _decode_pure(modules: np.ndarray) -> str | None:
    image = np.where(np.pad(modules, 4) > 0, 0, 255).astype(np.uint8)
    image = np.kron(image, np.ones((PURE_PX, PURE_PX), np.uint8))
    try:
        found = zxingcpp.read_barcodes(
            image,
            formats=zxingcpp.barcode_formats_from_str("QRCode"),
            text_mode=zxingcpp.TextMode.Plain,
            is_pure=True,
        )
    except Exception:
        return None
    for bar in found:
        if bar.valid and bar.text:
            return str(bar.text)
    return None


def read_grid(
    grey: np.ndarray,
    corners: tuple[tuple[float, float], ...],
    size: int,
    *,
    refit: bool = True,
    try_formats: bool = True,
) -> str | None:
    """The text of the ``size``-module QR symbol whose outer corners (top-left, top-right, bottom-right,
    bottom-left of the symbol, quiet zone excluded) are ``corners`` in ``grey``, or ``None``.
    ``refit=False`` samples through the corners' homography only and ``try_formats=False`` trusts the
    sampled format information (the baselines the tests compare with)."""
    if version_of(size) is None or len(corners) != 4:
        return None
    quad = np.array(corners, dtype=np.float32)
    side = (size + 2 * BORDER) * CANON_PX
    module_corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float32) + BORDER
    to_canon = cv2.getPerspectiveTransform(quad, module_corners * CANON_PX)
    canon = cv2.warpPerspective(
        grey, to_canon, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    fixed, data = _template(size)
    first, second = format_cells(size)
    in_format = np.zeros_like(data)
    for r, c in first + second:
        in_format[r, c] = True
    pattern = ~data & ~in_format
    plain = np.stack(np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5), axis=-1)
    canon_f = canon.astype(np.float32)
    candidates: list[tuple[float, np.ndarray]] = []
    for inverted in (False, True):
        for grid in [*(_refined_grids(canon, size, inverted) if refit else []), plain]:
            map_xy = ((grid + BORDER) * CANON_PX).astype(np.float32)
            samples = cv2.remap(
                canon_f, map_xy[..., 0], map_xy[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            for window in WINDOWS:
                local = cv2.blur(samples, (window, window), borderType=cv2.BORDER_REFLECT)
                dark = samples > local if inverted else samples < local
                # How well the sampled finder, timing and alignment modules match the ideal ones: the
                # grid (and polarity) that fits best is the one worth trying the 32 formats on.
                fit = float(np.mean(dark[pattern] == (fixed[pattern] > 0)))
                # Data and format information as sampled (zxing-cpp corrects up to 3 wrong format bits),
                # the function patterns drawn ideal.
                modules = np.where(data | in_format, dark, fixed).astype(np.uint8)
                modules[size - 8, 8] = 1  # the dark module
                candidates.append((fit, modules))
    candidates.sort(key=lambda c: -c[0])
    for _, modules in candidates:
        text = _decode_pure(modules)
        if text:
            return text
    if try_formats:
        for _, modules in candidates[:FORMAT_TRIES]:
            for error in ERROR_LEVELS:
                for mask in range(8):
                    text = _decode_pure(_with_format(modules, error, mask))
                    if text:
                        return text
    return None

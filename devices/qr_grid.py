"""Re-reading a QR symbol that zxing-cpp located but could not decode, by sampling its module grid again.

zxing-cpp samples a located symbol through one homography fitted to its finder patterns (and one alignment
pattern). On a code printed on a curved surface, or one whose corner estimate is a little off, that grid
drifts by half a module or more across the symbol and the code fails its error correction although its
modules are legible. Here the symbol is rectified with the corners found (zxing-cpp's, or OpenCV's locator's,
whose size is then counted along the timing pattern: ``symbol_size``), the finder and alignment patterns are
looked for near where the homography puts them, and the grid is refitted to them (a homography and a
quadratic) and bent onto the boundaries of the two timing patterns, counted module by module between the
finders (a cubic along each, so a bend's squeeze towards the edges is followed). Each module is then sampled
at its centre, compared with the modules around it, and redrawn into a clean symbol whose finder, timing,
alignment and version patterns are drawn ideal (segno's encoder draws them); zxing-cpp reads that with
``is_pure`` and corrects the errors. When the format information (error level and mask) is too damaged for
zxing-cpp's own check, the 32 valid format words are tried in turn: the Reed-Solomon check of the data then
tells the right one.

Only the grid geometry and sampling are written here; pattern drawing (segno's encoder functions, which
follow ISO/IEC 18004 and are pinned with segno in constraints.txt) and Reed-Solomon error correction
(zxing-cpp) come from the libraries.
"""

from __future__ import annotations

import functools
import time

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
# Timing patterns are sampled at this many points a module; a profile whose light and dark differ by
# less than this (grey levels) anywhere is not counted. The alignment patterns weigh as this many timing
# boundaries in the bent grid's fit, whose coefficients are held near zero by this ridge.
TIMING_SAMPLES = 8
MIN_TIMING_CONTRAST = 4.0
ANCHOR_WEIGHT = 4
RIDGE = 1e-3
TIMING_ROUNDS = 3
TIMING_SHIFTS = (0.0, -0.5, 0.5, -1.0, 1.0)
TIMING_SHARE = 0.6  # a miscounted timing pattern still counts if this share of its boundaries is near
FORMAT_TRIES = 1  # how many of the best-fitting samplings the 32 format words are tried on
PURE_PX = 4  # module size of the clean symbol handed to zxing-cpp
ERROR_LEVELS = (
    segno.consts.ERROR_LEVEL_L,
    segno.consts.ERROR_LEVEL_M,
    segno.consts.ERROR_LEVEL_Q,
    segno.consts.ERROR_LEVEL_H,
)


def cpu_clock() -> float:
    """CPU seconds of the calling thread: the time budgets of the grid stages count the work done, so that a
    loaded machine (whose wall time stretches) reads the same codes as a quiet one, where the two agree."""
    return time.thread_time()


def past(deadline: float | None) -> bool:
    """Whether ``cpu_clock()`` is beyond ``deadline`` (never when there is none)."""
    return deadline is not None and cpu_clock() > deadline


def version_of(size: int) -> int | None:
    """The QR version of a ``size``-module symbol, ``None`` if no version has that size."""
    version = (size - 17) // 4
    return version if 1 <= version <= 40 and 17 + 4 * version == size else None


@functools.lru_cache(maxsize=48)
def function_patterns(size: int) -> tuple[np.ndarray, np.ndarray]:
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


def _refined_grids(canon: np.ndarray, size: int, inverted: bool, bend: bool = True) -> list[np.ndarray]:
    """Module centres in the rectified picture corrected by where its patterns were found there: bent onto
    the timing patterns and alignment patterns, fitted to all patterns, and to the alignment patterns alone
    (a finder squeezed at the edge of a bend, or half under a blot, is found a module off; the alignment
    patterns inside the symbol are not)."""
    ideal, found = _find_patterns(canon, size, inverted)
    plain = np.stack(np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5), axis=-1)
    grids: list[np.ndarray] = []
    anchors: list[tuple[np.ndarray, np.ndarray]] = []
    if ideal:
        points, spots = np.array(ideal)[:, :2], np.array(found)
        inner = np.array([kind == 5 for _, _, kind in ideal])
        anchors = list(zip(points[inner], spots[inner], strict=True))
        grids = _fitted_grids(points, spots, size)
        if inner.sum() >= 6:
            grids += _fitted_grids(points[inner], spots[inner], size)
    bent = []
    for start in [*grids, plain] if bend else []:
        refit = start
        for _ in range(TIMING_ROUNDS):
            again = _timing_refit(canon, refit, size, inverted, anchors)
            if again is None:
                break
            refit = again
        if refit is not start:
            bent.append(refit)
    return bent + grids


def _timing_edges(
    canon: np.ndarray, line: np.ndarray, inverted: bool, exact: bool = False
) -> list[tuple[int, np.ndarray]]:
    """Module boundaries found along a timing pattern: ``line`` holds the predicted centres (module units in
    the rectified picture) of row 6 (or column 6), one per module across the symbol. The pattern runs dark
    (7 modules of finder), then one module light, one dark, ... , light, then 7 dark: its boundaries lie at
    7, 8, ..., size - 7 modules from the symbol's edge whatever the grid's drift, so they are counted rather
    than matched. Returns (boundary index, its position) when exactly that many were found, else (unless
    ``exact``) those near their predicted place when most are, else nothing."""
    size = len(line)
    step = 1 / TIMING_SAMPLES
    ts = np.arange(1.0, size - 1.0 + step / 2, step)  # module units from the symbol's edge
    centres_t = np.arange(size) + 0.5
    xs = np.interp(ts, centres_t, line[:, 0])
    ys = np.interp(ts, centres_t, line[:, 1])
    map_x = ((xs + BORDER) * CANON_PX).astype(np.float32).reshape(1, -1)
    map_y = ((ys + BORDER) * CANON_PX).astype(np.float32).reshape(1, -1)
    profile = cv2.remap(canon, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    profile = profile.astype(np.float32).ravel()
    span = 9 * TIMING_SAMPLES  # the threshold is the mid-level over 9 modules: finder runs are 7 long
    kernel = np.ones((span, 1), np.uint8)
    high = cv2.dilate(profile.reshape(-1, 1), kernel).ravel()
    low = cv2.erode(profile.reshape(-1, 1), kernel).ravel()
    dark = profile > (high + low) / 2 if inverted else profile < (high + low) / 2
    if (high - low).min() < MIN_TIMING_CONTRAST:
        return []
    changes = np.flatnonzero(dark[1:] != dark[:-1])
    # Runs shorter than a third of a module are noise (a speck, JPEG ringing): drop their two edges.
    kept: list[int] = []
    for k in changes:
        if kept and k - kept[-1] < TIMING_SAMPLES / 3:
            kept.pop()
        else:
            kept.append(int(k))
    # Inside the two finder runs (2 modules from the symbol's edges, whatever the grid's drift up to two
    # modules) the pattern's boundaries are the ones at 7, 8, ..., size - 7.
    kept = [k for k in kept if 2.5 < ts[k] < size - 2.5]
    expected = list(range(7, size - 6))
    if len(kept) == len(expected):
        pairs = list(zip(expected, kept, strict=True))
    elif exact:
        return []
    else:
        # A blot or glare hides some boundaries or adds some: keep those within a third of a module of a
        # predicted one, when most are (the grid is then already close there).
        near = [(round(ts[k]), k) for k in kept if abs(ts[k] - round(ts[k])) < 1 / 3]
        pairs = [(i, k) for i, k in near if 7 <= i <= size - 7]
        if len({i for i, _ in pairs}) != len(pairs) or len(pairs) < TIMING_SHARE * len(expected):
            return []
    return [(index, np.array([(xs[k] + xs[k + 1]) / 2, (ys[k] + ys[k + 1]) / 2])) for index, k in pairs]


def _timing_beside(
    canon: np.ndarray, line: np.ndarray, across: int, inverted: bool
) -> list[tuple[int, np.ndarray]]:
    """``_timing_edges`` on the predicted line, or on it moved sideways (coordinate ``across``) by up to a
    module: a bow on a curved surface, or a finder found a module off, puts the prediction beside the
    pattern. A moved line counts only when its count is exact (the rows beside the pattern hold data)."""
    for shift in TIMING_SHIFTS:
        moved = line.copy()
        moved[:, across] += shift
        edges = _timing_edges(canon, moved, inverted, exact=shift != 0)
        if edges:
            return edges
    return []


def _timing_refit(
    canon: np.ndarray,
    grid: np.ndarray,
    size: int,
    inverted: bool,
    anchors: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray | None:
    """``grid`` bent onto the boundaries of both timing patterns (positions along row 6 fix how the columns
    are spaced across the symbol, along column 6 the rows: on a curved surface they squeeze towards the
    edges) and onto ``anchors`` (ideal, found) of the alignment patterns, by a smooth correction (cubic
    along the timing pattern, quadratic across); ``None`` when a timing pattern cannot be counted."""
    row = _timing_beside(canon, grid[6], 1, inverted)
    col = _timing_beside(canon, grid[:, 6], 0, inverted)
    if not row and not col:
        return None
    half = size / 2

    def terms(u: np.ndarray, v: np.ndarray, along_u: bool) -> np.ndarray:
        a, b = (u - half) / half, (v - half) / half
        if not along_u:
            a, b = b, a
        return np.stack([a**i * b**j for i in range(4) for j in range(3)], axis=-1)

    def base(u: float, v: float) -> np.ndarray:
        """The grid's position of a point between module centres (bilinear)."""
        fu, fv = np.clip(u - 0.5, 0, size - 1.001), np.clip(v - 0.5, 0, size - 1.001)
        iu, iv = int(fu), int(fv)
        du, dv = fu - iu, fv - iv
        top = grid[iv, iu] * (1 - du) + grid[iv, iu + 1] * du
        bottom = grid[iv + 1, iu] * (1 - du) + grid[iv + 1, iu + 1] * du
        return top * (1 - dv) + bottom * dv

    obs_x = [((float(i), 6.5), spot[0] - base(i, 6.5)[0]) for i, spot in row]
    obs_y = [((6.5, float(i)), spot[1] - base(6.5, i)[1]) for i, spot in col]
    for ideal, found in anchors:
        moved = base(float(ideal[0]), float(ideal[1]))
        obs_x += [((float(ideal[0]), float(ideal[1])), found[0] - moved[0])] * ANCHOR_WEIGHT
        obs_y += [((float(ideal[0]), float(ideal[1])), found[1] - moved[1])] * ANCHOR_WEIGHT
    us, vs = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    out = grid.copy()
    for axis, obs, along_u, timing in ((0, obs_x, True, row), (1, obs_y, False, col)):
        if not timing:  # the alignment patterns alone do not pin a cubic: leave this axis as it was
            continue
        pts = np.array([p for p, _ in obs])
        vals = np.array([r for _, r in obs])
        design = terms(pts[:, 0], pts[:, 1], along_u)
        # Ridge: terms the observations do not pin down (across the symbol, with few alignment patterns)
        # stay near zero rather than swinging.
        gram = design.T @ design + RIDGE * len(vals) * np.eye(design.shape[1])
        coef = np.linalg.solve(gram, design.T @ vals)
        out[..., axis] = grid[..., axis] + terms(us, vs, along_u) @ coef
    return out


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


def _polarities(canon: np.ndarray, size: int) -> tuple[bool, ...]:
    """Whether to read the symbol as printed (``False``), inverted (``True``) or both: a finder pattern's
    3x3 core is darker than the light ring round it when printed. Both when the three finders disagree
    (a blot, glare), which halves the work on the common case only."""
    votes = []
    for x, y, _ in _pattern_points(size)[:3]:
        cx, cy = round((x + BORDER) * CANON_PX), round((y + BORDER) * CANON_PX)
        core, block = round(1.5 * CANON_PX), round(2.5 * CANON_PX)  # 3x3 dark modules; with the light ring
        inner = canon[cy - core : cy + core, cx - core : cx + core].mean()
        votes.append(inner < canon[cy - block : cy + block, cx - block : cx + block].mean())
    if all(votes):
        return (False,)
    if not any(votes):
        return (True,)
    return (False, True)


def read_grid(
    grey: np.ndarray,
    corners: tuple[tuple[float, float], ...],
    size: int,
    *,
    refit: bool = True,
    bend: bool = True,
    try_formats: bool = True,
    deadline: float | None = None,
) -> str | None:
    """The text of the ``size``-module QR symbol whose outer corners (top-left, top-right, bottom-right,
    bottom-left of the symbol, quiet zone excluded) are ``corners`` in ``grey``, or ``None``.
    ``refit=False`` samples through the corners' homography only, ``bend=False`` leaves out the fit to the
    timing patterns and ``try_formats=False`` trusts the sampled format information (the baselines the
    tests compare with). Gives up (``None``) once ``cpu_clock()`` passes ``deadline``."""
    if version_of(size) is None or len(corners) != 4:
        return None
    quad = np.array(corners, dtype=np.float32)
    side = (size + 2 * BORDER) * CANON_PX
    module_corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float32) + BORDER
    to_canon = cv2.getPerspectiveTransform(quad, module_corners * CANON_PX)
    canon = cv2.warpPerspective(
        grey, to_canon, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    fixed, data = function_patterns(size)
    first, second = format_cells(size)
    in_format = np.zeros_like(data)
    for r, c in first + second:
        in_format[r, c] = True
    pattern = ~data & ~in_format
    plain = np.stack(np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5), axis=-1)
    canon_f = canon.astype(np.float32)
    candidates: list[tuple[float, np.ndarray]] = []
    for inverted in _polarities(canon, size):
        if past(deadline):
            return None
        for grid in [*(_refined_grids(canon, size, inverted, bend) if refit else []), plain]:
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
        if past(deadline):
            return None
        text = _decode_pure(modules)
        if text:
            return text
    if try_formats:
        for _, modules in candidates[:FORMAT_TRIES]:
            for error in ERROR_LEVELS:
                if past(deadline):
                    return None
                for mask in range(8):
                    text = _decode_pure(_with_format(modules, error, mask))
                    if text:
                        return text
    return None


# A quadrilateral found by another detector (OpenCV's) is rectified to this many pixels a side to measure
# the symbol: its finder patterns along the diagonals, then its size by counting the timing pattern.
MEASURE_SIDE = 420


def _finder_extent(square: np.ndarray, corner: int, inverted: bool) -> float | None:
    """How far (pixels along each axis of the rectified square) the finder pattern at ``corner`` (0 top-left,
    1 top-right, 2 bottom-right, 3 bottom-left) reaches along the diagonal: its 1:1:3:1:1 runs span 7
    modules. ``None`` when the diagonal does not cross a finder pattern there."""
    side = square.shape[0]
    t = np.linspace(0.0, 0.4 * side, 400)
    xs = t if corner in (0, 3) else side - 1 - t
    ys = t if corner in (0, 1) else side - 1 - t
    profile = cv2.remap(
        square, xs.astype(np.float32).reshape(1, -1), ys.astype(np.float32).reshape(1, -1), cv2.INTER_LINEAR
    ).ravel()
    level = (np.percentile(profile, 90) + np.percentile(profile, 10)) / 2
    dark = profile > level if inverted else profile < level
    start = int(np.argmax(dark))
    if not dark[start]:
        return None
    changes = np.flatnonzero(dark[start + 1 :] != dark[start:-1]) + start
    if len(changes) < 5:
        return None
    ends = np.concatenate([[start], changes[:5]])
    runs = np.diff(t[ends])
    unit = (t[changes[4]] - t[start]) / 7
    if any(abs(run - ratio * unit) > 0.8 * unit for run, ratio in zip(runs, (1, 1, 3, 1, 1), strict=True)):
        return None
    return float(t[changes[4]] - t[start])


def symbol_size(grey: np.ndarray, quad: np.ndarray, inverted: bool) -> int | None:
    """The size in modules of the QR symbol whose outer corners OpenCV's detector gave as ``quad``
    (top-left, top-right, bottom-right, bottom-left of the symbol), counted along the timing pattern
    between the top finders; ``None`` when it cannot be measured."""
    side = MEASURE_SIDE
    target = np.array([[0, 0], [side, 0], [side, side], [0, side]], np.float32)
    square = cv2.warpPerspective(
        grey, cv2.getPerspectiveTransform(quad.astype(np.float32), target), (side, side)
    ).astype(np.float32)
    # OpenCV gives the corners in the symbol's own order (top-left first): the two top corners must show
    # a finder pattern, whose extents give the module size at each end of the timing pattern.
    top_left, top_right = (_finder_extent(square, corner, inverted) for corner in (0, 1))
    if top_left is None or top_right is None:
        return None
    # Row 6 lies 6.5 modules down; each finder's extent gives its own module size (a bend changes it).
    line = np.array(
        [[top_left / 7 * 3.5, top_left / 7 * 6.5], [side - top_right / 7 * 3.5, top_right / 7 * 6.5]]
    )
    ts = np.linspace(0.0, 1.0, side * 2)
    xs = line[0, 0] + (line[1, 0] - line[0, 0]) * ts
    ys = line[0, 1] + (line[1, 1] - line[0, 1]) * ts
    profile = cv2.remap(
        square, xs.astype(np.float32).reshape(1, -1), ys.astype(np.float32).reshape(1, -1), cv2.INTER_LINEAR
    ).ravel()
    per_module = len(ts) / float(np.hypot(*(line[1] - line[0]))) * (top_left + top_right) / 14
    span = max(3, int(9 * per_module))  # the mid-level over about 9 modules
    kernel = np.ones((span, 1), np.uint8)
    high = cv2.dilate(profile.reshape(-1, 1), kernel).ravel()
    low = cv2.erode(profile.reshape(-1, 1), kernel).ravel()
    dark = profile > (high + low) / 2 if inverted else profile < (high + low) / 2
    changes = np.flatnonzero(dark[1:] != dark[:-1])
    short = per_module / 3  # runs shorter than a third of a module are noise
    kept: list[int] = []
    for k in changes:
        if kept and k - kept[-1] < short:
            kept.pop()
        else:
            kept.append(int(k))
    size = len(kept) + 13  # the timing pattern's boundaries lie at 7, 8, ..., size - 7
    return size if version_of(size) is not None else None

"""Locating a QR symbol by its finder patterns found as nested contours, for codes zxing-cpp does not locate.

zxing-cpp finds finder patterns by scanning rows for the 1:1:3:1:1 run ratio in two directions; a blot,
a glare spot or strong perspective that breaks the runs on one scan line leaves a finder unseen, and the
symbol is never located. A finder pattern is also three nested shapes (a dark 7x7 ring, a light 5x5 ring,
a dark 3x3 core): that survives a speck across it, perspective and uneven light, and shows in the contour
tree of a locally thresholded picture, as OpenCV's own detector looks for it (which then needs all three).
Three such patterns round a corner, or two when the third is under a blot (in each pair of roles they can
have), and their corners give a homography with perspective for each size their spacing allows; the
placement whose timing patterns and missing finder sample best is read by ``devices.qr_grid.read_grid``.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from devices.qr_grid import function_patterns, past, read_grid

# Local threshold of the picture after a 3x3 median (which removes sensor noise and keeps module edges): the
# mean of this many pixels a side, minus this offset (grey levels). Both keep noise on flat areas from
# becoming thousands of specks, whose contours cost the most (up to 200 ms on a noisy 800x600 picture).
BLOCK = 31
OFFSET = 12
MIN_FINDER_AREA = 60.0  # pixels: a 7-module pattern of about 1.1 px a module
MAX_CANDIDATES = 12  # finder candidates kept (largest first): at most 220 triples


@dataclass(frozen=True)
class Finder:
    centre: tuple[float, float]
    module: float  # pixels a module, from the pattern's area
    # The corners of the square midway between the ring's outer edge and its hole (module coordinates 0.5
    # and 6.5 of the pattern), when both contours simplify to four corners: a threshold that thins or
    # thickens the dark ring moves the two edges by the same amount in opposite directions.
    quad: np.ndarray | None


def _quad(contour: np.ndarray) -> np.ndarray | None:
    perimeter = cv2.arcLength(contour, True)
    for eps in (0.04, 0.07, 0.1):
        approx = cv2.approxPolyDP(contour, eps * perimeter, True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            return approx.reshape(4, 2).astype(np.float64)
    return None


def _clockwise(quad: np.ndarray) -> np.ndarray:
    """The quadrilateral's corners in the order of increasing angle round its centre: clockwise on the
    picture (y down), as (0, 0), (7, 0), (7, 7), (0, 7) are in module coordinates."""
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    return quad[np.argsort(angles)]


def finder_candidates(grey: np.ndarray, inverted: bool, limit: int | None = MAX_CANDIDATES) -> list[Finder]:
    """Finder-pattern-like nests of three contours (outer ring, its hole, the core in the hole) in ``grey``
    thresholded against its local mean, dark modules as foreground (light ones when ``inverted``); the
    ``limit`` largest."""
    kind = cv2.THRESH_BINARY if inverted else cv2.THRESH_BINARY_INV
    offset = -OFFSET if inverted else OFFSET
    grey = cv2.medianBlur(grey, 3)
    binary = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, kind, BLOCK, offset)
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    tree = hierarchy[0]
    out: list[Finder] = []
    for i, contour in enumerate(contours):
        hole = tree[i][2]
        if hole < 0 or tree[hole][0] >= 0:  # exactly one hole
            continue
        core = tree[hole][2]
        if core < 0 or tree[core][0] >= 0:  # exactly one core in it
            continue
        outer_area = cv2.contourArea(contour)
        if outer_area < MIN_FINDER_AREA:
            continue
        hole_area, core_area = cv2.contourArea(contours[hole]), cv2.contourArea(contours[core])
        if core_area <= 0 or not (1.2 < outer_area / max(hole_area, 1.0) < 4.0):
            continue
        if not (1.4 < hole_area / core_area < 8.0):
            continue
        hull = cv2.contourArea(cv2.convexHull(contour))
        if outer_area < 0.8 * hull:
            continue
        m_outer, m_core = cv2.moments(contour), cv2.moments(contours[core])
        cx, cy = m_outer["m10"] / m_outer["m00"], m_outer["m01"] / m_outer["m00"]
        kx, ky = m_core["m10"] / m_core["m00"], m_core["m01"] / m_core["m00"]
        side = math.sqrt(outer_area)
        if math.hypot(cx - kx, cy - ky) > 0.25 * side:
            continue
        outer, inner = _quad(contour), _quad(contours[hole])
        mid = None
        if outer is not None and inner is not None:
            outer, inner = _clockwise(outer), _clockwise(inner)
            shift = min(range(4), key=lambda k: float(np.abs(np.roll(inner, -k, axis=0) - outer).sum()))
            mid = (outer + np.roll(inner, -shift, axis=0)) / 2
        module = (side + math.sqrt(hole_area)) / 12  # the two edges are 7 and 5 modules a side
        out.append(Finder((kx, ky), module, mid))
    out.sort(key=lambda f: -f.module)
    return out[:limit]


# Roles are 0 (top-left), 1 (top-right) and 2 (bottom-left finder). The pairs of roles two finder patterns
# can have when the third one is not found: adjacent ones (a timing pattern between them) or the diagonal.
PAIR_ROLES = ((0, 1), (1, 0), (0, 2), (2, 0), (1, 2), (2, 1))
MAX_PAIRS = 6  # pairs of candidates considered when no triple fits
MAX_READS = 3  # best-scoring placements handed to the grid reader
MIN_SCORE = 0.6  # share of the modules ``placement_score`` checks that a placement must match to be read
# ... when placed from one finder pattern: the other two are what is blotted, and sample about half right.
MIN_ALONE_SCORE = 0.55


def _origin(role: int, size: int) -> tuple[float, float]:
    return ((0.0, 0.0), (size - 7.0, 0.0), (0.0, size - 7.0))[role]


def placement(finders: list[tuple[Finder, int]], size: int) -> np.ndarray | None:
    """The homography from module coordinates of a ``size``-module symbol to the picture, given finder
    patterns and their roles (at least two): through the ring-middle corners of each finder whose contours
    gave them (which corner is which follows from the direction between the first two finders), and
    through the centres of the others."""
    (first, role_a), (second, role_b) = finders[0], finders[1]
    oa, ob = np.array(_origin(role_a, size)), np.array(_origin(role_b, size))
    along_mod = ob - oa
    along_img = np.array(second.centre) - np.array(first.centre)
    turn = math.atan2(along_img[1], along_img[0]) - math.atan2(along_mod[1], along_mod[0])
    x_dir = np.array([math.cos(turn), math.sin(turn)])  # where the module x axis points in the picture
    src: list[tuple[float, float]] = []
    dst: list[tuple[float, float]] = []
    for finder, role in finders:
        ox, oy = _origin(role, size)
        if finder.quad is None:
            src.append((ox + 3.5, oy + 3.5))
            dst.append(finder.centre)
            continue
        quad = _clockwise(finder.quad)
        ideal = [(ox + 0.5, oy + 0.5), (ox + 6.5, oy + 0.5), (ox + 6.5, oy + 6.5), (ox + 0.5, oy + 6.5)]
        # The rotation whose top edge runs most nearly along the module x axis.
        k = max(range(4), key=lambda k: float((quad[(k + 1) % 4] - quad[k]) @ x_dir))
        src += ideal
        dst += [tuple(quad[(k + j) % 4]) for j in range(4)]
    if len(src) < 4:
        return None
    homography, _ = cv2.findHomography(np.array(src, np.float32), np.array(dst, np.float32), 0)
    return homography


@functools.lru_cache(maxsize=96)
def _function_modules(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Module centres (x, y) of the three finder patterns with their separators and of both timing
    patterns, whether each is dark (as ``function_patterns`` draws the symbol), and which finder each
    belongs to (3: timing)."""
    cells, owner = [], []
    for role in range(3):
        ox, oy = _origin(role, size)
        for r in range(-1, 8):
            for c in range(-1, 8):
                x, y = int(ox) + c, int(oy) + r
                if 0 <= x < size and 0 <= y < size:
                    cells.append((x, y))
                    owner.append(role)
    for i in range(8, size - 8):
        cells += [(i, 6), (6, i)]
        owner += [3, 3]
    drawn, _ = function_patterns(size)
    at = np.array(cells)
    return (at + 0.5).astype(np.float32), drawn[at[:, 1], at[:, 0]] == 1, np.array(owner)


def placement_score(grey: np.ndarray, homography: np.ndarray, size: int, known: tuple[int, ...]) -> float:
    """The share of the finder, separator and timing modules *not* used to place the symbol (the timing
    patterns, and the finder not found) that sample as they should through ``homography``, thresholded
    midway between the dark and light modules of the finders that were found (either polarity). A wrong
    role, size or corner assignment scores near a half."""
    points, dark, owner = _function_modules(size)
    spots = cv2.perspectiveTransform(points.reshape(-1, 1, 2), homography).reshape(-1, 2)
    height, width = grey.shape
    inside = (spots[:, 0] >= 0) & (spots[:, 0] <= width - 1)
    inside &= (spots[:, 1] >= 0) & (spots[:, 1] <= height - 1)
    used = np.isin(owner, known)
    if inside[~used].mean() < 0.5 or not inside[used].any():
        return 0.0
    inner = spots[inside].astype(np.float32).reshape(1, -1, 2)
    values = cv2.remap(grey, inner[..., 0], inner[..., 1], cv2.INTER_LINEAR).ravel().astype(np.float32)
    ref, ref_dark = values[used[inside]], dark[inside & used]
    if ref_dark.all() or not ref_dark.any():
        return 0.0
    level = (ref[ref_dark].mean() + ref[~ref_dark].mean()) / 2
    test = ~used[inside]
    agree = float(np.mean((values[test] < level) == dark[inside][test]))
    return max(agree, 1.0 - agree) * float(inside[~used].mean())


def _sizes_for(distance_modules: float, diagonal: bool) -> list[int]:
    """Symbol sizes whose finder spacing is near ``distance_modules`` (centre to centre)."""
    span = distance_modules / (math.sqrt(2) if diagonal else 1.0) + 7
    version = round((span - 17) / 4)
    return [17 + 4 * v for v in (version, version - 1, version + 1, version - 2, version + 2) if 1 <= v <= 40]


def placements(grey: np.ndarray, finders: list[Finder]) -> list[tuple[float, np.ndarray, int]]:
    """(score, homography, size) of the plausible symbols the finder candidates make, best first: every
    triple that forms a near-right corner, else pairs of alike finders in each pair of roles (the third
    finder under a blot or glare), at the sizes their spacing allows."""
    hypotheses: list[tuple[list[tuple[Finder, int]], list[int]]] = []
    for trio in itertools.combinations(finders, 3):
        modules = [f.module for f in trio]
        if max(modules) > 2.0 * min(modules):
            continue
        # Strong perspective can make any of the three the widest corner: each is tried as the top-left.
        for a in range(3):
            corner, b, c = trio[a], trio[(a + 1) % 3], trio[(a + 2) % 3]
            ab = np.array(b.centre) - np.array(corner.centre)
            ac = np.array(c.centre) - np.array(corner.centre)
            cos = float(ab @ ac) / max(float(np.linalg.norm(ab) * np.linalg.norm(ac)), 1e-6)
            if abs(cos) > 0.8:
                continue
            if ab[0] * ac[1] - ab[1] * ac[0] < 0:  # y points down: top-right is clockwise of bottom-left
                b, c = c, b
            module = float(np.mean(modules))
            spacing = (float(np.linalg.norm(ab)) + float(np.linalg.norm(ac))) / 2 / module
            hypotheses.append(([(corner, 0), (b, 1), (c, 2)], _sizes_for(spacing, False)))
    if not hypotheses:
        pairs = [
            (one, two)
            for one, two in itertools.combinations(finders, 2)
            if max(one.module, two.module) <= 2.0 * min(one.module, two.module)
        ]
        pairs.sort(key=lambda p: abs(math.log(p[0].module / p[1].module)))
        for one, two in pairs[:MAX_PAIRS]:
            spacing = math.dist(one.centre, two.centre) / ((one.module + two.module) / 2)
            if not 12 < spacing < 250:
                continue
            for ra, rb in PAIR_ROLES:
                diagonal = {ra, rb} == {1, 2}
                hypotheses.append(([(one, ra), (two, rb)], _sizes_for(spacing, diagonal)))
    scored = []
    for roles, sizes in hypotheses:
        for size in sizes:
            homography = placement(roles, size)
            if homography is not None:
                known = tuple(role for _, role in roles)
                scored.append((placement_score(grey, homography, size, known), homography, size))
    scored.sort(key=lambda t: -t[0])
    return scored


# One finder pattern alone (the other two under a blot or glare, or blurred into their neighbours): its four
# ring-middle corners give the module size and the symbol's axes, and the timing patterns that leave its inner
# corner give the size. It is tried only when a polarity holds a single finder candidate.
# A timing pattern must alternate this many modules past the finder's separator: a version 1 symbol's runs
# 7 (five timing modules, the far finder's separator and its edge).
MIN_TIMING_RUN = 6
MAX_TIMING_RUN = 180  # modules sampled along a timing pattern at most (a version 40 symbol's is 163)
# The timing directions (start in the finder's own module coordinates, step) that leave a finder in each role:
# the top-left one has both, the top-right one the row to its left, the bottom-left one the column above it.
TIMING_PATHS = {
    0: (((7.5, 6.5), (1.0, 0.0)), ((6.5, 7.5), (0.0, 1.0))),
    1: (((-0.5, 6.5), (-1.0, 0.0)),),
    2: (((6.5, -0.5), (0.0, -1.0)),),
}
# The modules of a finder pattern, row by row, and which are dark (the smallest symbol's top-left finder).
_FINDER_CELLS = np.array([(c + 0.5, r + 0.5) for r in range(7) for c in range(7)], np.float32)
_FINDER_DARK = function_patterns(21)[0][:7, :7].ravel() == 1


def _finder_affines(finder: Finder) -> list[np.ndarray]:
    """The four affine maps (3x3) from the finder pattern's own module coordinates to the picture, one per
    corner of its quadrilateral taken as the pattern's top-left: an affine map, not a homography, since the
    perspective of a 6-module square does not extrapolate across a symbol."""
    assert finder.quad is not None
    quad = _clockwise(finder.quad).astype(np.float32)
    ideal = np.array([(0.5, 0.5), (6.5, 0.5), (6.5, 6.5), (0.5, 6.5)], np.float32)
    out = []
    for k in range(4):
        affine, _ = cv2.estimateAffine2D(ideal, np.roll(quad, -k, axis=0), method=cv2.LMEDS)
        if affine is not None:
            out.append(np.vstack([affine, [0.0, 0.0, 1.0]]))
    return out


ADJUST_SCALES = (1.0, 0.97, 1.03, 0.94, 1.06)
ADJUST_TURNS = (0.0, -0.025, 0.025)  # radians


def _adjusted(affine: np.ndarray) -> list[np.ndarray]:
    """``affine`` with its scale and turn about the finder's centre changed by the steps above."""
    out = []
    for scale in ADJUST_SCALES:
        for turn in ADJUST_TURNS:
            c, s = scale * math.cos(turn), scale * math.sin(turn)
            local = np.array([[c, -s, 3.5 - 3.5 * (c - s)], [s, c, 3.5 - 3.5 * (s + c)], [0.0, 0.0, 1.0]])
            out.append(affine @ local)
    return out


def _sample(grey: np.ndarray, matrix: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """Grey levels at ``points`` (module coordinates) through ``matrix``, ``None`` if any falls outside."""
    spots = cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float32), matrix).reshape(-1, 2)
    height, width = grey.shape
    if spots.min() < 0 or (spots[:, 0] > width - 1).any() or (spots[:, 1] > height - 1).any():
        return None
    return cv2.remap(grey, spots[:, 0:1], spots[:, 1:2], cv2.INTER_LINEAR).ravel().astype(np.float32)


def _timing_run(
    grey: np.ndarray,
    matrix: np.ndarray,
    start: tuple[float, float],
    step: tuple[float, float],
    level: float,
    dark_low: bool,
) -> int:
    """How many modules from ``start`` (the separator beside the finder) alternate light, dark, light ... as a
    timing pattern does, through ``matrix``; one odd module in the run is forgiven, two in a row end it."""
    j = np.arange(MAX_TIMING_RUN, dtype=np.float32)
    points = np.stack([start[0] + j * step[0], start[1] + j * step[1]], axis=1)
    spots = cv2.perspectiveTransform(points.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    height, width = grey.shape
    inside = (
        (spots[:, 0] >= 0) & (spots[:, 0] <= width - 1) & (spots[:, 1] >= 0) & (spots[:, 1] <= height - 1)
    )
    n = int(np.argmin(inside)) if not inside.all() else len(inside)
    if n < MIN_TIMING_RUN:
        return 0
    values = cv2.remap(grey, spots[:n, 0:1], spots[:n, 1:2], cv2.INTER_LINEAR).ravel()
    dark = values < level if dark_low else values > level
    match = dark == (np.arange(n) % 2 == 1)
    last = -1
    for i in range(n):
        if match[i]:
            last = i
        elif i + 2 >= n or not (match[i + 1] and match[i + 2]):  # a finder's solid edge misses every other
            break
    return last + 1


def single_placements(grey: np.ndarray, finder: Finder) -> list[tuple[float, np.ndarray, int, int]]:
    """(score, homography, size, role) of the symbols one finder pattern can be a corner of, best first: in
    each of its three roles and four turns, the sizes the timing patterns leaving it alternate for (they
    run to 7 modules before the far edge), scored as ``placements`` scores them (other finders, timing)."""
    if finder.quad is None:
        return []
    scored = []
    for affine in _finder_affines(finder):
        values = _sample(grey, affine, _FINDER_CELLS)
        if values is None:
            continue
        dark_mean, light_mean = values[_FINDER_DARK].mean(), values[~_FINDER_DARK].mean()
        if abs(dark_mean - light_mean) < 10:
            continue
        level, dark_low = (dark_mean + light_mean) / 2, bool(dark_mean < light_mean)
        for role, paths in TIMING_PATHS.items():
            # The finder's corners give its scale and turn to a few per cent and a degree or two, which
            # drifts a sampling line off a timing pattern within 15 modules: the longest runs' change wins.
            runs, matrix = max(
                (
                    (
                        [_timing_run(grey, adjusted, start, step, level, dark_low) for start, step in paths],
                        adjusted,
                    )
                    for adjusted in _adjusted(affine)
                ),
                key=lambda t: sum(t[0]),
            )
            sizes: list[int] = []
            for run in sorted(runs, reverse=True):
                if run < MIN_TIMING_RUN:
                    continue
                # The run's last module is the far finder's edge, 7 modules before the far side (run + 13
                # modules a side), or that finder's separator when the finder is blotted or missing.
                near = sorted(range(21, 178, 4), key=lambda s: abs(s - (run + 13.5)))[:2]
                sizes += [s for s in near if s not in sizes]
            for size in sizes:
                ox, oy = _origin(role, size)
                shift = np.array([[1.0, 0.0, -ox], [0.0, 1.0, -oy], [0.0, 0.0, 1.0]])
                homography = matrix @ shift
                scored.append((placement_score(grey, homography, size, (role,)), homography, size, role))
    scored.sort(key=lambda t: -t[0])
    return scored


def _corners(homography: np.ndarray, size: int) -> tuple[tuple[float, float], ...]:
    square = np.array([[[0, 0]], [[size, 0]], [[size, size]], [[0, size]]], np.float32)
    return tuple((float(x), float(y)) for x, y in cv2.perspectiveTransform(square, homography).reshape(4, 2))


def read_by_finders(
    grey: np.ndarray, deadline: float | None = None, alone: bool = True
) -> tuple[str, tuple[tuple[float, float], ...]] | None:
    """The text and corners of a QR symbol located by its finder patterns, or ``None``: finder candidates
    in either polarity, the best-scoring placements they make read by ``read_grid``; then, in a polarity
    with a single candidate, the placements it makes alone (unless ``alone`` is false: they come last, so
    that they never take the budget from the better-founded placements of two or three finders). Tries
    nothing new once ``cpu_clock()`` passes ``deadline``."""
    singles: list[Finder] = []
    for inverted in (False, True):
        if past(deadline):
            return None
        finders = finder_candidates(grey, inverted)
        if len(finders) == 1:
            singles.append(finders[0])
            continue
        found = _read_best(grey, placements(grey, finders) if finders else [], MIN_SCORE, deadline)
        if found:
            return found
    for finder in singles if alone else []:
        hypotheses = [(score, h, size) for score, h, size, _ in single_placements(grey, finder)]
        found = _read_best(grey, hypotheses, MIN_ALONE_SCORE, deadline)
        if found:
            return found
    return None


def _read_best(
    grey: np.ndarray, hypotheses: list[tuple[float, np.ndarray, int]], floor: float, deadline: float | None
) -> tuple[str, tuple[tuple[float, float], ...]] | None:
    """The first of the ``MAX_READS`` best ``hypotheses`` scoring at least ``floor`` that ``read_grid``
    reads, with its corners."""
    for score, homography, size in hypotheses[:MAX_READS]:
        if score < floor or past(deadline):
            break
        corners = _corners(homography, size)
        text = read_grid(grey, corners, size, deadline=deadline)
        if text:
            return text, corners
    return None

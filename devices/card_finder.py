"""Find an ID card in a camera frame and rectify it to the card's 85.6 × 54 mm shape.

The card is a pale, low-saturation rounded rectangle, rarely centred or square-on. Two cheap cues propose
outlines — the pale-and-grey mask, and edges — and each outline is fitted with four straight sides (the
rounded corners would pull a polygon fit inwards) and scored by how card-like it is. Front/back and the
180° ambiguity are settled later from the text, which is much more reliable than any picture cue.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CARD_ASPECT = 85.6 / 54.0
RECT_W, RECT_H = 856, 540  # 10 px per mm: glyphs come out about 28 px high, what the recogniser likes
WORK_WIDTH = 640  # frames are searched at this width: enough for a card, cheap on two cores
FIT_POINTS = 100  # about this many outline points per side go into its line fit: its cost grows with them


@dataclass(frozen=True)
class CardLocation:
    """Where the card is: ``quad`` in frame pixels (top-left, top-right, bottom-right, bottom-left of the
    card as it lies, long side first), how much of the frame it fills, and whether it runs off the frame."""

    quad: np.ndarray
    area_fraction: float
    touches_border: bool
    fill_ratio: float  # the outline's area over the fitted quad's: below ~0.95 something covers an edge


def _order_quad(pts: np.ndarray) -> np.ndarray:
    """Corners ordered clockwise from the one nearest the image's top-left, long side first."""
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates (y down)
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    top = np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[2] - pts[3])
    side = np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])
    if side > top:  # card standing on its short side: make the long side the top
        pts = np.roll(pts, -1, axis=0)
    return pts.astype(np.float32)


def _fit_sides(contour: np.ndarray, approx: np.ndarray) -> np.ndarray | None:
    """Refine a 4-point approximation by fitting a line to each side's contour points and intersecting."""
    points = contour.reshape(-1, 2).astype(np.float32)
    corners = approx.reshape(4, 2).astype(np.float32)
    lines = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        ab = b - a
        length = float(np.linalg.norm(ab))
        if length < 10:
            return None
        t = ((points - a) @ ab) / (length * length)
        dist = np.abs((points - a) @ np.array([-ab[1], ab[0]]) / length)
        # The middle 70 % of each side: away from the rounded corners.
        near = points[(t > 0.15) & (t < 0.85) & (dist < max(4.0, 0.03 * length))]
        if len(near) < 5:
            return None
        near = near[:: max(1, len(near) // FIT_POINTS)]  # a contour's every pixel: a sample fits as well
        vx, vy, x0, y0 = cv2.fitLine(near, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0]), np.array([vx, vy])))
    out = []
    for i in range(4):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        m = np.array([d1, -d2]).T
        if abs(np.linalg.det(m)) < 1e-6:
            return None
        s = np.linalg.solve(m, p2 - p1)
        out.append(p1 + s[0] * d1)
    return np.array(out, np.float32)


def _candidates(small: np.ndarray) -> list[np.ndarray]:
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    masks = []
    sat, val = hsv[..., 1], hsv[..., 2]
    # Pale and unsaturated compared with the scene: thresholds adapt to the frame's exposure.
    v_cut = max(90.0, float(np.percentile(val, 55)))
    pale = ((val >= v_cut) & (sat < 70)).astype(np.uint8) * 255
    masks.append(pale)
    _, otsu = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    masks.append(otsu)
    edges = cv2.Canny(cv2.GaussianBlur(grey, (5, 5), 0), 30, 90)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    filled = np.zeros_like(edges)
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(filled, contours, -1, 255, -1)
    masks.append(cv2.erode(filled, np.ones((3, 3), np.uint8)))
    found: list[np.ndarray] = []
    kernel = np.ones((7, 7), np.uint8)
    for mask in masks:
        closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)  # fill the printed text and photo
        opened = cv2.morphologyEx(closed, cv2.MORPH_OPEN, kernel)  # cut thin bridges to the background
        contours, _ = cv2.findContours(opened, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        found.extend(c for c in contours if cv2.contourArea(c) > 0.04 * small.shape[0] * small.shape[1])
    return found


def _edge_support(quad: np.ndarray, edges: np.ndarray) -> float:
    """The fraction of points along the quad's sides (away from the rounded corners) that lie on an edge;
    the weakest side counts double, so an outline that cuts across a background object scores low."""
    h, w = edges.shape
    fractions = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        t = np.linspace(0.1, 0.9, 48)[:, None]
        pts = np.round(a + (b - a) * t).astype(int)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        hits = np.zeros(len(pts), bool)
        hits[inside] = edges[pts[inside, 1], pts[inside, 0]] > 0
        fractions.append(hits.mean())
    return (sum(fractions) + min(fractions)) / 5


def _line_quads(edges: np.ndarray) -> list[np.ndarray]:
    """Quads built from long straight edge segments: two roughly parallel pairs, roughly perpendicular.
    This finds the card when it touches a pale object and the brightness masks merge the two."""
    h, w = edges.shape
    # Only long connected edges: glyph edges along a printed line would otherwise line up into "sides".
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    long_edges = np.zeros_like(edges)
    cv2.drawContours(long_edges, [c for c in contours if cv2.arcLength(c, False) > 0.5 * w], -1, 255, 1)
    segs = cv2.HoughLinesP(long_edges, 1, np.pi / 180, 50, minLineLength=int(0.1 * w), maxLineGap=20)
    if segs is None:
        return []
    segs = sorted(segs.reshape(-1, 4).astype(np.float32), key=lambda s: -np.hypot(s[2] - s[0], s[3] - s[1]))
    lines: list[tuple[np.ndarray, np.ndarray, float]] = []  # point, unit direction, angle in [0, pi)
    for x1, y1, x2, y2 in segs:
        d = np.array([x2 - x1, y2 - y1])
        d /= np.linalg.norm(d)
        p = np.array([x1, y1])
        ang = float(np.arctan2(d[1], d[0]) % np.pi)
        duplicate = any(
            min(abs(ang - a), np.pi - abs(ang - a)) < 0.05 and abs((p - q) @ np.array([-e[1], e[0]])) < 10
            for q, e, a in lines
        )
        if not duplicate:
            lines.append((p, d, ang))
        if len(lines) >= 14:
            break

    def cross(
        l1: tuple[np.ndarray, np.ndarray, float], l2: tuple[np.ndarray, np.ndarray, float]
    ) -> np.ndarray:
        m = np.array([l1[1], -l2[1]]).T
        s = np.linalg.solve(m, l2[0] - l1[0])
        return l1[0] + s[0] * l1[1]

    def angle_gap(a: float, b: float) -> float:
        return min(abs(a - b), np.pi - abs(a - b))

    pairs = [
        (lines[i], lines[j])
        for i in range(len(lines))
        for j in range(i + 1, len(lines))
        if angle_gap(lines[i][2], lines[j][2]) < 0.5
        and abs((lines[j][0] - lines[i][0]) @ np.array([-lines[i][1][1], lines[i][1][0]])) > 0.08 * w
    ]
    quads = []
    for k, (a1, a2) in enumerate(pairs):
        for b1, b2 in pairs[k + 1 :]:
            if angle_gap(a1[2], b1[2]) < 0.7:  # the two pairs must be roughly perpendicular
                continue
            try:
                quad = np.array([cross(a1, b1), cross(b1, a2), cross(a2, b2), cross(b2, a1)], np.float32)
            except np.linalg.LinAlgError:
                continue
            if (np.abs(quad) < 4 * max(h, w)).all():
                quads.append(_order_quad(quad))
    return quads


def _quad_score(quad: np.ndarray, edges: np.ndarray) -> float:
    """Big, convex, card-shaped outlines whose sides follow edges score high."""
    area = cv2.contourArea(quad)
    h, w = edges.shape
    if area < 0.04 * h * w or not cv2.isContourConvex(quad.astype(np.int32)):
        return 0.0
    top = float(np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3]))
    side = float(np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1]))
    aspect_fit = max(0.0, 1.0 - abs(np.log(top / max(side, 1e-6) / CARD_ASPECT)) / 0.4)
    return np.sqrt(area / (h * w)) * aspect_fit * _edge_support(quad, edges) ** 2


def find_card(frame: np.ndarray) -> CardLocation | None:
    """The most card-like quadrilateral in a BGR frame, or ``None`` when nothing looks like a card."""
    h, w = frame.shape[:2]
    scale = WORK_WIDTH / w if w > WORK_WIDTH else 1.0
    small = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(grey, (5, 5), 0), 25, 75)
    support = cv2.dilate(edges, np.ones((5, 5), np.uint8))
    best: tuple[float, np.ndarray, float] | None = None
    proposals: list[tuple[np.ndarray, np.ndarray | None]] = []
    for contour in _candidates(small):
        hull = cv2.convexHull(contour)
        peri = cv2.arcLength(hull, True)
        for eps in (0.02, 0.035, 0.05):
            approx = cv2.approxPolyDP(hull, eps * peri, True)
            if len(approx) == 4:
                break
        else:
            approx = cv2.boxPoints(cv2.minAreaRect(hull)).reshape(4, 1, 2)
        fitted = _fit_sides(contour, approx)
        proposals.append(
            (_order_quad(approx.reshape(4, 2).astype(np.float32) if fitted is None else fitted), contour)
        )
    proposals.extend((line_quad, None) for line_quad in _line_quads(edges))
    for quad, outline in proposals:
        score = _quad_score(quad, support)
        if score > 0 and (best is None or score > best[0]):
            fill = 1.0 if outline is None else min(1.0, cv2.contourArea(outline) / cv2.contourArea(quad))
            best = (score, quad, fill)
    if best is None or best[0] < 0.02:
        return None
    _, quad, fill = best
    margin = 3
    touches = bool(
        (quad[:, 0] < margin).any()
        or (quad[:, 1] < margin).any()
        or (quad[:, 0] > small.shape[1] - 1 - margin).any()
        or (quad[:, 1] > small.shape[0] - 1 - margin).any()
    )
    quad = quad / scale
    return CardLocation(
        quad=quad,
        area_fraction=float(cv2.contourArea(quad) / (h * w)),
        touches_border=touches,
        fill_ratio=float(fill),
    )


def rectify(frame: np.ndarray, quad: np.ndarray, rotate_180: bool = False) -> np.ndarray:
    """The card straightened to ``RECT_W × RECT_H``; ``rotate_180`` for a card lying upside down."""
    dst = np.array([[0, 0], [RECT_W, 0], [RECT_W, RECT_H], [0, RECT_H]], np.float32)
    src = np.roll(quad, 2, axis=0) if rotate_180 else quad
    matrix = cv2.getPerspectiveTransform(src.astype(np.float32), dst)
    return cv2.warpPerspective(
        frame, matrix, (RECT_W, RECT_H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )

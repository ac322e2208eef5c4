"""Camera-like renderings of QR codes, the stand-in for real photos a decoder was never tuned on.

Each picture is a code printed or shown on a screen, photographed: strong perspective, a curved surface (a
bottle, a wrist band), defocus or motion blur, glare, uneven light and shadow, low contrast, the moiré of a
phone screen, sensor noise, JPEG artefacts and small module sizes, in random mixes. What varies and how much
is chosen per picture from the generator, so two seeds give two disjoint sets: ``TUNE_SEED`` is the only one
decoder choices may be tuned on; ``REPORT_SEED`` is kept apart for the figure that counts
(docs/benchmarks.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import segno

from kiosk.idnumber import check_digit

TUNE_SEED = 11
REPORT_SEED = 29

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@dataclass
class QrPhoto:
    image: np.ndarray  # BGR
    text: str
    effects: tuple[str, ...]


def _payload(rng: np.random.Generator) -> str:
    kind = int(rng.integers(0, 5))
    if kind == 0:
        first17 = "".join(str(d) for d in rng.integers(0, 10, 17))
        return first17 + check_digit(first17)
    if kind == 1:
        return f"https://example.gov.cn/s?q={int(rng.integers(10**6, 10**12))}"
    if kind == 2:
        return "票" + f"{int(rng.integers(0, 10**6)):06d}" + "号 核验通过"
    if kind == 3:  # a signed pass: long and dense
        n = int(rng.integers(120, 300))
        return "HC1:" + "".join(_ALNUM[j] for j in rng.integers(0, len(_ALNUM), n))
    return (
        "WIFI:T:WPA;S:guest-"
        + f"{int(rng.integers(0, 10**4))}"
        + ";P:"
        + f"{int(rng.integers(10**7, 10**8))};;"
    )


def _code_matrix(text: str, rng: np.random.Generator) -> np.ndarray:
    error = str(rng.choice(["l", "m", "m", "q", "h"]))
    matrix = np.array(segno.make(text, error=error, micro=False).matrix, dtype=np.uint8)
    return np.pad(matrix, 4)


def _scene(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A cluttered, unevenly lit background: gradients, blobs and straight edges (tables, paper)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(60, 200) + rng.uniform(-60, 60) * xs / width + rng.uniform(-60, 60) * ys / height
    coarse = rng.normal(0, 25, (height // 40 + 2, width // 40 + 2)).astype(np.float32)
    base = base + cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    scene = np.stack([base * t for t in rng.uniform(0.7, 1.1, 3)], axis=-1)
    for _ in range(int(rng.integers(2, 7))):
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p2 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = tuple(float(c) for c in rng.uniform(20, 235, 3))
        if rng.random() < 0.5:
            cv2.rectangle(scene, p1, p2, colour, -1)
        else:
            cv2.line(scene, p1, p2, colour, int(rng.integers(1, 6)))
    return np.clip(scene, 0, 255)


def _surface(matrix: np.ndarray, module_px: int, rng: np.random.Generator, effects: list[str]) -> np.ndarray:
    """The code as it looks on its carrier (paper or a screen), float grey, before the camera."""
    code = np.where(matrix > 0, 0.0, 1.0).astype(np.float32)
    code = cv2.resize(code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    dark, light = 25.0, 235.0
    if rng.random() < 0.2:
        effects.append("low-contrast")
        contrast = rng.uniform(0.18, 0.4)
        dark = light - (light - dark) * contrast
    surface = dark + (light - dark) * code
    if rng.random() < 0.15:
        effects.append("inverted")
        surface = 255.0 - surface
    if rng.random() < 0.2:
        effects.append("screen-moire")
        # An LCD: dark gaps between pixel cells at a pitch the camera resamples, which beats into moiré.
        pitch = float(rng.uniform(2.2, 4.5))
        h, w = surface.shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        grid = (0.5 + 0.5 * np.cos(2 * math.pi * xs / pitch)) * (0.5 + 0.5 * np.cos(2 * math.pi * ys / pitch))
        surface = surface * (0.55 + 0.45 * grid)
    if rng.random() < 0.15:
        effects.append("damage")
        h, w = surface.shape
        for _ in range(int(rng.integers(3, 12))):
            centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            radius = int(rng.integers(1, max(2, module_px * 2)))
            cv2.circle(surface, centre, radius, float(rng.choice([30.0, 230.0])), -1)
    return surface


def _curve(surface: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Wrap the code round a cylinder: columns squeezed towards the edges, rows bowed."""
    h, w = surface.shape
    strength = rng.uniform(0.35, 0.8)  # fraction of a half-turn the code covers
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xs / (w - 1)) * 2 - 1  # -1..1 across the output
    angle = u * strength * math.pi / 2
    src_x = (np.sin(angle) / math.sin(strength * math.pi / 2) + 1) / 2 * (w - 1)
    bow = rng.uniform(0.02, 0.08) * h
    src_y = ys + bow * (1 - np.cos(angle) / 1.0) * ((ys / (h - 1)) * 2 - 1)
    return cv2.remap(surface, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def render_qr_photo(rng: np.random.Generator, width: int = 800, height: int = 600) -> QrPhoto:
    text = _payload(rng)
    matrix = _code_matrix(text, rng)
    effects: list[str] = []
    module_px = 6
    surface = _surface(matrix, module_px, rng, effects)
    if rng.random() < 0.2:
        effects.append("curved")
        surface = _curve(surface, rng)
    modules = matrix.shape[0]
    # Size on the sensor: from about 1.4 px a module (far away) to a code filling most of the picture.
    px_per_module = float(rng.uniform(1.5, 8.0))
    size = min(px_per_module * modules, 0.9 * min(width, height))
    if px_per_module < 2.2:
        effects.append("small")
    scene = _scene(width, height, rng)
    h, w = surface.shape
    half = size / 2
    skew = rng.uniform(0.0, 0.35) if rng.random() < 0.5 else rng.uniform(0.0, 0.1)
    if skew > 0.15:
        effects.append("perspective")
    local = np.array([[-half, -half], [half, -half], [half, half], [-half, half]], dtype=np.float32)
    local += rng.uniform(-skew, skew, (4, 2)).astype(np.float32) * size
    a = rng.uniform(0, 2 * math.pi)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=np.float32)
    spread = size * (0.5 + skew)
    centre = np.array(
        [
            rng.uniform(spread, max(spread + 1, width - spread)),
            rng.uniform(spread, max(spread + 1, height - spread)),
        ],
        dtype=np.float32,
    )
    dst = local @ rot.T + centre
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix_p = cv2.getPerspectiveTransform(src, dst)
    # Warp a supersampled patch then shrink it: the sensor integrates light over each pixel. Only the
    # code's bounding box is warped, which keeps rendering fast.
    x0, y0 = np.floor(dst.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(dst.max(axis=0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    ss = 2
    shift = np.array([[ss, 0, -ss * x0], [0, ss, -ss * y0], [0, 0, 1]], dtype=np.float64)
    patch_size = ((x1 - x0) * ss, (y1 - y0) * ss)
    big = cv2.warpPerspective(surface, shift @ matrix_p, patch_size, flags=cv2.INTER_LINEAR, borderValue=-1.0)
    coverage = cv2.resize((big >= 0).astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    grey = cv2.resize(np.maximum(big, 0), (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    image = scene.astype(np.float32)
    region = image[y0:y1, x0:x1]
    alpha = coverage[..., None]
    safe = np.where(coverage > 1e-3, coverage, 1.0)
    image[y0:y1, x0:x1] = region * (1 - alpha) + (grey / safe)[..., None] * alpha
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if rng.random() < 0.25:
        effects.append("uneven-light")
        gx, gy = rng.uniform(-1, 1, 2)
        light = 1 + rng.uniform(0.3, 0.7) * (gx * (xs / width - 0.5) + gy * (ys / height - 0.5))
        if rng.random() < 0.5:  # a hard shadow edge (a hand, the phone) across the code
            nx, ny = rng.normal(size=2)
            offset = nx * centre[0] + ny * centre[1] + rng.uniform(-size / 3, size / 3)
            light = light * np.where(nx * xs + ny * ys > offset, rng.uniform(0.35, 0.65), 1.0)
        image = image * light[..., None]
    if rng.random() < 0.2:
        effects.append("glare")
        gx, gy = centre + rng.uniform(-size / 3, size / 3, 2)
        sigma = rng.uniform(0.08, 0.3) * size
        blob = np.exp(-((xs - gx) ** 2 + (ys - gy) ** 2) / (2 * sigma**2))
        image = image + rng.uniform(120, 260) * blob[..., None]
    blur_kind = rng.choice(["none", "none", "none", "defocus", "motion"])
    if blur_kind == "defocus":
        effects.append("defocus")
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 1.8))
    elif blur_kind == "motion":
        effects.append("motion-blur")
        length = int(rng.integers(3, 9))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        rot_k = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1)
        kernel = cv2.warpAffine(kernel, rot_k, (length, length))
        image = cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))
    image = image + rng.normal(0, rng.uniform(2, 10), image.shape[:2])[..., None]
    image = np.clip(image, 0, 255).astype(np.uint8)
    quality = int(rng.integers(25, 95))
    if quality < 50:
        effects.append("jpeg")
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if ok:
        image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return QrPhoto(image, text, tuple(effects))


def qr_photo_set(count: int, seed: int, width: int = 800, height: int = 600) -> list[QrPhoto]:
    """``count`` renderings from ``seed`` (the same seed always gives the same pictures)."""
    rng = np.random.default_rng(seed)
    return [render_qr_photo(rng, width, height) for _ in range(count)]

"""Camera-like renderings of QR codes, the stand-in for real photos a decoder was never tuned on.

Each picture is a code printed or shown on a screen, photographed: strong perspective, a curved surface (a
bottle, a wrist band), defocus or motion blur, glare, uneven light and shadow, low contrast, the moiré of a
phone screen, sensor noise, JPEG artefacts and small module sizes, in random mixes. What varies and how much
is chosen per picture from the generator, so two seeds give two disjoint sets: ``TUNE_SEED`` is the only one
decoder choices may be tuned on; ``REPORT_SEED`` is kept apart for the figure that counts
(docs/benchmarks.md).
"""

from __future__ import annotations

import functools
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
    # The code's modules (1 dark, quiet zone included) and where each module's centre landed in the image
    # (x, y in pixel-index coordinates, shape (n, n, 2)): what ``oracle_read`` is given.
    matrix: np.ndarray
    centres: np.ndarray
    error: str  # the error level asked of the encoder


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


def _code_matrix(text: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """The symbol's modules with the quiet zone, and the error level asked for (segno raises it when the
    version has room to spare, as most encoders do)."""
    error = str(rng.choice(["l", "m", "m", "q", "h"]))
    matrix = np.array(segno.make(text, error=error, micro=False).matrix, dtype=np.uint8)
    return np.pad(matrix, 4), error


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


def _curve(surface: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """Wrap the code round a cylinder: columns squeezed towards the edges, rows bowed. Also returns the
    draws (``strength``, ``bow``) that ``_curved_points`` needs to follow a point of the flat code."""
    h, w = surface.shape
    strength = rng.uniform(0.35, 0.8)  # fraction of a half-turn the code covers
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xs / (w - 1)) * 2 - 1  # -1..1 across the output
    angle = u * strength * math.pi / 2
    src_x = (np.sin(angle) / math.sin(strength * math.pi / 2) + 1) / 2 * (w - 1)
    bow = rng.uniform(0.02, 0.08) * h
    src_y = ys + bow * (1 - np.cos(angle) / 1.0) * ((ys / (h - 1)) * 2 - 1)
    curved = cv2.remap(surface, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return curved, float(strength), float(bow)


def _curved_points(points: np.ndarray, shape: tuple[int, int], strength: float, bow: float) -> np.ndarray:
    """Where points (x, y) of the flat code land on the curved one: ``_curve``'s sampling map inverted."""
    h, w = shape
    half_turn = strength * math.pi / 2
    sx, sy = points[..., 0], points[..., 1]
    angle = np.arcsin(np.clip((2 * sx / (w - 1) - 1) * math.sin(half_turn), -1, 1))
    x = (angle / half_turn + 1) / 2 * (w - 1)
    b = bow * (1 - np.cos(angle))
    y = (sy + b) / (1 + 2 * b / (h - 1))
    return np.stack([x, y], axis=-1)


def render_qr_photo(rng: np.random.Generator, width: int = 800, height: int = 600) -> QrPhoto:
    text = _payload(rng)
    matrix, error = _code_matrix(text, rng)
    effects: list[str] = []
    module_px = 6
    surface = _surface(matrix, module_px, rng, effects)
    # Module centres in the flat code's pixel-index coordinates (each module is module_px nearest pixels).
    rows, cols = np.mgrid[0 : matrix.shape[0], 0 : matrix.shape[1]].astype(np.float64)
    centres = np.stack([cols, rows], axis=-1) * module_px + (module_px - 1) / 2
    if rng.random() < 0.2:
        effects.append("curved")
        surface, strength, bow = _curve(surface, rng)
        centres = _curved_points(centres, surface.shape, strength, bow)
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
    # A surface point p is warped to ss * (H p - (x0, y0)) in the supersampled patch, whose 2x2 pixel blocks
    # average into one image pixel: image index = H p - (ss - 1) / (2 ss).
    projected = cv2.perspectiveTransform(centres.reshape(-1, 1, 2), matrix_p).reshape(centres.shape)
    centres = projected - (ss - 1) / (2 * ss)
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
    return QrPhoto(image, text, tuple(effects), matrix, centres, error)


def qr_photo_set(count: int, seed: int, width: int = 800, height: int = 600) -> list[QrPhoto]:
    """``count`` renderings from ``seed`` (the same seed always gives the same pictures)."""
    rng = np.random.default_rng(seed)
    return [render_qr_photo(rng, width, height) for _ in range(count)]


# Each sampled module is compared with the mean of the modules around it, over windows of these many modules
# a side (small windows follow glare and shadows, large ones ride over blots); any one decoding counts.
ORACLE_WINDOWS = (5, 9, 15)
ORACLE_MODULE_PX = 4


def function_modules(text: str, error: str) -> np.ndarray:
    """The modules of ``text``'s symbol that carry no data (finder, timing and alignment patterns, format and
    version information), as a boolean mask with the quiet zone."""
    symbol = segno.make(text, error=error, micro=False)
    return np.pad(_layout(symbol.version, symbol.error, symbol.mask), 4, constant_values=True)


@functools.lru_cache(maxsize=64)
def _layout(version: int, error: str, mask: int) -> np.ndarray:
    """The modules that are the same in eight symbols of this version, error level and mask whose payloads
    are random digits filling the symbol (a short payload would leave identical padding codewords) and of
    eight lengths. Counted as function modules too, so handed to the oracle: the data modules that agree in
    all eight by chance (one in 128) and the header the payloads share (the mode indicator and the top bits
    of the character count, about 11 bits): at most a few codewords of the symbol's tens to thousands."""
    rng = np.random.default_rng(version)

    def full(digits: int) -> segno.QRCode | None:
        payload = "".join(str(d) for d in rng.integers(0, 10, digits))
        try:
            return segno.make(
                payload, version=version, error=error, mask=mask, micro=False, boost_error=False
            )
        except segno.DataOverflowError:
            return None

    low, high = 1, 7090  # the most digits any QR symbol holds is 7089
    while high - low > 1:  # the longest numeric payload this version holds
        mid = (low + high) // 2
        low, high = (mid, high) if full(mid) is not None else (low, mid)
    symbols = [full(max(1, low - k)) for k in range(8)]
    matrices = [np.array(sym.matrix, dtype=np.uint8) for sym in symbols if sym is not None]
    return np.all([m == matrices[0] for m in matrices], axis=0)


def oracle_read(photo: QrPhoto) -> str | None:
    """What a reader that is *given* the code's geometry and layout reads: the grey picture sampled at each
    module's true centre, each sample thresholded against its neighbours, the data modules put into a clean
    symbol whose finder, timing, alignment and format modules are the true ones, decoded by zxing-cpp (which
    corrects errors up to the code's level). A picture this cannot read has lost more data modules to blur,
    glare, contrast, blots or noise than the code's error correction repairs, wherever a decoder finds the
    code; one it reads and a decoder misses was lost in locating or sampling, which decoders can improve."""
    import zxingcpp  # the renderer itself needs no decoder

    grey = cv2.cvtColor(photo.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    map_x = np.ascontiguousarray(photo.centres[..., 0], dtype=np.float32)
    map_y = np.ascontiguousarray(photo.centres[..., 1], dtype=np.float32)
    samples = cv2.remap(grey, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    fixed = function_modules(photo.text, photo.error)
    for window in ORACLE_WINDOWS:
        local = cv2.blur(samples, (window, window), borderType=cv2.BORDER_REFLECT)
        for dark in (samples < local, samples > local):  # printed, and inverted (dark mode)
            modules = np.where(fixed, photo.matrix > 0, dark)
            clean = np.where(modules, 0, 255).astype(np.uint8)
            clean = np.kron(clean, np.ones((ORACLE_MODULE_PX, ORACLE_MODULE_PX), np.uint8))
            found = zxingcpp.read_barcodes(
                clean,
                formats=zxingcpp.barcode_formats_from_str("QRCode"),
                text_mode=zxingcpp.TextMode.Plain,
                is_pure=True,
            )
            for bar in found:
                if bar.text:
                    return str(bar.text)
    return None

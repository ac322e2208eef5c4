"""QR decoders behind the ``kiosk.scanning.Decoder`` protocol.

``CascadeDecoder`` is the app's default: zxing-cpp on the full frame and, only when that finds nothing,
cheap fallbacks (see its docstring). The choice and its cost are measured by ``python -m bench.decoders``
(docs/benchmarks.md). ``OpenCvDecoder`` and ``ZbarDecoder`` are candidates for the benchmark; pyzbar needs
the system zbar library, so it is imported lazily and never needed by the app.

No decoder raises on a bad image (empty, wrong dtype, odd channels): it returns ``[]``. Decoded texts are
never logged (they may hold personal data).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable

import cv2
import numpy as np
import zxingcpp

from devices.qr_finders import read_by_finders
from devices.qr_grid import cpu_clock, past, read_grid, symbol_size
from kiosk.scanning import DecodedSymbol, Decoder

log = logging.getLogger(__name__)

MIN_SIDE = 21  # a QR code has at least 21 modules; smaller images cannot hold one

Corners = tuple[tuple[float, float], ...]


def to_grey(image: object) -> np.ndarray | None:
    """A contiguous 2-D ``uint8`` view of a BGR / BGRA / grey image, or ``None`` if it cannot hold a code."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        return None
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        grey = image
    elif image.ndim == 3 and image.shape[2] == 3:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    elif image.ndim == 3 and image.shape[2] == 4:
        grey = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    else:
        return None
    if min(grey.shape) < MIN_SIDE:
        return None
    return np.ascontiguousarray(grey)


def dedupe(symbols: Iterable[DecodedSymbol]) -> list[DecodedSymbol]:
    """The symbols with each text once (the first occurrence wins), in order."""
    seen: set[str] = set()
    out = []
    for sym in symbols:
        if sym.text and sym.text not in seen:
            seen.add(sym.text)
            out.append(sym)
    return out


def _scaled(corners: Corners, factor: float) -> Corners:
    return tuple((x * factor, y * factor) for x, y in corners)


def _bytes_to_text(data: bytes) -> str:
    """OpenCV and zbar give raw bytes: UTF-8 when valid, else ISO-8859-1 (the QR default)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _model2_size(bar: zxingcpp.Barcode) -> int | None:
    """Modules a side of a located QR Model 2 symbol, from the version zxing-cpp read (its ``extra``
    details; Micro QR and rMQR symbols, mostly phantoms on damaged codes, give ``None``)."""
    extra = bar.extra if isinstance(bar.extra, dict) else {}
    version = str(extra.get("Version", ""))
    if bar.format != zxingcpp.BarcodeFormat.QRCode or not version.isdigit():
        return None
    return 17 + 4 * int(version)


class ZxingDecoder:
    """zxing-cpp (``read_barcodes``), QR family only by default. Texts are the plain payload
    (``TextMode.Plain``): control characters and GS1 separators are kept, not rendered as ``<GS>``."""

    def __init__(
        self,
        formats: str = "QRCode",
        *,
        binarizer: str = "LocalAverage",
        try_rotate: bool = True,
        try_downscale: bool = True,
        try_invert: bool = True,
        is_pure: bool = False,
        name: str = "zxing",
    ) -> None:
        self.name = name
        zxingcpp.barcode_formats_from_str(formats)  # fail now, not on the first frame, if a name is wrong
        getattr(zxingcpp.Binarizer, binarizer)
        # Only plain Python values are kept: zxing-cpp objects held past interpreter shutdown make its
        # bindings print reference-leak warnings at exit. Building them per call costs microseconds.
        self._formats = formats
        self._binarizer = binarizer
        self._try_rotate, self._try_downscale, self._try_invert = try_rotate, try_downscale, try_invert
        self._is_pure = is_pure

    def decode(self, image: np.ndarray) -> list[DecodedSymbol]:
        grey = to_grey(image)
        return [] if grey is None else self.decode_grey(grey)

    def decode_grey(self, grey: np.ndarray) -> list[DecodedSymbol]:
        return self.decode_with_suspects(grey)[0]

    def decode_with_suspects(self, grey: np.ndarray) -> tuple[list[DecodedSymbol], list[Corners]]:
        """The decoded symbols, and the corners of QR symbols zxing-cpp located (finder patterns and
        geometry found) but could not decode: cheap evidence that a further stage may be worth its cost.
        Asking zxing-cpp for them does not slow it down: it keeps what it found instead of dropping it."""
        found, suspects, _ = self.decode_located(grey)
        return found, suspects

    def decode_located(
        self, grey: np.ndarray
    ) -> tuple[list[DecodedSymbol], list[Corners], list[tuple[Corners, int]]]:
        """As ``decode_with_suspects``, plus the suspects that are full-size QR symbols whose version
        zxing-cpp read, with their size in modules (what ``devices.qr_grid.read_grid`` needs)."""
        try:
            found = zxingcpp.read_barcodes(
                grey,
                formats=zxingcpp.barcode_formats_from_str(self._formats),
                binarizer=getattr(zxingcpp.Binarizer, self._binarizer),
                text_mode=zxingcpp.TextMode.Plain,
                return_errors=True,
                try_rotate=self._try_rotate,
                try_downscale=self._try_downscale,
                try_invert=self._try_invert,
                is_pure=self._is_pure,
            )
        except Exception as err:  # a library error must never reach the scanner loop
            log.debug("%s failed on a %s image: %s", self.name, grey.shape, type(err).__name__)
            return [], [], []
        out, suspects, sized = [], [], []
        for bar in found:
            pos = bar.position
            corners = tuple(
                (float(p.x), float(p.y))
                for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
            )
            if bar.valid and bar.text:
                out.append(DecodedSymbol(bar.text, bar.format.name, corners))
            elif not bar.valid:
                suspects.append(corners)
                size = _model2_size(bar)
                if size is not None:
                    sized.append((corners, size))
        return dedupe(out), suspects, sized


class OpenCvDecoder:
    """OpenCV's ``QRCodeDetector`` (classic finder-pattern detector) or ``QRCodeDetectorAruco``."""

    def __init__(self, aruco: bool = False) -> None:
        self.aruco = aruco
        self.name = "opencv-aruco" if aruco else "opencv"
        self._detector = cv2.QRCodeDetectorAruco() if aruco else cv2.QRCodeDetector()

    def decode(self, image: np.ndarray) -> list[DecodedSymbol]:
        grey = to_grey(image)
        return [] if grey is None else self.decode_grey(grey)

    def decode_grey(self, grey: np.ndarray) -> list[DecodedSymbol]:
        try:
            # The bytes variant: the str one raises UnicodeDecodeError on a non-UTF-8 payload.
            ok, payloads, points, _ = self._detector.detectAndDecodeBytesMulti(grey)
        except Exception as err:
            log.debug("%s failed on a %s image: %s", self.name, grey.shape, type(err).__name__)
            return []
        if not ok or points is None:
            return []
        out = []
        for data, quad in zip(payloads, points, strict=False):
            if not data:
                continue
            corners = tuple((float(x), float(y)) for x, y in np.asarray(quad).reshape(-1, 2))
            out.append(DecodedSymbol(_bytes_to_text(bytes(data)), "QRCode", corners))
        return dedupe(out)


class ZbarDecoder:
    """ZBar through pyzbar, for the benchmark only (needs the system zbar library)."""

    name = "zbar"

    def __init__(self) -> None:
        from pyzbar import pyzbar  # lazy: raises ImportError when pyzbar or libzbar is missing

        self._pyzbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]

    def decode(self, image: np.ndarray) -> list[DecodedSymbol]:
        grey = to_grey(image)
        return [] if grey is None else self.decode_grey(grey)

    def decode_grey(self, grey: np.ndarray) -> list[DecodedSymbol]:
        try:
            found = self._pyzbar.decode(grey, symbols=self._symbols)
        except Exception as err:
            log.debug("zbar failed on a %s image: %s", grey.shape, type(err).__name__)
            return []
        out = []
        for sym in found:
            if not sym.data:
                continue
            corners = tuple((float(p.x), float(p.y)) for p in sym.polygon)
            out.append(
                DecodedSymbol(_bytes_to_text(sym.data), "QRCode", corners if len(corners) == 4 else ())
            )
        return dedupe(out)


def zbar_available() -> bool:
    try:
        ZbarDecoder()
    except Exception:  # ImportError, or OSError-like errors when libzbar is missing
        return False
    return True


Stage = tuple[str, Callable[[np.ndarray], list[DecodedSymbol]]]


# The upscaled stage enlarges a picture towards this many pixels, at most 2x: a small photo costs at most
# about one more 1080p pass. It is skipped when the factor would be under 1.6, so camera frames (1080p and
# 720p, where the kiosk spends its time on code-free frames) never pay for it.
UPSCALE_PIXELS = 1920 * 1080
MAX_UPSCALE = 2.0
MIN_UPSCALE = 1.6
# A suspect crop keeps this much of the symbol's size as margin on each side (the quiet zone and some slack
# for corners zxing-cpp placed a little inside the code), and is enlarged to about this long side.
# The upscaled stage also frames the picture with this fraction of its short side of flat grey (the picture's
# median): a code that runs into the picture's edge (held too close, or cut by the crop) has no quiet zone
# there, and zxing-cpp's finder-pattern scan needs light on both sides of a finder pattern.
EDGE_PAD = 1 / 12
SUSPECT_MARGIN = 0.35
SUSPECT_SIDE = 600
MAX_SUSPECTS = 3  # bounds the stage's cost on a frame full of code-like clutter
# The grid stage tries at most this many corner estimates of located symbols (each costs 20-80 ms).
MAX_GRID_SUSPECTS = 3
LOCATE_REACH = 1.5  # OpenCV's locator searches this many times the located region's size round it
# The grid stages (4, 5 and 8) stop trying new placements once they have used this many CPU seconds on a
# frame together (counted from the first of them): a located but unreadable code must not hold the scanner
# past its 100 ms frame-to-verdict bound (stages 1-3 and 6 take about 19 ms on a quiet machine's 1080p frame).
# CPU time, not wall time, so that a loaded machine's waiting for a core does not cut the work short.
GRID_BUDGET_S = 0.075
# The finder stage searches a whole picture of at most this many pixels (a photo or a crop handed in: a code
# is what it is of); a camera frame (720p, 1080p) only round what stage 1 located, since the contour search
# of a whole textured 1080p frame costs about as much as zxing-cpp's pass and most frames hold no code.
FINDER_WHOLE_PIXELS = 800 * 600


def _unsharp(grey: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.addWeighted(grey, 2.0, cv2.GaussianBlur(grey, (0, 0), sigma), -1.0, 0)


def _unsharp_box(grey: np.ndarray) -> np.ndarray:
    """``_unsharp(grey, 2.0)`` with the Gaussian approximated by two 5x5 box filters (a 9-tap triangle whose
    variance, 2 + 2, is the Gaussian's 4). On a 1080p frame the two passes cost about three quarters of
    OpenCV's 13-tap Gaussian, and stage 6 alone reads as many codes with them (docs/benchmarks.md)."""
    return cv2.addWeighted(grey, 2.0, cv2.blur(cv2.blur(grey, (5, 5)), (5, 5)), -1.0, 0)


def _shifted(
    found: list[DecodedSymbol], factor: float, dx: float = 0.0, dy: float = 0.0
) -> list[DecodedSymbol]:
    """Symbols read on a crop enlarged by ``factor`` whose origin is at (dx, dy) in the frame."""
    return [
        DecodedSymbol(s.text, s.format, tuple((x / factor + dx, y / factor + dy) for x, y in s.corners))
        for s in found
    ]


def _merged(sized: list[tuple[Corners, int]]) -> list[tuple[Corners, int]]:
    """Corner estimates to try, per located symbol: zxing-cpp often reports a symbol several times (once
    per rotation, pyramid level or inverted pass), with corners a few pixels apart. Their mean comes first,
    then each report (the grid fit starts from them, and a start a little off can end a module off).
    Symbols seen most often come first."""
    groups: list[list[tuple[Corners, int]]] = []
    for corners, size in sized:
        cx, cy = sum(x for x, _ in corners) / 4, sum(y for _, y in corners) / 4
        reach = math.dist(corners[0], corners[1]) / 4
        for group in groups:
            other, other_size = group[0]
            ox, oy = sum(x for x, _ in other) / 4, sum(y for _, y in other) / 4
            if other_size == size and math.dist((cx, cy), (ox, oy)) < reach:
                group.append((corners, size))
                break
        else:
            groups.append([(corners, size)])
    groups.sort(key=lambda g: -len(g))
    out: list[tuple[Corners, int]] = []
    for group in groups:
        mean: Corners = tuple((float(x), float(y)) for x, y in np.mean([c for c, _ in group], axis=0))
        out.append((mean, group[0][1]))
        if len(group) > 1:
            out += group
    return out


class _Primary:
    """Stage 1, which also keeps the suspects (located but undecoded symbols) of the last frame for the
    suspect stage, so that finding them costs no second pass."""

    def __init__(self, budget_s: float | None) -> None:
        self._zxing = ZxingDecoder(name="zxing")
        self.suspects: list[Corners] = []
        self.sized: list[tuple[Corners, int]] = []
        self._budget_s = budget_s
        self._deadline: float | None = None

    def __call__(self, grey: np.ndarray) -> list[DecodedSymbol]:
        self._deadline = None
        found, self.suspects, self.sized = self._zxing.decode_located(grey)
        return found

    @property
    def deadline(self) -> float | None:
        """``cpu_clock()`` after which the grid stages try nothing new on this frame: the budget starts
        when the first of them asks."""
        if self._deadline is None and self._budget_s is not None:
            self._deadline = cpu_clock() + self._budget_s
        return self._deadline

    def region(self, grey: np.ndarray) -> tuple[int, int, int, int] | None:
        """(x0, y0, x1, y1): ``LOCATE_REACH`` times the size of what stage 1 located, round it (a phantom
        sits on one finder pattern of the code, so the code lies within about its own size of it)."""
        if not self.suspects:
            return None
        xs = [x for corners in self.suspects for x, _ in corners]
        ys = [y for corners in self.suspects for _, y in corners]
        reach = LOCATE_REACH * max(max(xs) - min(xs), max(ys) - min(ys), MIN_SIDE)
        x0, y0 = max(0, int(min(xs) - reach)), max(0, int(min(ys) - reach))
        x1, y1 = min(grey.shape[1], int(max(xs) + reach)), min(grey.shape[0], int(max(ys) + reach))
        if min(x1 - x0, y1 - y0) < MIN_SIDE:
            return None
        return x0, y0, x1, y1


class CascadeDecoder:
    """The best single decoder first; cheap fallbacks only when it finds nothing.

    Stages, each on the grey frame (downscaled first only if its long side exceeds ``max_side``):

    1. ``zxing``: zxing-cpp, local-average binariser, rotations, its own downscaled pyramid and the inverted
       image (light-on-dark phone screens in dark mode). It also notes where it located a QR symbol it could
       not decode; about 8.5 ms on a code-free 1080p frame;
    2. ``zxing-median-global``: a 3x3 median filter, then zxing-cpp with the global-histogram binariser: the
       filter removes print grain and module texture, the global threshold ignores it (rough paper, "artistic"
       codes filled with pictures); about 2 ms on a 1080p frame;
    3. ``zxing-suspects``: only where stage 1 located a symbol it could not decode (no cost otherwise, so
       none on a code-free frame): that region cropped, enlarged and read plain, sharpened and through an
       adaptive threshold (glare, shadows, blur on a code too small for zxing-cpp's sampling);
    4. ``zxing-grid``: only where stage 1 located a full-size QR symbol and read its version but not its
       data: the symbol rectified, its grid bent onto the finder and alignment patterns found in it (a code on
       a curved surface, corners placed off), every module sampled against its neighbours and redrawn clean
       for zxing-cpp's pure reader, then the 32 format words when the format information is damaged
       (``devices.qr_grid``);
    5. ``opencv-located-grid``: only where stage 1 located something (a symbol or a Micro QR / rMQR phantom,
       often a real finder pattern of a code whose other finder is blotted) and nothing read: OpenCV's
       ``QRCodeDetector`` locates the symbol (its contour-based finder search survives blots zxing-cpp's run
       scan does not), the size is counted along the timing pattern (or taken from stage 1's version), and
       the symbol is read as in stage 4;
    6. ``zxing-sharpened``: an unsharp mask (sigma 2, the Gaussian approximated by two 5x5 box filters) then
       zxing-cpp without the inverted pass and without its downscaled pyramid (stage 1's pyramid reads what
       that would): reads some out-of-focus codes (long signed passes among them); about 7.5 ms on a
       code-free 1080p frame (9 ms with the Gaussian mask and the pyramid);
    7. ``zxing-upscaled``: pictures well under a 1080p frame (photos, crops; not 720p or 1080p camera frames)
       enlarged up to 2x with bicubic interpolation: codes of 1.5-3 px a module, which zxing-cpp's sampling
       misses at their own size; and, when that reads nothing, the enlarged picture framed with flat grey, for
       a code that runs into the picture's edge (no quiet zone there). Camera frames skip the stage, so it
       costs nothing on the kiosk's code-free frames.
    8. ``finder-grid``: the finder patterns found as nested contours (a dark ring, its hole, a dark core) in a
       locally thresholded picture, in either polarity: three that make a near-right corner, or two alike in
       each pair of roles when the third is under a blot or glare, or one alone (its corners give the axes,
       the timing patterns leaving it the size, in each of its three roles); each placement (homography
       through the finders' corners, size from their spacing) is scored by how well the timing patterns and
       the finder not used sample, and the best are read as in stage 4 (``devices.qr_finders``). It searches a
       whole picture up to ``FINDER_WHOLE_PIXELS`` (photos, crops), a camera frame only round what stage 1
       located (the search of a whole textured 1080p frame would cost about as much as stage 1).

    The grid stages 4, 5 and 8 run last, after stages 6 and 7 (they read only what those miss), and share a
    budget of ``GRID_BUDGET_S`` CPU seconds a frame: past it they start no new placement, so that a located
    but unreadable code does not hold the scanner past its frame-to-verdict bound.

    OpenCV's classic and ArUco detectors were measured as a further fallback decoder and read nothing
    zxing-cpp missed, at 25-55 ms a frame, so only the classic one's locator is used, gated as in stage 5;
    the WeChat CNN detector is discussed in docs/benchmarks.md (it needs OpenCV 4's contrib build).

    ``last_stage`` names the stage that read the last image (``None`` when nothing was found).
    """

    name = "cascade"

    def __init__(self, max_side: int | None = None, stages: list[Stage] | None = None) -> None:
        self.max_side = max_side
        self.stages: list[Stage] = stages if stages is not None else self.default_stages()
        self.last_stage: str | None = None

    @staticmethod
    def default_stages(
        edge_pad: bool = True,
        grid: bool = True,
        finders: bool = True,
        budget_s: float | None = GRID_BUDGET_S,
        finder_alone: bool = True,
        cheap_sharpen: bool = True,
    ) -> list[Stage]:
        """The stages above; ``edge_pad=False`` leaves out stage 7's framed pass, ``grid=False`` stages 4 and
        5, ``finders=False`` stage 8, ``finder_alone=False`` stage 8's placements from one finder pattern,
        ``budget_s=None`` the grid stages' time budget, ``cheap_sharpen=False`` gives stage 6 its former
        Gaussian mask and zxing-cpp's downscaled pyramid (the baselines of the benchmark and the tests)."""
        primary = _Primary(budget_s)
        plain = ZxingDecoder(name="zxing-upscaled")
        global_hist = ZxingDecoder(binarizer="GlobalHistogram", name="zxing-median-global")
        no_invert = ZxingDecoder(try_invert=False, name="zxing-sharpened")
        # Stage 6 on a whole frame skips zxing-cpp's downscaled pyramid: what a sharpened picture's pyramid
        # reads, stage 1's pyramid of the picture itself reads first (downscaling averages the sharpening
        # away), and the pyramid is a sixth of the pass's cost on a code-free 1080p frame.
        full_size = ZxingDecoder(try_invert=False, try_downscale=not cheap_sharpen, name="zxing-sharpened")
        binary = ZxingDecoder(binarizer="BoolCast", name="zxing-suspects")

        def median_global(grey: np.ndarray) -> list[DecodedSymbol]:
            return global_hist.decode_grey(cv2.medianBlur(grey, 3))

        def suspects(grey: np.ndarray) -> list[DecodedSymbol]:
            for corners in primary.suspects[:MAX_SUSPECTS]:
                xs, ys = [x for x, _ in corners], [y for _, y in corners]
                margin = SUSPECT_MARGIN * max(max(xs) - min(xs), max(ys) - min(ys)) + 8
                x0, y0 = max(0, int(min(xs) - margin)), max(0, int(min(ys) - margin))
                x1, y1 = min(grey.shape[1], int(max(xs) + margin)), min(grey.shape[0], int(max(ys) + margin))
                if min(x1 - x0, y1 - y0) < MIN_SIDE:
                    continue
                factor = max(1.0, SUSPECT_SIDE / max(x1 - x0, y1 - y0))
                crop = cv2.resize(
                    grey[y0:y1, x0:x1], None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC
                )
                thresholded = cv2.adaptiveThreshold(
                    crop, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 31, 5
                )
                for found in (
                    plain.decode_grey(crop),
                    no_invert.decode_grey(_unsharp(crop, 2.0)),
                    binary.decode_grey(thresholded),
                ):
                    if found:
                        return _shifted(found, factor, x0, y0)
            return []

        def grid_stage(grey: np.ndarray) -> list[DecodedSymbol]:
            for corners, size in _merged(primary.sized)[:MAX_GRID_SUSPECTS]:
                if past(primary.deadline):
                    return []
                text = read_grid(grey, corners, size, deadline=primary.deadline)
                if text:
                    return [DecodedSymbol(text, "QRCode", corners)]
            return []

        finder = cv2.QRCodeDetector()

        def located_by_opencv(grey: np.ndarray) -> list[DecodedSymbol]:
            # OpenCV's search costs about 50 ms on a whole 800x600 picture: it looks only round what stage 1
            # located.
            region = primary.region(grey)
            if region is None or past(primary.deadline):
                return []
            x0, y0, x1, y1 = region
            try:
                ok, points = finder.detect(grey[y0:y1, x0:x1])
            except cv2.error:
                return []
            if not ok or points is None:
                return []
            quad = np.asarray(points, dtype=np.float32).reshape(-1, 2) + np.array([x0, y0], np.float32)
            if quad.shape != (4, 2):
                return []
            corners: Corners = tuple((float(x), float(y)) for x, y in quad)
            # The size counted along the timing pattern, else the sizes stage 1 read off located symbols
            # (a bend defeats the count; zxing-cpp's corners were what failed there, not its version).
            counted = [symbol_size(grey, quad, inverted) for inverted in (False, True)]
            sizes = list(dict.fromkeys([n for n in counted if n is not None] + [n for _, n in primary.sized]))
            for size in sizes[:MAX_GRID_SUSPECTS]:
                if past(primary.deadline):
                    return []
                text = read_grid(grey, corners, size, deadline=primary.deadline)
                if text:
                    return [DecodedSymbol(text, "QRCode", corners)]
            return []

        def by_finders(grey: np.ndarray) -> list[DecodedSymbol]:
            if grey.size <= FINDER_WHOLE_PIXELS:
                x0, y0, x1, y1 = 0, 0, grey.shape[1], grey.shape[0]
            else:
                region = primary.region(grey)
                if region is None:
                    return []
                x0, y0, x1, y1 = region
            found = read_by_finders(grey[y0:y1, x0:x1], primary.deadline, finder_alone)
            if found is None:
                return []
            text, corners = found
            return [DecodedSymbol(text, "QRCode", tuple((x + x0, y + y0) for x, y in corners))]

        def sharpened(grey: np.ndarray) -> list[DecodedSymbol]:
            return full_size.decode_grey(_unsharp_box(grey) if cheap_sharpen else _unsharp(grey, 2.0))

        def upscaled(grey: np.ndarray) -> list[DecodedSymbol]:
            factor = min(MAX_UPSCALE, (UPSCALE_PIXELS / grey.size) ** 0.5)
            if factor < MIN_UPSCALE:
                return []
            big = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
            found = plain.decode_grey(big)
            if found or not edge_pad:
                return _shifted(found, factor)
            pad = max(8, round(EDGE_PAD * min(big.shape)))
            framed = cv2.copyMakeBorder(
                big, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=int(np.median(big))
            )
            return _shifted(plain.decode_grey(framed), factor, -pad / factor, -pad / factor)

        return [
            ("zxing", primary),
            ("zxing-median-global", median_global),
            ("zxing-suspects", suspects),
            ("zxing-sharpened", sharpened),
            ("zxing-upscaled", upscaled),
            *([("zxing-grid", grid_stage), ("opencv-located-grid", located_by_opencv)] if grid else []),
            *([("finder-grid", by_finders)] if finders else []),
        ]

    def decode(self, image: np.ndarray) -> list[DecodedSymbol]:
        self.last_stage = None
        try:
            grey = to_grey(image)
            if grey is None:
                return []
            factor = 1.0
            if self.max_side and max(grey.shape) > self.max_side:
                factor = max(grey.shape) / self.max_side
                size = (round(grey.shape[1] / factor), round(grey.shape[0] / factor))
                grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
            for stage_name, stage in self.stages:
                found = stage(grey)
                if found:
                    self.last_stage = stage_name
                    if factor != 1.0:
                        found = [DecodedSymbol(s.text, s.format, _scaled(s.corners, factor)) for s in found]
                    return dedupe(found)
        except Exception as err:  # never take the scanner loop down
            log.warning("cascade decoder failed: %s", type(err).__name__)
        return []


DECODER_NAMES = ("auto", "zxing", "opencv", "opencv-aruco", "zbar")


def get_decoder(name: str = "auto") -> Decoder:
    """``auto`` (the cascade, the app's default), ``zxing``, ``opencv``, ``opencv-aruco`` or ``zbar``."""
    key = name.strip().lower()
    if key in ("auto", "cascade"):
        return CascadeDecoder()
    if key == "zxing":
        return ZxingDecoder()
    if key == "opencv":
        return OpenCvDecoder()
    if key == "opencv-aruco":
        return OpenCvDecoder(aruco=True)
    if key == "zbar":
        try:
            return ZbarDecoder()
        except Exception as err:
            raise ValueError(f"decoder 'zbar' needs pyzbar and the zbar system library: {err}") from err
    raise ValueError(f"unknown decoder {name!r}; choose one of: {', '.join(DECODER_NAMES)}")

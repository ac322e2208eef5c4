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
from collections.abc import Callable, Iterable

import cv2
import numpy as np
import zxingcpp

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
        name: str = "zxing",
    ) -> None:
        self.name = name
        zxingcpp.barcode_formats_from_str(formats)  # fail now, not on the first frame, if a name is wrong
        getattr(zxingcpp.Binarizer, binarizer)
        # Only plain Python values are kept: zxing-cpp objects held past interpreter shutdown make its
        # bindings print reference-leak warnings at exit. Building them per call costs microseconds.
        self._formats = formats
        self._binarizer = binarizer
        self._flags = {"try_rotate": try_rotate, "try_downscale": try_downscale, "try_invert": try_invert}

    def decode(self, image: np.ndarray) -> list[DecodedSymbol]:
        grey = to_grey(image)
        return [] if grey is None else self.decode_grey(grey)

    def decode_grey(self, grey: np.ndarray) -> list[DecodedSymbol]:
        try:
            found = zxingcpp.read_barcodes(
                grey,
                formats=zxingcpp.barcode_formats_from_str(self._formats),
                binarizer=getattr(zxingcpp.Binarizer, self._binarizer),
                text_mode=zxingcpp.TextMode.Plain,
                **self._flags,
            )
        except Exception as err:  # a library error must never reach the scanner loop
            log.debug("%s failed on a %s image: %s", self.name, grey.shape, type(err).__name__)
            return []
        out = []
        for bar in found:
            if not bar.valid or not bar.text:
                continue
            pos = bar.position
            corners = tuple(
                (float(p.x), float(p.y))
                for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
            )
            out.append(DecodedSymbol(bar.text, bar.format.name, corners))
        return dedupe(out)


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


class CascadeDecoder:
    """The best single decoder first; cheap fallbacks only when it finds nothing.

    Stages, each on the grey frame (downscaled first only if its long side exceeds ``max_side``):

    1. ``zxing``: zxing-cpp, local-average binariser, rotations, its own downscaled pyramid and the inverted
       image (light-on-dark phone screens in dark mode);
    2. ``zxing-median-global``: a 3x3 median filter, then zxing-cpp with the global-histogram binariser: the
       filter removes print grain and module texture, the global threshold ignores it (rough paper, "artistic"
       codes filled with pictures); about 1 ms on a 1080p frame;
    3. ``zxing-sharpened``: an unsharp mask (sigma 2) then zxing-cpp without the inverted pass: reads some
       out-of-focus dense codes (long signed passes); about 6 ms on a 1080p frame.

    OpenCV's detectors were measured as a further fallback and read nothing zxing-cpp missed, at 25-55 ms a
    frame, so they are not in the cascade.

    ``last_stage`` names the stage that read the last image (``None`` when nothing was found).
    """

    name = "cascade"

    def __init__(self, max_side: int | None = None, stages: list[Stage] | None = None) -> None:
        self.max_side = max_side
        self.stages: list[Stage] = stages if stages is not None else self.default_stages()
        self.last_stage: str | None = None

    @staticmethod
    def default_stages() -> list[Stage]:
        primary = ZxingDecoder(name="zxing")
        global_hist = ZxingDecoder(binarizer="GlobalHistogram", name="zxing-median-global")
        no_invert = ZxingDecoder(try_invert=False, name="zxing-sharpened")

        def median_global(grey: np.ndarray) -> list[DecodedSymbol]:
            return global_hist.decode_grey(cv2.medianBlur(grey, 3))

        def sharpened(grey: np.ndarray) -> list[DecodedSymbol]:
            return no_invert.decode_grey(
                cv2.addWeighted(grey, 2.0, cv2.GaussianBlur(grey, (0, 0), 2.0), -1.0, 0)
            )

        return [
            ("zxing", primary.decode_grey),
            ("zxing-median-global", median_global),
            ("zxing-sharpened", sharpened),
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

"""From camera image to evaluated codes: the one path shared by the live scanner and `kiosk scan`.

The decoder is hardware-side (``devices.qr``); this module only states what it must provide, so the
core stays free of OpenCV and of any particular QR library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from kiosk.codes.registry import CodeRegistry, CodeResult


@dataclass(frozen=True)
class DecodedSymbol:
    """One symbol found in an image. ``corners`` are four (x, y) points in image pixels, or empty."""

    text: str
    format: str
    corners: tuple[tuple[float, float], ...] = ()


class Decoder(Protocol):
    """Finds every code in an image (BGR or grey ``uint8`` array). Never raises on a bad image."""

    name: str

    def decode(self, image: np.ndarray) -> list[DecodedSymbol]: ...


@dataclass(frozen=True)
class ScannedCode:
    symbol: DecodedSymbol
    result: CodeResult


class Scanner:
    """Decodes an image and evaluates every symbol through the code registry."""

    def __init__(self, decoder: Decoder, registry: CodeRegistry) -> None:
        self.decoder = decoder
        self.registry = registry

    def scan(self, image: np.ndarray, now: datetime | None = None) -> list[ScannedCode]:
        return [ScannedCode(sym, self.registry.evaluate(sym.text, now)) for sym in self.decoder.decode(image)]

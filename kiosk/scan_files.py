"""`kiosk scan`: decode every code in image files and evaluate it exactly as the live scanner does."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.i18n import render
from kiosk.scanning import Scanner


def scan_file(
    scanner: Scanner, path: Path, load_image: Callable[[Path], np.ndarray], language: str
) -> dict[str, Any]:
    """One result object per file; a file that cannot be loaded yields ``{"file", "error"}`` instead."""
    started = time.perf_counter()
    try:
        image = load_image(path)
    except ValueError as err:
        return {"file": str(path), "error": str(err)}
    codes = [
        {
            "text": code.symbol.text,
            "format": code.symbol.format,
            "kind": code.result.kind,
            "verdict": code.result.verdict.value,
            "reason": render(code.result.reason, language),
            "claims": code.result.claims,
        }
        for code in scanner.scan(image)
    ]
    return {"file": str(path), "codes": codes, "ms": round((time.perf_counter() - started) * 1000, 1)}

"""Where the kiosk finds its shipped assets and its per-device data."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
FONT_PATH = ASSETS_DIR / "fonts" / "DroidSansFallbackFull.ttf"


def default_data_dir() -> Path:
    """The per-device data folder when neither --data-dir nor KIOSK_DATA_DIR is given (XDG layout)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kiosk"


def resolve_data_dir(flag: str | os.PathLike[str] | None) -> Path:
    """--data-dir wins over KIOSK_DATA_DIR, which wins over the XDG default; the folder is created."""
    chosen = flag or os.environ.get("KIOSK_DATA_DIR") or default_data_dir()
    path = Path(chosen).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path

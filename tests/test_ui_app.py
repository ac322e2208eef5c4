"""Start-up: the shipped CJK font is the application font, and run_gui starts, logs and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtGui import QFontDatabase

from kiosk.paths import PROJECT_ROOT


def test_the_shipped_cjk_font_is_loaded_and_used(styled_app: Any) -> None:
    chinese = set(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))
    families = styled_app.font().families()
    assert any(f in chinese for f in families), families
    assert styled_app.font().pixelSize() >= 22
    assert "verdictPanel" in styled_app.styleSheet()


def test_run_gui_shows_the_home_screen_and_stops_on_sigterm(tmp_path: Path) -> None:
    code = (
        "import logging, sys\n"
        "from pathlib import Path\n"
        "from kiosk.config import load_settings\n"
        "from ui.app import run_gui\n"
        "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
        f"sys.exit(run_gui(load_settings(Path({str(tmp_path)!r}), {{'camera': 'demo', 'sound': False}})))\n"
    )
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if "home screen shown after" in line or not line:
                break
        assert any("home screen shown after" in line for line in lines), lines
        time.sleep(0.5)  # the camera and decoder threads are up
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (tmp_path / "kiosk.sqlite3").exists()

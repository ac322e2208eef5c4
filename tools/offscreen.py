"""Qt's offscreen platform with one screen larger than any window the tests, tools and benches lay out.

The plugin's own screen is 800×800. The touch scroller hands a press it held back to the widget under that
point of the *screen* (``QApplication.widgetAt``), so in a larger window a button past x = 800 inside a scroll
area never got its press: taps were lost in the tests and the screenshot tools, though not on a real display.
Imports nothing from Qt: it must run before Qt is loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

SCREEN_CONFIG = Path(__file__).with_name("offscreen-screen.json")


def platform() -> str:
    """``QT_QPA_PLATFORM`` as the caller set it, or offscreen (the default) on the large screen."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    return f"offscreen:configfile={SCREEN_CONFIG}" if chosen == "offscreen" else chosen

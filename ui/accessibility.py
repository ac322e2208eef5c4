"""Comfort modes chosen on the home screen: large text and high contrast.

Both are layers over the theme rather than a second theme to maintain: large text is generated from the theme
itself (every rule that sets a font size, again, with the size scaled), high contrast is a short style sheet
of colours (``assets/theme/high-contrast.qss``). The layers go on the main window together with the theme
they extend, so the theme's selectors keep their specificity and nothing outside the window changes.

The modes belong to the person at the kiosk, not to the device: the window drops them when it goes idle, so
the next person starts with the normal look.
"""

from __future__ import annotations

import logging
import re

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from kiosk.paths import ASSETS_DIR

log = logging.getLogger(__name__)

HIGH_CONTRAST_PATH = ASSETS_DIR / "theme" / "high-contrast.qss"
LARGE_TEXT_FACTOR = 1.3
MODES = ("large_text", "high_contrast")

_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_FONT_SIZE = re.compile(r"font-size:\s*(\d+)px")


def large_text_layer(theme: str, factor: float = LARGE_TEXT_FACTOR) -> str:
    """For every rule of ``theme`` that sets a font size, the same selector with the size times ``factor``.

    Appended after the theme, each scaled rule wins over its original by order alone (same selector, same
    specificity), and every other declaration of the theme stays as it is.
    """
    rules = []
    for selector, body in _RULE.findall(_COMMENT.sub("", theme)):
        sizes = _FONT_SIZE.findall(body)
        if sizes:
            rules.append(f"{selector.strip()} {{ font-size: {round(int(sizes[-1]) * factor)}px; }}")
    return "\n".join(rules)


def _read_high_contrast() -> str:
    try:
        return HIGH_CONTRAST_PATH.read_text(encoding="utf-8")
    except OSError as err:
        log.error("high-contrast theme %s not loaded: %s", HIGH_CONTRAST_PATH.name, err)
        return ""


class Accessibility(QObject):
    """The two modes of one window; ``changed`` after either is switched (or both are reset)."""

    changed = Signal()

    def __init__(self, window: QWidget, theme: str) -> None:
        super().__init__(window)
        self._window = window
        self._theme = theme
        self._large_layer = large_text_layer(theme)
        self._contrast_layer = _read_high_contrast()
        self._on = dict.fromkeys(MODES, False)

    @property
    def large_text(self) -> bool:
        return self._on["large_text"]

    @property
    def high_contrast(self) -> bool:
        return self._on["high_contrast"]

    def enabled(self, mode: str) -> bool:
        if mode not in self._on:
            raise ValueError(f"unknown accessibility mode {mode!r}; one of {', '.join(MODES)}")
        return self._on[mode]

    def set_mode(self, mode: str, on: bool) -> None:
        if self.enabled(mode) != on:
            self._on[mode] = on
            self._apply()

    def toggle(self, mode: str) -> None:
        self.set_mode(mode, not self.enabled(mode))

    def reset(self) -> None:
        """Back to the normal look (idle: the next person starts fresh)."""
        if any(self._on.values()):
            self._on = dict.fromkeys(MODES, False)
            self._apply()

    def _apply(self) -> None:
        layers = [self._contrast_layer] if self.high_contrast else []
        if self.large_text:
            layers.append(self._large_layer)
        # No layer: no sheet of the window's own, so the application's theme applies exactly as before.
        self._window.setStyleSheet("\n".join([self._theme, *layers]) if layers else "")
        log.info("look: large text %s, high contrast %s", self.large_text, self.high_contrast)
        self.changed.emit()

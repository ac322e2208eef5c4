"""Pages that stack their halves in portrait and put them side by side in landscape."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QBoxLayout


def follow_orientation(layout: QBoxLayout, size: QSize) -> None:
    """Top-to-bottom when taller than wide, so each half gets the whole width of a portrait screen."""
    portrait = size.height() > size.width()
    layout.setDirection(QBoxLayout.Direction.TopToBottom if portrait else QBoxLayout.Direction.LeftToRight)

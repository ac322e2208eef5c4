"""Style-sheet states: the theme selects on dynamic properties, which Qt only re-reads on a re-polish."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget


def set_style_state(widget: QWidget, name: str, value: str) -> None:
    """Set a property the QSS selects on (e.g. ``verdict="red"``) and re-apply the style to the subtree."""
    widget.setProperty(name, value)
    for w in (widget, *widget.findChildren(QWidget)):
        w.style().unpolish(w)
        w.style().polish(w)


def styled_label(name: str, wrap: bool = False) -> QLabel:
    """An empty label the theme styles by its object name (``QLabel#name``), its text set later."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(wrap)
    return label

"""Today's counters, always on screen: 人次 (inspections), 人数 (unique persons), and per verdict."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from kiosk.checkpoint import Counters
from kiosk.i18n import translate
from ui.widgets.style import set_style_state

CELLS = ("inspections", "persons", "green", "yellow", "red")


def counter_cell(name: str) -> tuple[QFrame, QLabel, QLabel]:
    """One figure with its caption under it, styled by ``counter`` (the bar here and the stats screen)."""
    cell = QFrame()
    cell.setObjectName("counterCell")
    set_style_state(cell, "counter", name)
    column = QVBoxLayout(cell)
    column.setContentsMargins(8, 0, 8, 0)
    column.setSpacing(0)
    value = QLabel("–")
    value.setObjectName("counterValue")
    caption = QLabel()
    caption.setObjectName("counterCaption")
    caption.setWordWrap(True)  # five English captions are wider than a portrait screen
    for label in (value, caption):
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(label)
    return cell, value, caption


class CountersBar(QFrame):
    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("countersBar")
        self._values: dict[str, QLabel] = {}
        self._captions: dict[str, QLabel] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 2, 12, 2)
        layout.setSpacing(8)
        for name in CELLS:
            cell, value, caption = counter_cell(name)
            self._values[name] = value
            self._captions[name] = caption
            layout.addWidget(cell, 1)
        self.retranslate(language)

    def set_counters(self, counters: Counters) -> None:
        figures = {"inspections": counters.inspections, "persons": counters.persons} | {
            verdict: counters.by_verdict.get(verdict, 0) for verdict in ("green", "yellow", "red")
        }
        for name, figure in figures.items():
            self._values[name].setText(str(figure))

    def values(self) -> dict[str, str]:
        return {name: label.text() for name, label in self._values.items()}

    def retranslate(self, language: str) -> None:
        for name, caption in self._captions.items():
            caption.setText(translate(f"counters.{name}", language))

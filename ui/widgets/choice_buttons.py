"""Big buttons instead of a drop-down: every option visible, one touch to choose."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QPushButton, QSizePolicy, QWidget


class ChoiceButtons(QWidget):
    # The index of the option touched. An index, not the value: PySide6 mishandles the reference counts of
    # Python bools sent through Signal(object) (a yes/no answer), which crashes the interpreter at exit.
    chosen = Signal(int)

    def __init__(
        self, options: list[tuple[Any, str]], columns: int = 2, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("choiceButtons")
        self.values: list[Any] = []
        self.buttons: list[QPushButton] = []
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(12)
        for i, (value, label) in enumerate(options):
            button = QPushButton(label)
            button.setObjectName("choiceButton")
            button.setCheckable(True)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _=False, n=i: self._touched(n))
            grid.addWidget(button, i // columns, i % columns)
            self.values.append(value)
            self.buttons.append(button)

    def _touched(self, index: int) -> None:
        # Exclusive by hand: a QButtonGroup here lost a reference to Python's True on every click
        # (PySide6 6.12), which crashed the interpreter after a few hundred touches.
        for i, button in enumerate(self.buttons):
            button.setChecked(i == index)
        self.chosen.emit(index)

    def select(self, value: Any) -> None:
        for button, option in zip(self.buttons, self.values, strict=True):
            button.setChecked(option == value)

    def button_for(self, value: Any) -> QPushButton:
        return self.buttons[self.values.index(value)]

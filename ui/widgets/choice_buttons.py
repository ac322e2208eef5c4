"""Big buttons instead of a drop-down: every option visible, one touch to choose."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QPushButton, QSizePolicy, QWidget

MIN_BUTTON = 64


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
        self.columns = columns  # on a wide screen; fewer where the options' texts would not fit across
        self._shown_columns = 0
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(12)
        for i, (value, label) in enumerate(options):
            button = QPushButton(label)
            button.setObjectName("choiceButton")
            button.setCheckable(True)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setMinimumWidth(MIN_BUTTON)  # nominal: resizeEvent takes columns away before text is cut
            button.clicked.connect(lambda _=False, n=i: self._touched(n))
            self.values.append(value)
            self.buttons.append(button)
        self._arrange(columns)

    def _arrange(self, columns: int) -> None:
        self._shown_columns = columns
        for i, button in enumerate(self.buttons):
            self.grid.removeWidget(button)
            self.grid.addWidget(button, i // columns, i % columns)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._reflow()

    def event(self, event: QEvent) -> bool:
        # A button's text or font can change without this widget changing size (a new language, large text,
        # the theme first applied after the first resize): its new size hint arrives as a layout request.
        if event.type() == QEvent.Type.LayoutRequest:
            self._reflow()
        return super().event(event)

    def _reflow(self) -> None:
        if not self.buttons:
            return
        widest = max(b.sizeHint().width() for b in self.buttons)
        spacing = self.grid.spacing()
        fit = max(1, min(self.columns, (self.width() + spacing) // (widest + spacing)))
        if fit != self._shown_columns:
            self._arrange(fit)

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

"""A touch keypad for ID numbers: digits, X, backspace, clear and confirm, all at least 64 px high."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QPushButton, QSizePolicy, QWidget

from kiosk.i18n import translate

# (key, row, column, column span); the layout puts the keys where a phone keypad has them.
_KEYS = (
    ("1", 0, 0, 1), ("2", 0, 1, 1), ("3", 0, 2, 1), ("back", 0, 3, 1),
    ("4", 1, 0, 1), ("5", 1, 1, 1), ("6", 1, 2, 1), ("clear", 1, 3, 1),
    ("7", 2, 0, 1), ("8", 2, 1, 1), ("9", 2, 2, 1), ("X", 2, 3, 1),
    ("0", 3, 0, 2), ("confirm", 3, 2, 2),
)  # fmt: skip
_LABEL_KEYS = {"back": "manual.backspace", "clear": "manual.clear", "confirm": "manual.confirm"}


class Keypad(QWidget):
    key_pressed = Signal(str)  # "0".."9", "X", "back", "clear" or "confirm"

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keypad")
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout(self)
        grid.setSpacing(10)
        grid.setContentsMargins(0, 0, 0, 0)
        for key, row, column, span in _KEYS:
            button = QPushButton(key)
            button.setObjectName("keypadKey")
            button.setProperty("key", key)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.clicked.connect(lambda _=False, k=key: self.key_pressed.emit(k))
            grid.addWidget(button, row, column, 1, span)
            self.buttons[key] = button
        self.retranslate(language)

    def retranslate(self, language: str) -> None:
        for key, label_key in _LABEL_KEYS.items():
            self.buttons[key].setText(translate(label_key, language))

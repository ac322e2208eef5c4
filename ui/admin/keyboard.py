"""An on-screen keyboard for Latin letters, digits and the symbols of URLs and device specs.

It types into whichever line edit has focus (its keys never take focus themselves). Chinese text (a site
name in Chinese) needs the system input method (fcitx, ibus) on the kiosk; this keyboard has no pinyin.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QGridLayout, QLineEdit, QPushButton, QSizePolicy, QWidget

# Five rows of eleven: the whole keyboard is 5 × 64 px high, so it fits beside a form on a 800 px screen.
_ROWS = (
    ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "back"),
    ("q", "w", "e", "r", "t", "y", "u", "i", "o", "p", "clear"),
    ("a", "s", "d", "f", "g", "h", "j", "k", "l", "-", "shift"),
    ("z", "x", "c", "v", "b", "n", "m", "_", ".", "/", ":"),
    ("@", "?", "=", "&", "#", "%", "~", "space", "left", "right"),
)
# "&" is doubled: a single one marks a shortcut in a button text and would not show.
_LABELS = {"back": "⌫", "clear": "C", "shift": "⇧", "space": "␣", "left": "←", "right": "→", "&": "&&"}


class OnScreenKeyboard(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("onScreenKeyboard")
        self.shifted = False
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        for row, keys in enumerate(_ROWS):
            column = 0
            for key in keys:
                span = 2 if key == "space" else 1
                grid.addWidget(self._button(key, _LABELS.get(key, key)), row, column, 1, span)
                column += span
        for column in range(len(_ROWS[0])):
            grid.setColumnStretch(column, 1)  # equal keys, whatever their labels

    def _button(self, key: str, label: str) -> QPushButton:
        button = QPushButton(label)
        button.setObjectName("oskKey")
        # The line edit being typed into must keep the focus (and its cursor) while keys are pressed.
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        button.clicked.connect(lambda _=False, k=key: self.press(k))
        self.buttons[key] = button
        return button

    def press(self, key: str) -> None:
        if key == "shift":
            self._shift(not self.shifted)
            return
        target = QApplication.focusWidget()
        if not isinstance(target, QLineEdit) or target.isReadOnly():
            return
        if key == "back":
            target.backspace()
        elif key == "clear":
            target.clear()
        elif key == "left":
            target.cursorBackward(False)
        elif key == "right":
            target.cursorForward(False)
        else:
            target.insert(" " if key == "space" else key.upper() if self.shifted else key)
            if self.shifted:
                self._shift(False)  # one capital, like a phone keyboard

    def _shift(self, on: bool) -> None:
        self.shifted = on
        for key, button in self.buttons.items():
            if len(key) == 1 and key.isalpha():
                button.setText(key.upper() if on else key)

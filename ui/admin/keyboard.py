"""An on-screen keyboard for Latin letters, digits and the symbols of URLs and device specs.

It types into whichever line edit has focus (its keys never take focus themselves). It has no pinyin: the
settings page swaps in :class:`ui.widgets.pinyin_keyboard.PinyinKeyboard` while the site name has focus.

The clear key says 清空 / Clear, not "C": among letter keys a "C" reads as the letter, and pressing it wiped a
whole server address. ⌫ pressed right after it puts the cleared text back (its label says so meanwhile).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QApplication, QGridLayout, QLineEdit, QPushButton, QSizePolicy, QWidget

from kiosk.i18n import translate

# Five rows of eleven where the width allows: the whole keyboard is then 5 × 64 px high. Narrower, the same
# keys in the same order flow into fewer columns and more rows, so that no key gets under 64 px wide.
_ROWS = (
    ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "back"),
    ("q", "w", "e", "r", "t", "y", "u", "i", "o", "p", "clear"),
    ("a", "s", "d", "f", "g", "h", "j", "k", "l", "-", "shift"),
    ("z", "x", "c", "v", "b", "n", "m", "_", ".", "/", ":"),
    ("@", "?", "=", "&", "#", "%", "~", "space", "left", "right"),
)
# "&" is doubled: a single one marks a shortcut in a button text and would not show.
_LABELS = {"back": "⌫", "shift": "⇧", "space": "␣", "left": "←", "right": "→", "&": "&&"}
_KEYS = tuple(key for row in _ROWS for key in row)
_MAX_COLUMNS = len(_ROWS[0])
_KEY_MIN = 64
_SPACING = 6


class OnScreenKeyboard(QWidget):
    def __init__(self, language: str = "zh-CN", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("onScreenKeyboard")
        self.shifted = False
        self.language = language
        # The line edit the clear key emptied and what it held, until ⌫ restores it or another key is pressed.
        self.cleared: tuple[QLineEdit, str] | None = None
        self.buttons: dict[str, QPushButton] = {}
        self.columns = 0
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(_SPACING)
        for key in _KEYS:
            self._button(key, _LABELS.get(key, key))
        self._flow(_MAX_COLUMNS)
        self.set_language(language)

    def set_language(self, language: str) -> None:
        self.language = language
        self.buttons["clear"].setText(translate("osk.clear", language))
        self._label_back()

    def _label_back(self) -> None:
        self.buttons["back"].setText(translate("osk.undo", self.language) if self.cleared else "⌫")

    @staticmethod
    def _columns_for(width: int) -> int:
        # At least two: the space bar is two keys wide.
        return max(2, min(_MAX_COLUMNS, (width + _SPACING) // (_KEY_MIN + _SPACING)))

    def _flow(self, columns: int) -> None:
        """Lays the keys out row by row, ``columns`` wide (the space bar is two keys wide)."""
        if columns == self.columns:
            return
        # Equal keys, whatever their labels; a column no longer used must not keep taking a share.
        for column in range(max(columns, self.columns)):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)
        self.columns = columns
        for button in self.buttons.values():
            self.grid.removeWidget(button)
        row = column = 0
        for key in _KEYS:
            span = 2 if key == "space" else 1
            if column + span > columns:
                row, column = row + 1, 0
            self.grid.addWidget(self.buttons[key], row, column, 1, span)
            column += span

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._flow(self._columns_for(event.size().width()))

    def _button(self, key: str, label: str) -> QPushButton:
        button = QPushButton(label)
        # ⌫ and clear carry words ("Clear", "↶ Undo"), set smaller so that they fit a 64 px key.
        button.setObjectName("oskControl" if key in ("back", "clear") else "oskKey")
        button.setProperty("key", key)
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
        cleared, self.cleared = self.cleared, None
        if key == "back" and cleared is not None and cleared[0] is target:
            target.setText(cleared[1])
        elif key == "back":
            target.backspace()
        elif key == "clear":
            if target.text():
                self.cleared = (target, target.text())
            target.clear()
        elif key == "left":
            target.cursorBackward(False)
        elif key == "right":
            target.cursorForward(False)
        else:
            target.insert(" " if key == "space" else key.upper() if self.shifted else key)
            if self.shifted:
                self._shift(False)  # one capital, like a phone keyboard
        self._label_back()

    def _shift(self, on: bool) -> None:
        self.shifted = on
        for key, button in self.buttons.items():
            if len(key) == 1 and key.isalpha():
                button.setText(key.upper() if on else key)

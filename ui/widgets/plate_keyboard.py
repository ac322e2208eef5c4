"""A touch keyboard for licence plates: province abbreviations first, then letters and digits.

The first key of a plate is always a province (粤京沪…), so the keyboard starts on the province page and
switches to letters and digits once one is chosen; I and O are left out (plates do not use them). Up to 8
characters: new-energy plates have 8. Trailer / coach / police suffixes are on the letters page.
On a narrow screen the rows wrap into fewer columns, so that no key is narrower than a fingertip (64 px).

The clear key says 清空 / Clear, not "C": plates carry the letter C (粤C…), and a person who pressed a big "C"
for the letter lost the whole plate. It sits at the far end of the control row, away from the letters and
from ⌫, and ⌫ pressed right after it puts the cleared plate back (its label says so meanwhile).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.forms.answers import PLATE_LETTERS, PLATE_SUFFIXES, PROVINCES
from kiosk.i18n import translate

MAX_PLATE = 8
# Provinces in the order of the common plate keyboards: the busiest first.
_PROVINCE_ROWS = 4
_CHAR_COLUMNS = 10
_PROVINCE_COLUMNS = 9
MIN_KEY = 64
_KEY_SPACING = 6
# Between ⌫ and the clear key: a finger aiming for one does not land on the other.
_CONTROL_GAP = 48


class PlateKeyboard(QWidget):
    text_changed = Signal(str)
    confirmed = Signal()

    def __init__(self, language: str = "zh-CN", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plateKeyboard")
        self.language = language
        self.text = ""
        self.cleared = ""  # what the clear key took away, until ⌫ restores it or another key is pressed
        self.buttons: dict[str, QPushButton] = {}
        self._columns = 0
        self.pages = QStackedWidget()
        # (grid, its keys, columns on a wide screen)
        self._grids: list[tuple[QGridLayout, list[str], int]] = []
        for keys, columns in (
            (list(PROVINCES), _PROVINCE_COLUMNS),
            ([*"0123456789", *PLATE_LETTERS, *PLATE_SUFFIXES], _CHAR_COLUMNS),
        ):
            page = QWidget()
            self.pages.addWidget(page)
            grid = self._grid(page, keys)
            self._arrange(grid, keys, columns)
            self._grids.append((grid, keys, columns))
        controls = QHBoxLayout()
        controls.setSpacing(_CONTROL_GAP)
        back = self._button("back", "⌫")
        back.setObjectName("plateControl")
        clear = self._button("clear", translate("plate.clear", language))
        clear.setObjectName("plateClear")
        controls.addWidget(back, 3)
        controls.addWidget(clear, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.pages, 1)
        layout.addLayout(controls)
        self._label_back()

    def _button(self, key: str, label: str) -> QPushButton:
        button = QPushButton(label)
        button.setObjectName("plateKey")
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        button.clicked.connect(lambda _=False, k=key: self.press(k))
        self.buttons[key] = button
        return button

    def _grid(self, page: QWidget, keys: list[str]) -> QGridLayout:
        grid = QGridLayout(page)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(_KEY_SPACING)
        for key in keys:
            button = self._button(key, key)
            button.setMinimumWidth(MIN_KEY)  # nominal: resizeEvent wraps the rows before keys get this narrow
        return grid

    def _arrange(self, grid: QGridLayout, keys: list[str], columns: int) -> None:
        for i, key in enumerate(keys):
            grid.removeWidget(self.buttons[key])
            grid.addWidget(self.buttons[key], i // columns, i % columns)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        fit = max(1, (self.width() + _KEY_SPACING) // (MIN_KEY + 8 + _KEY_SPACING))
        if fit != self._columns:
            self._columns = fit
            for grid, keys, columns in self._grids:
                self._arrange(grid, keys, min(columns, fit))

    def press(self, key: str) -> None:
        cleared, self.cleared = self.cleared, ""
        if key == "back":
            # Right after 清空, ⌫ undoes it: the plate comes back whole.
            self.text = cleared if cleared and not self.text else self.text[:-1]
        elif key == "clear":
            self.cleared = self.text or cleared
            self.text = ""
        elif len(self.text) < MAX_PLATE and (key in PROVINCES) == (self.text == ""):
            # A province only as the first character, and only there.
            self.text += key
        self._sync()
        self.text_changed.emit(self.text)

    def set_text(self, text: str) -> None:
        self.text = text[:MAX_PLATE]
        self.cleared = ""
        self._sync()

    def _label_back(self) -> None:
        self.buttons["back"].setText(translate("plate.undo", self.language) if self.cleared else "⌫")

    def _sync(self) -> None:
        self.pages.setCurrentIndex(0 if not self.text else 1)
        self._label_back()

    def type_plate(self, plate: str) -> None:
        """Press the keys of ``plate`` one by one (tests, screenshots)."""
        for ch in plate:
            self.press(ch)

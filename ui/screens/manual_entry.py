"""Manual entry: staff type an 18-character ID number on a touch keypad when a code cannot be scanned.

The number is checked here (shape, birth date, check digit) so a typing mistake is explained at once; a valid
number is handed to the window, which inspects it in the background and gives the verdict back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from kiosk.checkpoint import Inspection
from kiosk.i18n import translate
from kiosk.idnumber import IdNumberError, parse_id_number
from ui.widgets.keypad import Keypad
from ui.widgets.style import set_style_state
from ui.widgets.verdict_panel import VerdictPanel

ID_LENGTH = 18
CONTENT_WIDTH = 960  # the keypad is no wider than a hand spans, however wide the screen
# Lower than this (a 1024×600 panel under the bars), the keypad goes beside the number instead of under it.
SIDE_BY_SIDE_BELOW = 560
# The keypad's nominal minimum: low enough that the window can always shrink, after which resizeEvent puts
# the keypad where its keys get their full height.
KEYPAD_MIN_HEIGHT = 160
_GROUPS = (6, 8, 4)  # region, birth date, sequence + check digit


def group_digits(text: str) -> str:
    """``110105194912310021`` → ``110105 19491231 0021``, also while only partly typed."""
    parts, start = [], 0
    for size in _GROUPS:
        if start >= len(text):
            break
        parts.append(text[start : start + size])
        start += size
    return " ".join(parts)


class ManualEntryScreen(QWidget):
    submitted = Signal(str)  # a valid ID number, to be inspected with source "manual"

    def __init__(self, language: str, hold_ms: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("manualScreen")
        self.language = language
        self.digits = ""
        self.error_key: str | None = None
        self._busy = False

        self.title_label = QLabel()
        self.title_label.setObjectName("screenTitle")
        self.field_label = QLabel()
        self.field_label.setObjectName("idField")
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        for label in (self.title_label, self.field_label, self.error_label):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)  # an English placeholder or error is wider than a portrait screen
        self.keypad = Keypad(language)
        self.keypad.setMinimumHeight(KEYPAD_MIN_HEIGHT)
        self.keypad.key_pressed.connect(self.press)
        self.verdict_panel = VerdictPanel(hold_ms, language)
        self.verdict_panel.finished.connect(self._show_entry)

        entry = QWidget()
        entry_layout = QVBoxLayout(entry)
        entry_layout.setContentsMargins(0, 0, 0, 0)
        entry_layout.addWidget(self.keypad)
        self.pages = QStackedWidget()
        self.pages.addWidget(entry)
        self.pages.addWidget(self.verdict_panel)

        number = QVBoxLayout()
        number.setSpacing(8)
        number.addWidget(self.title_label)
        number.addWidget(self.field_label)
        number.addWidget(self.error_label)
        number.addStretch(1)
        content = QWidget()
        content.setMaximumWidth(CONTENT_WIDTH)
        self.box = QBoxLayout(QBoxLayout.Direction.TopToBottom, content)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(8)
        self.box.addLayout(number)
        self.box.addWidget(self.pages, 1)
        # Centred by equal stretches, not margins: a margin would hold the window wider than a narrow screen.
        outer = QHBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 16)
        outer.addStretch(1)
        outer.addWidget(content, 100)
        outer.addStretch(1)
        self.retranslate(language)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        beside = self.height() < SIDE_BY_SIDE_BELOW and self.width() > self.height()
        direction = QBoxLayout.Direction.LeftToRight if beside else QBoxLayout.Direction.TopToBottom
        self.box.setDirection(direction)

    @property
    def showing_verdict(self) -> bool:
        return self.pages.currentWidget() is self.verdict_panel

    def press(self, key: str) -> None:
        if self._busy or self.showing_verdict:
            return
        if key == "confirm":
            self._confirm()
            return
        if key == "back":
            self.digits = self.digits[:-1]
        elif key == "clear":
            self.digits = ""
        elif len(self.digits) < ID_LENGTH and (key.isdigit() or (key == "X" and len(self.digits) == 17)):
            self.digits += key  # X only as the check digit, the one place it can stand
        self._set_error(None)
        self._fill_field()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """A USB keyboard or barcode wedge works too: digits, X, Backspace, Escape, Enter."""
        key = {
            Qt.Key.Key_Backspace: "back",
            Qt.Key.Key_Escape: "clear",
            Qt.Key.Key_Return: "confirm",
            Qt.Key.Key_Enter: "confirm",
        }.get(Qt.Key(event.key()), event.text().upper())
        if key in ("back", "clear", "confirm", "X") or (len(key) == 1 and key.isdigit()):
            self.press(key)
        else:
            super().keyPressEvent(event)

    def _confirm(self) -> None:
        try:
            number = parse_id_number(self.digits)
        except IdNumberError as err:
            self._set_error(err.key)
            return
        self._busy = True
        self.submitted.emit(number.value)

    def show_inspection(self, inspection: Inspection) -> None:
        """The verdict for the submitted number; the typed digits are dropped now that they are recorded."""
        self._busy = False
        self.digits = ""
        self._fill_field()
        self.verdict_panel.show_inspection(inspection)
        self.pages.setCurrentWidget(self.verdict_panel)

    def show_failure(self) -> None:
        """The inspection could not be recorded: keep the digits so staff can try again."""
        self._busy = False
        self._set_error("inspection.failed")

    def _show_entry(self) -> None:
        self.pages.setCurrentIndex(0)

    def _set_error(self, key: str | None) -> None:
        self.error_key = key
        self.error_label.setText(translate(key, self.language) if key else "")

    def _fill_field(self) -> None:
        if self.digits:
            self.field_label.setText(group_digits(self.digits))
        else:
            self.field_label.setText(translate("manual.placeholder", self.language))
        set_style_state(self.field_label, "placeholder", "false" if self.digits else "true")

    def retranslate(self, language: str) -> None:
        self.language = language
        self.title_label.setText(translate("manual.title", language))
        self.keypad.retranslate(language)
        self.verdict_panel.retranslate(language)
        self._set_error(self.error_key)
        self._fill_field()

    def clear_personal_data(self) -> None:
        self.digits = ""
        self._busy = False
        self._set_error(None)
        self._fill_field()
        self.verdict_panel.clear()
        self._show_entry()

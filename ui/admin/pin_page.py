"""The PIN page of admin mode: a digit pad, the digits shown as dots, and what the gate answered (no PIN
set yet, wrong PIN with the tries left, locked out with a countdown)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.admin.pin import PIN_DIGITS
from kiosk.i18n import translate
from ui.widgets.style import set_style_state
from ui.widgets.touch_scroll import touch_scroll_page

_PAD = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("clear", "0", "back"))


class PinPage(QWidget):
    submitted = Signal(str)
    cancelled = Signal()

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("adminPinPage")
        self.language = language
        self.state = "entry"  # entry | checking | wrong | locked | no_pin
        self._digits = ""
        self._left = 0
        self._locked_s = 0
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick)

        self.title = QLabel()
        self.title.setObjectName("screenTitle")
        self.dots = QLabel()
        self.dots.setObjectName("pinDots")
        self.dots.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = QLabel()
        self.message.setObjectName("pinMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.buttons: dict[str, QPushButton] = {}
        pad = QGridLayout()
        pad.setSpacing(10)
        for row, keys in enumerate(_PAD):
            for column, key in enumerate(keys):
                button = QPushButton(key)
                button.setObjectName("keypadKey")
                button.setProperty("key", key)
                button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                button.clicked.connect(lambda _=False, k=key: self.press(k))
                pad.addWidget(button, row, column)
                self.buttons[key] = button
        self.confirm_button = QPushButton()
        self.confirm_button.setObjectName("primaryButton")
        self.confirm_button.clicked.connect(lambda: self.press("confirm"))
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("secondaryButton")
        self.cancel_button.clicked.connect(self.cancelled)

        pad_box = QWidget()
        pad_box.setFixedWidth(480)
        pad_box.setLayout(pad)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.confirm_button)
        actions.addStretch(1)
        content = QWidget()
        content.setObjectName("pinContent")
        layout = QVBoxLayout(content)
        layout.setContentsMargins(48, 24, 48, 24)
        layout.setSpacing(16)
        layout.addWidget(self.title, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.dots)
        layout.addWidget(self.message)
        layout.addWidget(pad_box, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(actions)
        layout.addStretch(1)
        # Under the admin tabs a 1024×600 panel has no room for the four rows of the pad and the buttons:
        # the page scrolls by finger there.
        page = QVBoxLayout(self)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(touch_scroll_page(content, "pinScroll"))
        self.retranslate(language)

    # --- what the gate said ------------------------------------------------------------------------------

    def show_entry(self) -> None:
        self._set_state("entry")

    def show_checking(self) -> None:
        self._set_state("checking")

    def show_wrong(self, left: int) -> None:
        self._left = left
        self._set_state("wrong")

    def show_no_pin(self) -> None:
        self._set_state("no_pin")

    def show_locked(self, seconds: float) -> None:
        self._locked_s = max(1, round(seconds + 0.49))
        self._countdown.start()
        self._set_state("locked")

    def _tick(self) -> None:
        self._locked_s -= 1
        if self._locked_s <= 0:
            self._countdown.stop()
            self._set_state("entry")
        else:
            self._fill()

    def _set_state(self, state: str) -> None:
        if state != "locked":
            self._countdown.stop()
        self.state = state
        self._digits = ""
        set_style_state(self.message, "severity", "error" if state in ("wrong", "locked") else "info")
        usable = state in ("entry", "wrong")
        for button in self.buttons.values():
            button.setEnabled(usable)
        self.confirm_button.setEnabled(usable)
        self._fill()

    # --- typing ------------------------------------------------------------------------------------------

    def press(self, key: str) -> None:
        if self.state not in ("entry", "wrong"):
            return
        if key == "back":
            self._digits = self._digits[:-1]
        elif key == "clear":
            self._digits = ""
        elif key == "confirm":
            if len(self._digits) >= PIN_DIGITS[0]:
                pin, self._digits = self._digits, ""
                self.submitted.emit(pin)
        elif key.isdigit() and len(self._digits) < PIN_DIGITS[1]:
            self._digits += key
        self._fill()

    def clear_personal_data(self) -> None:
        self._digits = ""
        self._fill()

    def retranslate(self, language: str) -> None:
        self.language = language
        self.buttons["back"].setText(translate("manual.backspace", language))
        self.buttons["clear"].setText(translate("manual.clear", language))
        self.confirm_button.setText(translate("manual.confirm", language))
        self.cancel_button.setText(translate("admin.cancel", language))
        self.title.setText(translate("admin.pin.title", language))
        self._fill()

    def _fill(self) -> None:
        lang = self.language
        self.dots.setText("●" * len(self._digits) if self._digits else "—")
        texts = {
            "entry": translate("admin.pin.prompt", lang, low=PIN_DIGITS[0], high=PIN_DIGITS[1]),
            "checking": translate("admin.pin.checking", lang),
            "wrong": translate("admin.pin.wrong", lang, n=self._left),
            "locked": translate("admin.pin.locked", lang, s=self._locked_s),
            "no_pin": translate("admin.pin.none", lang),
        }
        self.message.setText(texts[self.state])
        self.dots.setVisible(self.state != "no_pin")

"""The ID step of a service: who the person is (name and ID number), for the form to fill in.

:class:`IdCaptureStep` is the interface the service screen uses: ``begin()`` asks for the card's fields,
``captured`` hands them back (``{"name": …, "id_number": …}``), ``cancelled`` goes back. The camera
capture screen of the ID-card OCR work will be a second implementation; until then
:class:`ManualIdCapture` asks for the name (system input method) and the ID number (numeric pad), checked
as it is typed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kiosk.i18n import translate
from kiosk.idnumber import IdNumberError, parse_id_number
from ui.screens.manual_entry import group_digits
from ui.widgets.field_editors import NumberPad

ID_LENGTH = 18


class IdCaptureStep(QWidget):
    """Base of every way to capture the card's fields; subclasses implement :meth:`begin`."""

    captured = Signal(dict)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Card fields (``name``, ``id_number``…) the person should check, as of the last ``captured``: read
        # with low confidence. The review highlights them; what was typed is never in doubt.
        self.to_check: list[str] = []

    def begin(self, language: str, known: dict[str, str] | None = None) -> None:
        """Start a capture (``known``: values to correct, from an earlier capture)."""
        raise NotImplementedError

    def clear_personal_data(self) -> None:
        raise NotImplementedError


class ManualIdCapture(IdCaptureStep):
    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("idCapture")
        self.language = language
        self.digits = ""
        self.error_key: str | None = None
        self.prompt = QLabel()
        self.prompt.setObjectName("fieldHint")
        self.name_label = QLabel()
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("fieldLine")
        self.name_edit.setMaxLength(30)
        self.id_label = QLabel()
        self.id_display = QLabel()
        self.id_display.setObjectName("fieldDisplay")
        self.id_display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.pad = NumberPad("X")
        self.pad.key_pressed.connect(self.press)
        self.ok_button = QPushButton()
        self.ok_button.setObjectName("primaryButton")
        self.ok_button.clicked.connect(self.confirm)
        self.back_button = QPushButton()
        self.back_button.setObjectName("secondaryButton")
        self.back_button.clicked.connect(self.cancelled)

        left = QVBoxLayout()
        left.addWidget(self.prompt)
        left.addWidget(self.name_label)
        left.addWidget(self.name_edit)
        left.addWidget(self.id_label)
        left.addWidget(self.id_display)
        left.addWidget(self.error_label)
        left.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.ok_button)
        left.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addWidget(self.pad, 2)
        self.retranslate(language)

    def begin(self, language: str, known: dict[str, str] | None = None) -> None:
        known = known or {}
        self.name_edit.setText(known.get("name", ""))
        self.digits = known.get("id_number", "")
        self._set_error(None)
        self.retranslate(language)
        self.name_edit.setFocus()

    def press(self, key: str) -> None:
        if key == "back":
            self.digits = self.digits[:-1]
        elif len(self.digits) < ID_LENGTH and (key.isdigit() or (key == "X" and len(self.digits) == 17)):
            self.digits += key
        self._set_error(None)
        self._fill()

    def confirm(self) -> None:
        name = self.name_edit.text().strip()
        if not name:
            self._set_error("form.error.name")
            return
        try:
            number = parse_id_number(self.digits)
        except IdNumberError as err:
            self._set_error(err.key)
            return
        self.captured.emit({"name": name, "id_number": number.value})

    def _set_error(self, key: str | None) -> None:
        self.error_key = key
        self.error_label.setText(translate(key, self.language) if key else "")

    def _fill(self) -> None:
        self.id_display.setText(group_digits(self.digits))

    def retranslate(self, language: str) -> None:
        self.language = language
        self.prompt.setText(translate("capture.manual_prompt", language))
        self.name_label.setText(translate("capture.name", language))
        self.id_label.setText(translate("capture.id_number", language))
        self.ok_button.setText(translate("form.next", language))
        self.back_button.setText(translate("form.back", language))
        self._set_error(self.error_key)
        self._fill()

    def clear_personal_data(self) -> None:
        self.name_edit.clear()
        self.digits = ""
        self._set_error(None)
        self._fill()

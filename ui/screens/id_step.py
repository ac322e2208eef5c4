"""The ID step of a service: who the person is (name and ID number), for the form to fill in.

:class:`IdCaptureStep` is the interface the service screen uses: ``begin()`` asks for the card's fields,
``captured`` hands them back (``{"name": …, "id_number": …}``), ``cancelled`` goes back. The camera
capture screen of the ID-card OCR work will be a second implementation; until then
:class:`ManualIdCapture` asks for the name (on-screen pinyin keyboard) and the ID number (numeric pad),
checked as it is typed.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import translate
from kiosk.idnumber import IdNumberError, parse_id_number
from ui.screens.manual_entry import group_digits
from ui.widgets.field_editors import NumberPad
from ui.widgets.pinyin_keyboard import PinyinKeyboard

ID_LENGTH = 18
# From this width a field's label goes beside it, not above it.
WIDE = 800


class IdCaptureStep(QWidget):
    """Base of every way to capture the card's fields; subclasses implement :meth:`begin`."""

    captured = Signal(dict)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Card fields (``name``, ``id_number``…) the person should check, as of the last ``captured``: read
        # with low confidence. The review highlights them; what was typed is never in doubt.
        self.to_check: list[str] = []
        # Where the last ``captured`` fields came from: "chip" (the reader), "ocr" (the camera) or "typed".
        # Submissions record it for the central side to count and audit.
        self.source = "typed"

    def begin(self, language: str, known: dict[str, str] | None = None) -> None:
        """Start a capture (``known``: values to correct, from an earlier capture)."""
        raise NotImplementedError

    def retranslate(self, language: str) -> None:
        """Every visible word in ``language``, without restarting the capture or clearing what was typed."""
        raise NotImplementedError

    def clear_personal_data(self) -> None:
        raise NotImplementedError


class ManualIdCapture(IdCaptureStep):
    """The name typed on the pinyin keyboard, then the ID number on the numeric pad, on one page.

    Two stages, one field active at a time and highlighted: the name with the pinyin keyboard the full width
    of the page, then the ID number with the pad (beside the fields on a landscape screen, under them on a
    portrait one). ``ok_button`` says what comes next: "Next: ID number" while the number is not complete,
    "Confirm" once it is (a name corrected from the review is confirmed at once); back goes from the number to
    the name, and from the name out of the page. Touching a field makes it the active one. On a short screen
    (1024×600) the name stage leaves out the prompt and the number row and puts the keyboard's candidate row
    beside the name, as the form's text pages do.
    """

    NAME, NUMBER = "name", "number"

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("idCapture")
        self.language = language
        self.digits = ""
        self.error_key: str | None = None
        self.stage = self.NAME
        self.compact = False
        self.prompt = QLabel()
        self.prompt.setObjectName("fieldHint")
        self.prompt.setWordWrap(True)
        self.name_label = QLabel()
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("fieldLine")
        self.name_edit.setMaxLength(30)
        self.name_edit.returnPressed.connect(self.confirm)
        self.name_edit.textChanged.connect(lambda _text: self._name_changed())
        self.name_edit.installEventFilter(self)
        self.id_label = QLabel()
        self.id_display = QLabel()
        self.id_display.setObjectName("fieldDisplay")
        self.id_display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.id_display.installEventFilter(self)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.keyboard = PinyinKeyboard(self.name_edit, language)
        self.pad = NumberPad("X")
        self.pad.key_pressed.connect(self.press)
        for button in self.pad.buttons.values():
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the name keeps its cursor for a physical keyboard
        self.pad.hide()
        self.ok_button = QPushButton()
        self.ok_button.setObjectName("primaryButton")
        self.ok_button.clicked.connect(self.confirm)
        self.back_button = QPushButton()
        self.back_button.setObjectName("secondaryButton")
        self.back_button.clicked.connect(self.go_back)
        for button in (self.ok_button, self.back_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.fields = QGridLayout()
        self.fields.setHorizontalSpacing(12)
        self.fields.setVerticalSpacing(4)
        # The fields' column. In the number stage on a landscape page the buttons go under the fields, so
        # that the pad beside them has the page's height.
        self.field_box = QWidget()
        self.field_column = QVBoxLayout(self.field_box)
        self.field_column.setContentsMargins(0, 0, 0, 0)
        self.field_column.setSpacing(6)
        self.field_column.addLayout(self.fields)
        self.field_column.addStretch(1)
        self.button_row = QWidget()
        self.button_box = QHBoxLayout(self.button_row)
        self.button_box.setContentsMargins(0, 0, 0, 0)
        self.button_box.addWidget(self.back_button)
        self.button_box.addStretch(0)
        self.button_box.addWidget(self.ok_button)
        # The keyboard and the pad, one shown at a time (not a stack: its minimum would be the keyboard's).
        self.body = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.body.setSpacing(8)
        self.body.addWidget(self.field_box)
        self.body.addWidget(self.keyboard)
        self.body.addWidget(self.pad, 1)
        self.body.addStretch(0)  # under the keyboard: its rows stay together on a tall page
        # Kept: its spacing counts in the heights, and the buttons come back to it in the name stage.
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._layout.addWidget(self.prompt)
        self._layout.addLayout(self.body, 1)
        self._layout.addWidget(self.button_row)
        self._placed: tuple[object, ...] = ()
        self.retranslate(language)
        self.show_stage(self.NAME)

    # --- stages ----------------------------------------------------------------------------------------

    def begin(self, language: str, known: dict[str, str] | None = None) -> None:
        known = known or {}
        self.name_edit.setText(known.get("name", ""))
        self.name_edit.end(False)
        self.digits = known.get("id_number", "")
        self.keyboard.reset()
        self._set_error(None)
        self.retranslate(language)
        self.show_stage(self.NAME)

    def show_stage(self, stage: str) -> None:
        """Makes the name (pinyin keyboard) or the ID number (pad) the field being typed."""
        self.stage = stage
        if stage == self.NUMBER:
            self.keyboard.reset()  # letters with no character chosen are dropped, as a digit drops them
        self.keyboard.setVisible(stage == self.NAME)
        self.pad.setVisible(stage == self.NUMBER)
        for widget, active in ((self.name_edit, stage == self.NAME), (self.id_display, stage == self.NUMBER)):
            widget.setProperty("active", "true" if active else "false")
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self._label_buttons()
        self._arrange()
        if self.isVisible():  # a page being cleared away takes no focus from the screen shown
            self.name_edit.setFocus()
            self.name_edit.deselect()

    def go_back(self) -> None:
        """Back: from the number to the name; from the name, out of the page."""
        if self.stage == self.NUMBER:
            self.show_stage(self.NAME)
        else:
            self.cancelled.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonRelease:
            if watched is self.id_display and self.stage != self.NUMBER:
                self.show_stage(self.NUMBER)
            elif watched is self.name_edit and self.stage != self.NAME:
                self.show_stage(self.NAME)
        return super().eventFilter(watched, event)

    # --- typing ----------------------------------------------------------------------------------------

    def press(self, key: str) -> None:
        if key == "back":
            self.digits = self.digits[:-1]
        elif len(self.digits) < ID_LENGTH and (key.isdigit() or (key == "X" and len(self.digits) == 17)):
            self.digits += key
        self._set_error(None)
        self._fill()
        self._label_buttons()

    def _name_changed(self) -> None:
        if self.error_key == "form.error.name":
            self._set_error(None)

    def _number_complete(self) -> bool:
        try:
            parse_id_number(self.digits)
        except IdNumberError:
            return False
        return True

    def confirm(self) -> None:
        """The name first, then the number: a missing or wrong one becomes the active field, with its
        error."""
        name = self.name_edit.text().strip()
        if not name:
            if self.stage != self.NAME:
                self.show_stage(self.NAME)
            self._set_error("form.error.name")
            return
        try:
            number = parse_id_number(self.digits)
        except IdNumberError as err:
            if self.stage == self.NAME:
                # On to the number; an error only where there is a whole number to be wrong.
                self.show_stage(self.NUMBER)
                self._set_error(err.key if len(self.digits) == ID_LENGTH else None)
            else:
                self._set_error(err.key)
            return
        self.captured.emit({"name": name, "id_number": number.value})

    def _set_error(self, key: str | None) -> None:
        self.error_key = key
        self.error_label.setText(translate(key, self.language) if key else "")
        self.error_label.setVisible(key is not None)  # no error, no height: a short page needs it
        self._arrange()

    def _fill(self) -> None:
        self.id_display.setText(group_digits(self.digits))

    def _label_buttons(self) -> None:
        lang = self.language
        if self.stage == self.NAME and not self._number_complete():
            self.ok_button.setText(translate("capture.next_number", lang))
        else:
            self.ok_button.setText(translate("capture.confirm", lang))
        back = "capture.back_name" if self.stage == self.NUMBER else "form.back"
        self.back_button.setText(translate(back, lang))

    # --- layout ----------------------------------------------------------------------------------------

    def _heights(self, width: int) -> tuple[int, int, int]:
        """The name stage's heights at ``width``: without the number row and the prompt; the number row; the
        prompt (each with its spacing)."""
        layout = self._layout
        base = (
            self.name_edit.minimumSizeHint().height()
            + self.body.spacing()
            + self.keyboard.full_height(width)
            + layout.spacing()
            + max(self.ok_button.sizeHint().height(), self.back_button.sizeHint().height())
        )
        if self.error_label.isVisibleTo(self):  # a shown error takes its line from the keys
            base += self.error_label.heightForWidth(width) + layout.spacing()
        number = self.fields.verticalSpacing() + self.id_display.sizeHint().height()
        if width < WIDE:
            number += self.fields.verticalSpacing() + self.id_label.sizeHint().height()
        prompt = self.prompt.heightForWidth(width) + layout.spacing()
        return base, number, prompt

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """Places the fields, the keys and the buttons for the stage and the page's size.

        The name's label is always beside it. The name stage has the keyboard under the fields, the full
        width of the page; where the height is short it leaves out the prompt, then the number row, and on a
        wide page puts the candidate row beside the name. The number stage has the pad beside the fields on a
        landscape page (the buttons under the fields), under them on a portrait one.
        """
        width, height = self.width(), self.height()
        # Wide enough for a whole number in the style's font (large text too).
        self.id_display.ensurePolished()
        margins = self.id_display.contentsMargins()
        full = self.id_display.fontMetrics().horizontalAdvance(group_digits("0" * (ID_LENGTH - 1) + "X"))
        self.id_display.setMinimumWidth(full + margins.left() + margins.right() + 4)
        landscape = width >= height
        name_stage = self.stage == self.NAME
        base, number, prompt = self._heights(width)
        compact = name_stage and base + number > height
        number_beside = not name_stage and landscape
        if name_stage:
            show_prompt = base + number + prompt <= height
        else:
            fields = self.fields.minimumSize().height()
            pad = self.pad.minimumSizeHint().height()
            keys = max(fields, pad) if number_beside else fields + self.body.spacing() + pad
            show_prompt = base - self.keyboard.full_height(width) + keys + prompt <= height
        fields_wide = (width * 3 // 5 if number_beside else width) >= WIDE
        placed = (self.stage, compact, show_prompt, fields_wide, landscape, width >= WIDE)
        if placed == self._placed:
            return
        self._placed = placed
        if compact != self.compact:
            self.compact = compact
            # A line edit a little lower, too (the style sheet's compact rule).
            self.name_edit.setProperty("compact", "true" if compact else "false")
            self.name_edit.style().unpolish(self.name_edit)
            self.name_edit.style().polish(self.name_edit)
        for widget in (self.name_label, self.name_edit, self.id_label, self.id_display):
            self.fields.removeWidget(widget)
        if self.keyboard.candidate_row.parentWidget() is not self.keyboard:
            self.fields.removeWidget(self.keyboard.candidate_row)
            self.keyboard.restore_candidate_row()
        candidates_beside = compact and width >= WIDE
        self.fields.addWidget(self.name_label, 0, 0)
        self.fields.addWidget(self.name_edit, 0, 1, 1, 1 if candidates_beside else 2)
        if candidates_beside:
            self.fields.addWidget(self.keyboard.take_candidate_row(), 0, 2)
        self.keyboard.candidate_row.show()  # moved to another parent: shown at once, not on the next event
        if fields_wide:
            self.fields.addWidget(self.id_label, 1, 0)
            self.fields.addWidget(self.id_display, 1, 1, 1, 2)
        else:
            self.fields.addWidget(self.id_label, 1, 0, 1, 3)
            self.fields.addWidget(self.id_display, 2, 0, 1, 3)
        self.fields.setColumnStretch(0, 0)
        self.fields.setColumnStretch(1, 2 if candidates_beside else 1)
        self.fields.setColumnStretch(2, 3 if candidates_beside else 0)
        self.prompt.setVisible(show_prompt)
        self.id_label.setVisible(not compact)
        self.id_display.setVisible(not compact)
        self.body.setDirection(
            QBoxLayout.Direction.LeftToRight if number_beside else QBoxLayout.Direction.TopToBottom
        )
        self.body.setStretch(0, 3 if number_beside else 0)
        self.body.setStretch(2, 2 if number_beside else 1)
        self.body.setStretch(3, 1 if name_stage else 0)
        if name_stage:
            self.button_box.insertWidget(1, self.error_label, 1)  # "Enter the name": short
        else:
            # The ID number's errors are long: under the fields, the width of their column.
            self.field_column.insertWidget(1, self.error_label)
        if number_beside:
            self.field_column.addWidget(self.button_row)
        else:
            self._layout.addWidget(self.button_row)

    def retranslate(self, language: str) -> None:
        self.language = language
        self.prompt.setText(translate("capture.manual_prompt", language))
        self.name_label.setText(translate("capture.name", language))
        self.id_label.setText(translate("capture.id_number", language))
        self.keyboard.set_language(language)
        self._label_buttons()
        self._set_error(self.error_key)
        self._fill()
        self._placed = ()
        self._arrange()

    def clear_personal_data(self) -> None:
        self.name_edit.clear()
        self.keyboard.reset()
        self.digits = ""
        self._set_error(None)
        self._fill()
        self.show_stage(self.NAME)

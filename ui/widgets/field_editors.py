"""One editor per field type, each with the touch input that fits its data.

Text: a line edit with the on-screen pinyin keyboard under it (a physical keyboard types too); phone,
number, ID number: a numeric pad; plate: the plate keyboard; choice, yes/no, date and slot: big buttons
that move on when touched.
Every editor has ``value()``/``set_value()`` and emits ``advance`` when one touch completes the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kiosk.forms.definition import FieldDef, text_in
from kiosk.i18n import translate
from protocol.items import Slot
from ui.widgets.choice_buttons import ChoiceButtons
from ui.widgets.pinyin_keyboard import PinyinKeyboard
from ui.widgets.plate_keyboard import PlateKeyboard

MAX_DATE_BUTTONS = 15


class FieldEditor(QWidget):
    advance = Signal()

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError


class NumberPad(QWidget):
    """Digits, back and one extra key where the field needs it (X for ID numbers, . for decimals).

    Three keys a row, as on a phone; six (two rows) where the page is too short for four rows of keys.
    """

    key_pressed = Signal(str)

    def __init__(self, extra: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons: dict[str, QPushButton] = {}
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(8)
        self.keys = [*"123456789", extra or "", "0", "back"]
        self.columns = 0
        for key in self.keys:
            if not key:
                continue
            button = QPushButton("⌫" if key == "back" else key)
            button.setObjectName("keypadKey")
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.clicked.connect(lambda _=False, k=key: self.key_pressed.emit(k))
            self.buttons[key] = button
        self.set_columns(3)

    def set_columns(self, columns: int) -> None:
        if columns == self.columns:
            return
        self.columns = columns
        for column in range(6):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)
        for i, key in enumerate(self.keys):
            if key:
                self.grid.removeWidget(self.buttons[key])
                self.grid.addWidget(self.buttons[key], i // columns, i % columns)


class TextEditor(FieldEditor):
    """A line edit and the pinyin keyboard under it.

    Where the page is too short for the line edit, the candidate row and the keys one under the other (a
    1024×600 panel), the candidate row moves up beside the line edit: one row of 64 px less.
    """

    def __init__(self, fdef: FieldDef, language: str) -> None:
        super().__init__()
        self.line = QLineEdit()
        self.line.setObjectName("fieldLine")
        self.line.setMaxLength(fdef.max_length or 100)
        self.line.returnPressed.connect(self.advance)
        self.keyboard = PinyinKeyboard(self.line, language)
        self.compact = False
        self.top = QHBoxLayout()
        self.top.setSpacing(8)
        self.top.addWidget(self.line, 2)
        self._layout = QVBoxLayout(self)  # kept: its spacing is part of the height the editor needs
        # Flush with the page, like the other editors' rows: a 1024×600 screen has no height to spare.
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._layout.addLayout(self.top)
        self._layout.addWidget(self.keyboard)
        self._layout.addStretch(1)

    def _full_height(self) -> int:
        """The height the line edit and the whole keyboard under it need."""
        return self.line.minimumSizeHint().height() + self._layout.spacing() + self.keyboard.full_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        compact = event.size().height() < self._full_height()
        if compact != self.compact:
            self.compact = compact
            # A line edit a little lower, too (the style sheet's compact rule).
            self.line.setProperty("compact", "true" if compact else "false")
            self.line.style().unpolish(self.line)
            self.line.style().polish(self.line)
            if compact:
                self.top.addWidget(self.keyboard.take_candidate_row(), 3)
            else:
                self.top.removeWidget(self.keyboard.candidate_row)
                self.keyboard.restore_candidate_row()

    def value(self) -> str:
        return self.line.text()

    def set_value(self, value: Any) -> None:
        self.line.setText("" if value is None else str(value))


class PadEditor(FieldEditor):
    """Phone numbers, numbers and ID numbers typed on the numeric pad."""

    def __init__(self, fdef: FieldDef, language: str) -> None:
        super().__init__()
        self.fdef = fdef
        self.text = ""
        extra = {"id_number": "X", "number": None if fdef.integer else "."}.get(fdef.type)
        self.limit = {"id_number": 18, "phone": 13}.get(fdef.type, 12)
        self.display = QLabel()
        self.display.setObjectName("fieldDisplay")
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pad = NumberPad(extra)
        self.pad.key_pressed.connect(self.press)
        self._layout = QVBoxLayout(self)  # kept: its spacing is part of the height four rows of keys need
        self._layout.addWidget(self.display)
        self._layout.addWidget(self.pad, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # The page's height (the scroll area's viewport around this editor, see ServiceScreen): four rows of
        # keys where they fit under the display, else two rows of six (a 1024×600 panel), so that 0 and ⌫
        # are in view without scrolling.
        page = self.parentWidget()
        height = page.height() if page is not None else event.size().height()
        key = self.pad.buttons["0"].minimumSizeHint().height()
        four_rows = self.display.sizeHint().height() + 4 * key + 3 * 8 + 2 * self._layout.spacing() + 24
        self.pad.set_columns(3 if height >= four_rows else 6)

    def press(self, key: str) -> None:
        if key == "back":
            self.text = self.text[:-1]
        elif len(self.text) < self.limit:
            self.text += key
        self.display.setText(self.text)

    def value(self) -> Any:
        return self.text

    def set_value(self, value: Any) -> None:
        self.text = "" if value is None else str(value)
        self.display.setText(self.text)


class PlateEditor(FieldEditor):
    def __init__(self, fdef: FieldDef, language: str) -> None:
        super().__init__()
        self.display = QLabel()
        self.display.setObjectName("fieldDisplay")
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.keyboard = PlateKeyboard(language)
        self.keyboard.text_changed.connect(self.display.setText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.display)
        layout.addWidget(self.keyboard, 1)

    def value(self) -> str:
        return self.keyboard.text

    def set_value(self, value: Any) -> None:
        self.keyboard.set_text("" if value is None else str(value))
        self.display.setText(self.keyboard.text)


class ButtonsEditor(FieldEditor):
    """Choice, yes/no and date: one touch chooses and moves on."""

    def __init__(self, options: list[tuple[Any, str]], columns: int) -> None:
        super().__init__()
        self._value: Any = None
        self.choices = ChoiceButtons(options, columns)
        self.choices.chosen.connect(self._chosen)
        layout = QVBoxLayout(self)
        layout.addWidget(self.choices)
        layout.addStretch(1)

    def _chosen(self, index: int) -> None:
        self._value = self.choices.values[index]
        self.advance.emit()

    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        self._value = value
        self.choices.select(value)


def date_options(fdef: FieldDef, today: date, language: str) -> list[tuple[str, str]]:
    first = fdef.min_days if fdef.min_days is not None else 0
    last = fdef.max_days if fdef.max_days is not None else first + MAX_DATE_BUTTONS - 1
    days = [today + timedelta(days=n) for n in range(first, last + 1)][-MAX_DATE_BUTTONS:]
    return [(d.isoformat(), day_button_text(d, language)) for d in days]


def day_button_text(day: date, language: str) -> str:
    """A day as its button says it (12月7日 周一 / Mon 7 Dec): words and order from the catalogue."""
    return translate(
        "date.day_button",
        language,
        weekday=translate(f"date.weekday.{day.weekday()}", language),
        day=day.day,
        month_name=translate(f"date.month.{day.month}", language),
    )


class SlotEditor(FieldEditor):
    """Slots of the chosen day from the central API; offline it says so and offers a queue ticket."""

    queue_ticket_requested = Signal()

    def __init__(self, fdef: FieldDef, language: str) -> None:
        super().__init__()
        self.language = language
        self._value: dict[str, str] | None = None
        self.message = QLabel()
        self.message.setObjectName("slotMessage")
        self.message.setWordWrap(True)
        self.ticket_button = QPushButton(translate("form.take_ticket", language))
        self.ticket_button.setObjectName("ticketButton")
        self.ticket_button.clicked.connect(self.queue_ticket_requested)
        self.ticket_button.hide()
        self.choices: ChoiceButtons | None = None
        self.box = QVBoxLayout(self)
        self.box.addWidget(self.message)
        self.box.addWidget(self.ticket_button)
        self.box.addStretch(1)
        self.slots: list[Slot] = []

    def show_loading(self) -> None:
        self.message.setText(translate("form.slots_loading", self.language))

    def show_offline(self) -> None:
        self.message.setText(translate("form.slots_offline", self.language))
        self.ticket_button.show()

    def show_slots(self, slots: list[Slot]) -> None:
        self.slots = [s for s in slots if s.remaining > 0]
        if not self.slots:
            self.message.setText(translate("form.slots_none", self.language))
            self.ticket_button.show()
            return
        self.message.setText("")
        options = [
            (
                s.id,
                translate(
                    "form.slot_option",
                    self.language,
                    start=f"{s.starts_at.astimezone():%H:%M}",
                    end=f"{s.ends_at.astimezone():%H:%M}",
                    n=s.remaining,
                ),
            )
            for s in self.slots
        ]
        self.choices = ChoiceButtons(options, 3)
        self.choices.chosen.connect(self._chosen)
        self.box.insertWidget(1, self.choices)
        if self._value:
            self.choices.select(self._value["id"])

    def _chosen(self, index: int) -> None:
        self._value = self.slots[index].answer()
        self.advance.emit()

    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        self._value = value


def make_editor(fdef: FieldDef, language: str, today: Callable[[], date] = date.today) -> FieldEditor:
    if fdef.type in ("phone", "number", "id_number"):
        return PadEditor(fdef, language)
    if fdef.type == "plate":
        return PlateEditor(fdef, language)
    if fdef.type == "choice":
        return ButtonsEditor([(o.id, text_in(o.label, language)) for o in fdef.options], 2)
    if fdef.type == "yesno":
        return ButtonsEditor(
            [(True, translate("form.yes", language)), (False, translate("form.no", language))], 2
        )
    if fdef.type == "date":
        return ButtonsEditor(date_options(fdef, today(), language), 3)
    if fdef.type == "slot":
        return SlotEditor(fdef, language)
    return TextEditor(fdef, language)

"""Check my application: the receipt's number (its QR code scanned, or typed) and the applicant's ID card
(tapped on the reader, or typed) → the decision this kiosk knows, asked afresh from the server when online.

Nothing is shown unless the ID number is the applicant's (the kiosk keeps only a keyed hash of it), and a
wrong number and a wrong card get the same answer. On screen the number and the ID number are masked once
the search starts; both are dropped when the person leaves or the kiosk goes idle.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.decisions.outcomes import NUMBER_DIGITS, KnownDecision, outcome_text, receipt_number
from kiosk.i18n import translate
from kiosk.idnumber import IdNumberError, parse_id_number
from kiosk.masking import mask_id_number
from ui.operations import Lane, run_op
from ui.screens.id_step import IdCaptureStep
from ui.widgets.keypad import Keypad
from ui.widgets.style import set_style_state, styled_label
from ui.widgets.touch_scroll import touch_scroll_page

# (number as typed or scanned, ID number) → what is known, or None; run off the GUI thread.
Lookup = Callable[[str, str], KnownDecision | None]
NUMBER_MAX = 16  # a submission number's length (a code's number claim holds at most 16 characters)
ID_LENGTH = 18
# Narrower than this (a portrait screen), the keypad goes under the fields instead of beside them.
SIDE_BY_SIDE_FROM = 800


class CheckApplicationScreen(QWidget):
    home_requested = Signal()
    print_requested = Signal(object)  # the KnownDecision whose receipt is to be printed again

    def __init__(
        self,
        language: str,
        lookup: Lookup,
        id_step_factory: Callable[[str], IdCaptureStep] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``id_step_factory``: the forms' ID step (the camera reading the card, with typing at hand), made
        when first asked for; None: the card is tapped on the reader or its number typed."""
        super().__init__(parent)
        self._id_step_factory = id_step_factory
        self.id_step: IdCaptureStep | None = None
        self.setObjectName("checkScreen")
        self.language = language
        self.lookup = lookup
        self.number = ""
        self.id_number = ""
        self.active = "number"  # which field the keypad types into
        self.busy = False
        self.error_key: str | None = None
        self.known: KnownDecision | None = None
        self._asked = 0  # the search a late answer belongs to
        self._typed = ""  # what a keyboard-like scanner has typed since its last Enter

        self.title_label = styled_label("screenTitle", wrap=True)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.number_prompt = styled_label("fieldLabel", wrap=True)
        self.number_field = QPushButton()
        self.number_field.setObjectName("checkField")
        self.number_field.clicked.connect(lambda: self._activate("number"))
        self.id_prompt = styled_label("fieldLabel", wrap=True)
        self.id_field = QPushButton()
        self.id_field.setObjectName("checkField")
        self.id_field.clicked.connect(lambda: self._activate("id"))
        self.camera_button = QPushButton()
        self.camera_button.setObjectName("secondaryButton")
        self.camera_button.clicked.connect(self.read_card)
        self.camera_button.setVisible(id_step_factory is not None)
        self.error_label = styled_label("errorLabel", wrap=True)
        self.keypad = Keypad(language)
        self.keypad.setMinimumHeight(200)
        self.keypad.key_pressed.connect(self._key)

        fields = QWidget()
        column = QVBoxLayout(fields)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in (
            self.number_prompt,
            self.number_field,
            self.id_prompt,
            self.id_field,
            self.camera_button,
            self.error_label,
        ):
            column.addWidget(widget)
        column.addStretch(1)
        entry = QWidget()
        self.entry_row = QBoxLayout(QBoxLayout.Direction.LeftToRight, entry)
        self.entry_row.setContentsMargins(0, 0, 0, 0)
        self.entry_row.setSpacing(24)
        self.entry_row.addWidget(fields, 1)
        self.entry_row.addWidget(self.keypad, 1)

        self.result_for = styled_label("resultCaption", wrap=True)
        self.result_for.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.outcome_label = styled_label("doneDecision", wrap=True)
        self.outcome_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail_label = styled_label("doneDecisionDetail", wrap=True)
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.again_button = QPushButton()
        self.again_button.setObjectName("secondaryButton")
        self.again_button.clicked.connect(self.reset)
        self.home_button = QPushButton()
        self.home_button.setObjectName("primaryButton")
        self.home_button.clicked.connect(self.home_requested)
        # A decision that came after the receipt was printed: the receipt again, with it (and its code).
        self.print_button = QPushButton()
        self.print_button.setObjectName("secondaryButton")
        self.print_button.clicked.connect(self._print)
        self.print_button.hide()
        result = QWidget()
        box = QVBoxLayout(result)
        box.addStretch(1)
        for widget in (self.result_for, self.outcome_label, self.detail_label):
            box.addWidget(widget)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.again_button)
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.home_button)
        buttons.addStretch(1)
        box.addLayout(buttons)
        box.addStretch(2)

        self.pages = QStackedWidget()
        self.entry_page = touch_scroll_page(entry, "checkScroll")
        self.result_page = touch_scroll_page(result, "checkResultScroll")
        for page in (self.entry_page, self.result_page):
            # The screen's own background behind the page, not a lighter panel of the scroll area's.
            page.viewport().setAutoFillBackground(False)
        self.pages.addWidget(self.entry_page)
        self.pages.addWidget(self.result_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 12, 32, 12)
        layout.addWidget(self.title_label)
        layout.addWidget(self.pages, 1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.retranslate(language)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        wide = self.width() >= SIDE_BY_SIDE_FROM
        self.entry_row.setDirection(
            QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        )

    # --- input -----------------------------------------------------------------------------------------

    def _activate(self, which: str) -> None:
        self.active = which
        self._refresh()

    def _key(self, key: str) -> None:
        if self.busy:
            return
        self._set_error(None)
        if key == "confirm":
            if self.active == "number" and len(self.number) >= NUMBER_DIGITS and not self.id_number:
                self._activate("id")  # the number first, then the card: confirm moves on
            else:
                self.search()
            return
        value = self.number if self.active == "number" else self.id_number
        if key == "back":
            value = value[:-1]
        elif key == "clear":
            value = ""
        elif key == "X" and self.active == "number":
            return
        else:
            value = (value + key)[: NUMBER_MAX if self.active == "number" else ID_LENGTH]
        if self.active == "number":
            self.number = value
        else:
            self.id_number = value
        self._refresh()

    def take_code(self, text: str) -> bool:
        """A scanned QR code: a receipt's fills in the number (and moves on to the ID); another is refused
        with a message. True when it was a receipt."""
        number = receipt_number(text)
        if number is None:
            self._set_error("check.bad_code")
            return False
        self.number = number
        self._set_error(None)
        self._activate("id")
        if self.id_number:
            self.search()
        return True

    def take_id_number(self, id_number: str) -> None:
        """An ID card tapped on the reader (or read by the camera): its number, never shown whole."""
        self.id_number = id_number.strip().upper()[:ID_LENGTH]
        self._set_error(None)
        self._refresh()
        if self.number:
            self.search()

    def read_card(self) -> None:
        """The ID card read by the camera, as the forms' ID step reads it; back here with its number."""
        if self._id_step_factory is None:
            return
        if self.id_step is None:
            self.id_step = self._id_step_factory(self.language)
            self.id_step.captured.connect(self._card_captured)
            self.id_step.cancelled.connect(self._card_cancelled)
            self.pages.addWidget(self.id_step)
        self.pages.setCurrentWidget(self.id_step)
        self.id_step.begin(self.language, {})

    def _card_captured(self, card: dict[str, str]) -> None:
        self.pages.setCurrentWidget(self.entry_page)
        if self.id_step is not None:
            self.id_step.clear_personal_data()  # only the number is kept, as from the keypad
        self.take_id_number(card.get("id_number", ""))

    def _card_cancelled(self) -> None:
        self.pages.setCurrentWidget(self.entry_page)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # A hand-held scanner types the QR code's text and Enter, like a keyboard.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            typed, self._typed = self._typed, ""
            if typed:
                self.take_code(typed)
            return
        if event.text() and event.text().isprintable():
            self._typed = (self._typed + event.text())[-4096:]
            return
        super().keyPressEvent(event)

    # --- search ----------------------------------------------------------------------------------------

    def search(self) -> None:
        if self.busy:
            return
        if len(self.number) < NUMBER_DIGITS or not self.id_number:
            self._set_error("check.need_both")
            return
        try:
            parse_id_number(self.id_number)
        except IdNumberError:
            self._set_error("check.bad_id")
            return
        self.busy = True
        self._asked += 1
        asked, number, id_number, lookup = self._asked, self.number, self.id_number, self.lookup
        self._set_error(None)
        self.result_for.setText(self._result_for())
        self.outcome_label.setText(translate("check.searching", self.language))
        set_style_state(self.outcome_label, "outcome", "waiting")
        self.detail_label.hide()
        self.pages.setCurrentWidget(self.result_page)
        run_op(
            self,
            lambda: lookup(number, id_number),
            lane=Lane.IO,
            on_success=lambda known: self._found(asked, known),
            on_failure=lambda _error: self._found(asked, None),
        )

    def _found(self, asked: int, known: KnownDecision | None) -> None:
        if asked != self._asked:
            return  # the person left, or started again, meanwhile
        self.busy = False
        self.known = known
        self._show_result()

    def _show_result(self) -> None:
        lang, known = self.language, self.known
        self.result_for.setText(self._result_for())
        self.print_button.setVisible(known is not None and known.final)
        if known is None:
            self.outcome_label.setText(translate("check.not_found", lang))
            set_style_state(self.outcome_label, "outcome", "notFound")
            self.detail_label.hide()
            return
        outcome = "provisional" if known.provisional else known.outcome or "pending"
        self.outcome_label.setText(outcome_text(known, lang))
        set_style_state(self.outcome_label, "outcome", outcome)
        lines: list[str] = []
        if known.outcome == "rejected":
            lines = [translate("decision.reasons", lang), *(f"· {r}" for r in known.reasons_in(lang))]
        elif known.final and known.code:
            lines = [translate("check.code_hint", lang)]
        elif known.outcome is None or known.provisional:
            lines = [translate("decision.pending", lang)]
        self.detail_label.setText("\n".join(lines))
        self.detail_label.setVisible(bool(lines))

    def _print(self) -> None:
        if self.known is not None:
            self.print_requested.emit(self.known)
            self.print_button.setEnabled(False)  # once: a second receipt is a second tap on "check another"

    def _result_for(self) -> str:
        # The number as the kiosk holds it, once found (a keypad types only its digits).
        number = self.known.number if self.known is not None else self.number
        return translate("check.result_for", self.language, number=number, id=mask_id_number(self.id_number))

    # --- screen ----------------------------------------------------------------------------------------

    def _set_error(self, key: str | None) -> None:
        self.error_key = key
        self.error_label.setText(translate(key, self.language) if key else "")
        self.error_label.setVisible(key is not None)

    def _refresh(self) -> None:
        lang = self.language
        self.number_field.setText(self.number or translate("check.number_placeholder", lang))
        # Masked from the start: someone behind the person must not read it off the screen.
        self.id_field.setText(
            mask_id_number(self.id_number) if self.id_number else translate("check.id_placeholder", lang)
        )
        set_style_state(self.number_field, "active", str(self.active == "number").lower())
        set_style_state(self.id_field, "active", str(self.active == "id").lower())

    def retranslate(self, language: str) -> None:
        self.language = language
        self.title_label.setText(translate("check.title", language))
        self.number_prompt.setText(translate("check.number_prompt", language))
        self.id_prompt.setText(translate("check.id_prompt", language))
        self.again_button.setText(translate("check.again", language))
        self.camera_button.setText(translate("check.read_card", language))
        if self.id_step is not None:
            self.id_step.retranslate(language)
        self.print_button.setText(translate("check.print", language))
        self.home_button.setText(translate("check.home", language))
        self.keypad.retranslate(language)
        self._set_error(self.error_key)
        self._refresh()
        if self.pages.currentWidget() is self.result_page and not self.busy:
            self._show_result()

    def reset(self) -> None:
        """Empty, on the entry page: for the next person (or the same one, another application)."""
        self._asked += 1
        self.busy = False
        self.number = ""
        self.id_number = ""
        self.known = None
        self.print_button.hide()
        self.print_button.setEnabled(True)
        self._typed = ""
        self.active = "number"
        self._set_error(None)
        self.pages.setCurrentWidget(self.entry_page)
        if self.id_step is not None:
            self.id_step.clear_personal_data()
        self._refresh()

    def clear_personal_data(self) -> None:
        self.reset()

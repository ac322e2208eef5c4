"""A self-service form, driven by its definition: one question per page, a review, then the done page.

The pages come from the definition's steps: an ID step (name and ID number, through an
:class:`~ui.screens.id_step.IdCaptureStep`), one page per field with the input that fits its type, and a
review where every answer can be corrected. Each answer is checked when the person moves on, with the same
checks as the submission. Confirming hands the answers to the window, which stores them off the GUI thread
and then shows the done page; personal values on screen are masked, and all are dropped on reset.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.decisions.outcomes import KnownDecision, outcome_text
from kiosk.disk import is_disk_full
from kiosk.forms.answers import AnswerError, display_value, mask_answers
from kiosk.forms.definition import FieldDef, ServiceDefinition, text_in
from kiosk.forms.navigation import FormNavigator, Page
from kiosk.forms.slots import SlotSource, SlotsUnavailable, SlotTaken
from kiosk.i18n import translate
from protocol.items import Slot
from ui.operations import Lane, run_op
from ui.screens.id_step import IdCaptureStep
from ui.widgets.field_editors import FieldEditor, SlotEditor, make_editor
from ui.widgets.style import set_style_state, styled_label
from ui.widgets.touch_scroll import make_touch_scrollable, touch_scroll_page


class GroupEditor(FieldEditor):
    """Repeated entries (passengers): each added from an ID card (or typed), shown masked, removable."""

    add_requested = Signal()

    def __init__(self, fdef: FieldDef, language: str) -> None:
        super().__init__()
        self.fdef = fdef
        self.language = language
        self.items: list[dict[str, Any]] = []
        self.rows = QVBoxLayout()
        self.add_button = QPushButton(translate("form.add_person", language))
        self.add_button.setObjectName("secondaryButton")
        self.add_button.clicked.connect(self.add_requested)
        layout = QVBoxLayout(self)
        # Flush with the page like the other editors: the default margins took the width the English
        # "add a person" text needs on a portrait screen.
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.rows)
        layout.addWidget(self.add_button)
        layout.addStretch(1)

    def value(self) -> list[dict[str, Any]]:
        return list(self.items)

    def set_value(self, value: Any) -> None:
        self.items = list(value or [])
        self._fill()

    def add(self, item: dict[str, Any]) -> None:
        self.items.append(item)
        self._fill()

    def remove(self, index: int) -> None:
        del self.items[index]
        self._fill()

    def _fill(self) -> None:
        while (row_item := self.rows.takeAt(0)) is not None:  # None once every row is taken
            widget = row_item.widget()
            if widget is not None:
                widget.deleteLater()
        for i, item in enumerate(self.items):
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            shown = mask_answers(self.fdef.fields, item)
            text = "  ".join(display_value(sub, shown.get(sub.id), self.language) for sub in self.fdef.fields)
            entry = styled_label("groupEntry")
            entry.setText(f"{i + 1}. {text}")
            remove = QPushButton(translate("form.remove", self.language))
            remove.setObjectName("smallButton")
            remove.clicked.connect(lambda _=False, n=i: self.remove(n))
            line.addWidget(entry, 1)
            line.addWidget(remove)
            self.rows.addWidget(row)
        self.add_button.setEnabled(len(self.items) < self.fdef.max_items)


class ServiceScreen(QWidget):
    # object, not dict: the answers go through as they are, not converted to a Qt map and back.
    confirmed = Signal(object, object)  # the definition and the checked answers
    queue_ticket_requested = Signal()
    home_requested = Signal()
    reprint_requested = Signal(int)  # a print job id

    def __init__(
        self,
        language: str,
        id_step_factory: Callable[[str], IdCaptureStep],
        slots: SlotSource,
        today: Callable[[], date] = date.today,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("serviceScreen")
        self.language = language
        self.slots = slots
        self.today = today
        # The form's state (pages, answers, the way back and forth); this screen only draws it.
        self.form = FormNavigator()
        self.busy = False
        self.editor: FieldEditor | None = None
        self.error: AnswerError | None = None
        self.job_id: int | None = None
        self._group_item: bool = False
        self.done_page: QWidget | None = None
        self._done_inner: QWidget | None = None  # the done page's content, inside its scroll area
        # Where the person's identity came from (the ID step's source), None on a form without an ID step.
        self.identity_source: str | None = None

        # Wrapped: an English title and step name do not fit across a portrait screen on one line.
        self.title_label = styled_label("serviceTitle", wrap=True)
        self.step_label = styled_label("stepTitle", wrap=True)
        self.progress_label = styled_label("stepProgress")
        self.question_label = styled_label("fieldLabel", wrap=True)
        self.hint_label = styled_label("fieldHint", wrap=True)
        self.error_label = styled_label("errorLabel", wrap=True)
        self.body = QStackedWidget()
        self.id_step = id_step_factory(language)
        self.id_step.captured.connect(self._captured)
        self.id_step.cancelled.connect(self._capture_cancelled)
        self.body.addWidget(self.id_step)
        self.back_button = QPushButton()
        self.back_button.setObjectName("secondaryButton")
        self.back_button.clicked.connect(self.go_back)
        self.next_button = QPushButton()
        self.next_button.setObjectName("primaryButton")
        self.next_button.clicked.connect(self.go_next)

        header = QHBoxLayout()
        header.addWidget(self.title_label)
        header.addWidget(self.step_label, 1)
        header.addWidget(self.progress_label)
        self.footer = QWidget()
        footer = QHBoxLayout(self.footer)
        footer.setContentsMargins(0, 0, 0, 0)
        footer.addWidget(self.back_button)
        footer.addStretch(1)
        footer.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 16, 40, 16)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.question_label)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.footer)

    # --- flow ------------------------------------------------------------------------------------------

    def start(self, definition: ServiceDefinition) -> None:
        self.clear_personal_data()
        self.form.start(definition)
        self._show(0)

    # What the form's state holds, read through the screen (by the window, tests and tools).
    @property
    def definition(self) -> ServiceDefinition | None:
        return self.form.definition

    @property
    def pages(self) -> list[Page]:
        return self.form.pages

    @property
    def index(self) -> int:
        return self.form.index

    @property
    def answers(self) -> dict[str, Any]:
        return self.form.answers

    @property
    def to_check(self) -> set[str]:
        return self.form.to_check

    @property
    def page(self) -> Page:
        return self.form.page

    @property
    def on_review(self) -> bool:
        return self.form.on_review

    @property
    def on_done(self) -> bool:
        return self.done_page is not None and self.body.currentWidget() is self.done_page

    def go_next(self) -> None:
        if self.busy:
            return
        if self.on_review:
            self.busy = True
            self.next_button.setEnabled(False)
            assert self.definition is not None
            self.confirmed.emit(self.definition, dict(self.answers))
            return
        fdef = self.page.fdef
        if fdef is not None and self.editor is not None:
            try:
                self.form.answer(fdef, self.editor.value(), self.today())
            except AnswerError as err:
                self._set_error(err)
                return
        self._show(self.form.next_index())

    def go_back(self) -> None:
        if self.busy:
            return
        if self._group_item:
            self._show(self.index)
            return
        target = self.form.back_index()
        if target is None:
            self.home_requested.emit()
        else:
            self._show(target)

    def edit(self, field_id: str | None, step_id: str) -> None:
        """From the review: open the page of one answer; moving on returns to the review."""
        target = self.form.edit_index(field_id, step_id)
        if target is not None:
            self._show(target)
            self.form.back_to_review = True

    def _show_header(self, index: int) -> None:
        assert self.definition is not None
        self.form.index = index
        page = self.page
        lang = self.language
        self.title_label.setText(self.definition.title_in(lang))
        self.step_label.setText(text_in(page.step.title, lang))
        self.progress_label.setText(f"{index + 1}/{len(self.pages)}")

    def _show(self, index: int) -> None:
        self._show_header(index)
        self.form.go_to(index)
        self._group_item = False
        self._set_error(None)
        page = self.page
        lang = self.language
        self.footer.show()
        self.next_button.setEnabled(True)
        self.next_button.setText(translate("form.confirm" if self.on_review else "form.next", lang))
        self.back_button.setText(translate("form.back", lang))
        self.hint_label.setText("")
        if self.form.on_id_capture:
            self.editor = None
            self._show_capture(page.step.fields, self.form.known_from_card(page.step.fields))
        elif self.on_review:
            self.question_label.setText(translate("form.review_prompt", lang))
            self._set_body(self._review_widget())
        else:
            assert page.fdef is not None
            self._show_field(page.fdef)
        # An empty hint takes no height: a 600-pixel-high screen needs all of it for the ID step.
        self.hint_label.setVisible(bool(self.hint_label.text()))

    def _show_capture(self, fields: tuple[FieldDef, ...], known: dict[str, str]) -> None:
        self.question_label.setText(translate("form.id_prompt", self.language))
        self.footer.hide()
        self.body.setCurrentWidget(self.id_step)
        self.id_step.begin(self.language, known)

    def _show_field(self, fdef: FieldDef) -> None:
        lang = self.language
        self.question_label.setText(
            text_in(fdef.label, lang) + ("" if fdef.required else translate("form.optional", lang))
        )
        if fdef.hint:
            self.hint_label.setText(text_in(fdef.hint, lang))
        editor: FieldEditor
        if fdef.type == "group":
            editor = GroupEditor(fdef, lang)
            editor.add_requested.connect(self._add_group_item)
        else:
            editor = make_editor(fdef, lang, self.today)
        editor.set_value(self.answers.get(fdef.id))
        editor.advance.connect(self.go_next)
        if isinstance(editor, SlotEditor):
            editor.queue_ticket_requested.connect(self.queue_ticket_requested)
            self._load_slots(fdef, editor)
        self.editor = editor
        # Scrolled by a finger where the screen is too short for the editor's keys or choices.
        self._set_body(touch_scroll_page(editor, "fieldScroll"))

    def _set_body(self, widget: QWidget) -> None:
        old = self.body.widget(1)
        if old is not None:
            self.body.removeWidget(old)
            old.deleteLater()
        self.body.addWidget(widget)
        self.body.setCurrentWidget(widget)

    def _load_slots(self, fdef: FieldDef, editor: SlotEditor) -> None:
        business = self.answers.get(fdef.service_field or "")
        day = self.answers.get(fdef.day_field or "")
        editor.show_loading()
        if business is None or day is None:
            editor.show_offline()
            return
        source = self.slots

        def done(result: list[Slot] | None) -> None:
            if editor is not self.editor:
                return  # the person moved on meanwhile
            if result is None:
                editor.show_offline()
            else:
                editor.show_slots(result)

        def fetch() -> list[Slot] | None:
            try:
                return source.slots(business, date.fromisoformat(day))
            except SlotsUnavailable:
                return None

        run_op(self, fetch, lane=Lane.IO, on_success=done)

    # --- ID capture ---------------------------------------------------------------------------------------

    def _add_group_item(self) -> None:
        assert self.page.fdef is not None
        self._group_item = True
        self._show_capture(self.page.fdef.fields, {})

    def _captured(self, card: dict[str, str]) -> None:
        page = self.page
        if self._group_item:
            assert page.fdef is not None and isinstance(self.editor, GroupEditor)
            group_editor = self.editor
            item = {f.id: card[f.from_card] for f in page.fdef.fields if f.from_card and f.from_card in card}
            self._group_item = False
            self.footer.show()
            self.question_label.setText(text_in(page.fdef.label, self.language))
            group_page = self.body.widget(1)
            # The group editor's page: its add button started this capture, and only leaving the field
            # (which this capture has not done) replaces it.
            assert group_page is not None
            self.body.setCurrentWidget(group_page)
            group_editor.add(item)
            return
        self.identity_source = self.id_step.source
        self.form.take_card(card, set(self.id_step.to_check))
        self._show(self.form.next_index())

    def _capture_cancelled(self) -> None:
        self.go_back()

    # --- review and done -------------------------------------------------------------------------------

    def _review_widget(self) -> QWidget:
        assert self.definition is not None
        shown = mask_answers(self.definition.fields, self.answers)
        inner = QWidget()
        grid = QGridLayout(inner)
        grid.setHorizontalSpacing(24)
        row = 0
        self.review_values: dict[str, QLabel] = {}
        self.review_notes: dict[str, QLabel] = {}
        self.review_confirm_buttons: dict[str, QPushButton] = {}
        for step in self.definition.steps:
            for fdef in step.fields:
                name = styled_label("reviewLabel")
                name.setText(text_in(fdef.label, self.language))
                value = styled_label("reviewValue", wrap=True)
                value.setText(display_value(fdef, shown.get(fdef.id), self.language))
                self.review_values[fdef.id] = value
                change = QPushButton(translate("form.change", self.language))
                change.setObjectName("smallButton")
                target = None if (step.kind == "id_capture" and fdef.from_card) else fdef.id
                change.clicked.connect(lambda _=False, f=target, s=step.id: self.edit(f, s))
                grid.addWidget(name, row, 0)
                grid.addWidget(change, row, 2)
                if fdef.id in self.to_check:
                    grid.addWidget(self._to_check_cell(fdef.id, value), row, 1)
                else:
                    grid.addWidget(value, row, 1)
                row += 1
        grid.setColumnStretch(1, 1)
        scroll = QScrollArea()
        scroll.setObjectName("reviewScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        return make_touch_scrollable(scroll)

    def _to_check_cell(self, field_id: str, value: QLabel) -> QWidget:
        """A value the ID step was unsure of: marked, with a note and a button to say it is right."""
        value.setProperty("check", "true")
        note = styled_label("reviewCheckNote", wrap=True)
        note.setText(translate("form.please_check", self.language))
        self.review_notes[field_id] = note
        right = QPushButton(translate("form.looks_right", self.language))
        right.setObjectName("smallButton")
        right.clicked.connect(lambda: self.confirm_checked(field_id))
        self.review_confirm_buttons[field_id] = right
        cell = QWidget()
        box = QVBoxLayout(cell)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(value)
        line = QHBoxLayout()
        line.addWidget(note, 1)
        line.addWidget(right)
        box.addLayout(line)
        return cell

    def confirm_checked(self, field_id: str) -> None:
        """The person says the value read from the card is right: no longer highlighted."""
        self.form.confirm_checked(field_id)
        if self.on_review:
            self._show(self.index)

    def show_submission_error(self, error: Exception) -> None:
        """The store refused or an answer failed the final check: stay on the review, say why."""
        self.busy = False
        self.next_button.setEnabled(True)
        if isinstance(error, AnswerError):
            self._set_error(error)
        else:
            if isinstance(error, SlotTaken):
                key = "form.slot_taken"
            elif isinstance(error, SlotsUnavailable):
                key = "form.slots_offline"
            elif is_disk_full(error):
                key = "form.storage_full"
            else:
                key = "form.submit_failed"
            self._show_error_text(translate(key, self.language))

    def show_done(self, number: str, ticket: str | None, job_id: int) -> None:
        """The submission is stored: its number, and the receipt's progress (see :meth:`set_print_state`)."""
        self.busy = False
        self.job_id = job_id
        lang = self.language
        page = QWidget()
        page.setObjectName("donePage")
        box = QVBoxLayout(page)
        box.addStretch(1)
        done = styled_label("doneTitle")
        done.setText(translate("form.done", lang))
        done.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.done_number = styled_label("doneNumber", wrap=True)
        self.done_number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.done_number.setText(
            translate("form.ticket_is", lang, ticket=ticket)
            if ticket
            else translate("form.number_is", lang, number=number)
        )
        # A decided service's outcome (智慧批): shown by show_decision once known, hidden for the others.
        self.decision_label = styled_label("doneDecision", wrap=True)
        self.decision_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.decision_label.hide()
        self.decision_detail = styled_label("doneDecisionDetail", wrap=True)
        self.decision_detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.decision_detail.hide()
        self.print_label = styled_label("printStatus", wrap=True)
        self.print_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.print_label.setText(translate("print.printing", lang))
        self.reprint_button = QPushButton(translate("print.reprint", lang))
        self.reprint_button.setObjectName("secondaryButton")
        self.reprint_button.hide()
        self.reprint_button.clicked.connect(lambda: self.reprint_requested.emit(job_id))
        home = QPushButton(translate("form.finish", lang))
        home.setObjectName("primaryButton")
        home.clicked.connect(self.home_requested)
        for widget in (done, self.done_number, self.decision_label, self.decision_detail, self.print_label):
            box.addWidget(widget)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.reprint_button)
        row.addWidget(home)
        row.addStretch(1)
        box.addLayout(row)
        box.addStretch(2)
        # Scrolled by a finger when a decision's reasons make it taller than a 1024×600 panel leaves room for.
        self.done_page = touch_scroll_page(page, "doneScroll")
        # The screen's own background behind the page, not a lighter panel of the scroll area's.
        self.done_page.viewport().setAutoFillBackground(False)
        self._done_inner = page
        self.progress_label.setText("")
        self.step_label.setText("")
        self.question_label.setText("")
        self.hint_label.setText("")
        self.footer.hide()
        self._set_body(self.done_page)
        # The answers are stored: nothing personal needs to stay in this screen any longer.
        self.form.answers = {}

    def show_decision_waiting(self) -> None:
        """The submission went to the central server: its decision is awaited (a bounded wait)."""
        if not self.on_done or self._done_inner is None:
            return
        # Number and title smaller, so the outcome and its reasons fit above the fold of a 1024×600 panel.
        set_style_state(self._done_inner, "decided", "true")
        self.decision_label.setText(translate("decision.waiting", self.language))
        set_style_state(self.decision_label, "outcome", "waiting")
        self.decision_label.show()
        self.print_label.setText("")

    def show_decision(self, known: KnownDecision | None) -> None:
        """What is known of the decision: approved, rejected with its reasons, manual, provisional, or —
        nothing known in time — that the result will follow by text message or here."""
        if not self.on_done or self._done_inner is None:
            return
        lang = self.language
        outcome = "pending" if known is None or known.outcome is None else known.outcome
        if known is not None and known.provisional:
            outcome = "provisional"
        set_style_state(self._done_inner, "decided", "true")
        self.decision_label.setText(outcome_text(known, lang))
        set_style_state(self.decision_label, "outcome", outcome)
        self.decision_label.show()
        lines: list[str] = []
        if known is not None and known.outcome == "rejected":
            lines = [translate("decision.reasons", lang), *(f"· {r}" for r in known.reasons_in(lang))]
        elif known is not None and known.final and known.code:
            lines = [translate("decision.code_printed", lang)]
        elif known is not None and known.provisional:
            lines = [translate("decision.pending", lang)]
        self.decision_detail.setText("\n".join(lines))
        self.decision_detail.setVisible(bool(lines))
        if not self.print_label.text():
            self.print_label.setText(translate("print.printing", lang))

    def set_print_state(self, printed: bool, state: str) -> None:
        if not self.on_done:
            return
        self.print_label.setText(
            translate("print.done", self.language)
            if printed
            else translate(f"print.failed.{state}", self.language)
        )
        self.reprint_button.setVisible(not printed)
        if not printed:
            self.reprint_button.setText(translate("print.reprint", self.language))

    # --- screen ----------------------------------------------------------------------------------------

    def _set_error(self, error: AnswerError | None) -> None:
        self.error = error
        self._show_error_text(error.text(self.language) if error else "")

    def _show_error_text(self, text: str) -> None:
        # No error, no height: a 1024×600 screen needs it for the line edit and the pinyin keyboard.
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def retranslate(self, language: str) -> None:
        """The page again in ``language``, keeping what the person has typed or the camera has read."""
        self.language = language
        if self.definition is None or not self.pages or self.on_done:
            return
        if self.form.on_id_capture:
            # Re-showing would restart the capture and drop a half-typed name: only the words change.
            self.editor = None
            self._show_header(self.index)
            self.question_label.setText(translate("form.id_prompt", language))
            self.footer.hide()
            self.id_step.retranslate(language)
            return
        typed = self.editor.value() if self.editor is not None and not self.on_review else None
        back_to_review = self.form.back_to_review
        self._show(self.index)
        if typed is not None and self.editor is not None:
            self.editor.set_value(typed)
        self.form.back_to_review = back_to_review

    def clear_personal_data(self) -> None:
        self.form.clear()
        self.identity_source = None
        self.busy = False
        self.job_id = None
        self.editor = None
        self.done_page = None
        self.id_step.clear_personal_data()
        self._set_error(None)
        old = self.body.widget(1)
        if old is not None:
            self.body.removeWidget(old)
            old.deleteLater()
        self.body.setCurrentWidget(self.id_step)

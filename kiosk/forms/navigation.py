"""Where a person is in a self-service form and what they have answered, with no widgets: the page
sequence, the answers checked so far, the way back and forth (and back to the review after a change),
and the values read from an ID card that still need a look. The screen (``ui/screens/service.py``) only
draws the current page and forwards the person's taps, as ODK Collect's ``FormEntryViewModel`` keeps the
form's state outside its views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from kiosk.forms.answers import check_field
from kiosk.forms.definition import FieldDef, ServiceDefinition, Step


@dataclass(frozen=True)
class Page:
    step: Step
    fdef: FieldDef | None = None  # None: the step's ID capture, or the review


def pages_of(definition: ServiceDefinition) -> list[Page]:
    pages: list[Page] = []
    for step in definition.steps:
        if step.kind == "id_capture":
            pages.append(Page(step))
            pages += [Page(step, f) for f in step.fields if not f.from_card]
        elif step.kind == "fields":
            pages += [Page(step, f) for f in step.fields]
        else:
            pages.append(Page(step))
    return pages


class FormNavigator:
    def __init__(self) -> None:
        self.definition: ServiceDefinition | None = None
        self.pages: list[Page] = []
        self.index = 0
        self.answers: dict[str, Any] = {}
        # Set when a page was opened from the review: moving on (or back) returns there.
        self.back_to_review = False
        # Form fields filled from the card that the ID step was unsure of: highlighted on the review until
        # the person confirms them or captures the card again.
        self.to_check: set[str] = set()

    def start(self, definition: ServiceDefinition) -> None:
        self.clear()
        self.definition = definition
        self.pages = pages_of(definition)
        self.index = 0

    def clear(self) -> None:
        """Forget every answer (the form was sent, or the person left): nothing personal stays."""
        self.answers = {}
        self.to_check = set()
        self.back_to_review = False

    @property
    def page(self) -> Page:
        return self.pages[self.index]

    @property
    def on_review(self) -> bool:
        return self.page.step.kind == "review"

    @property
    def on_id_capture(self) -> bool:
        return self.page.step.kind == "id_capture" and self.page.fdef is None

    def go_to(self, index: int) -> None:
        self.index = index
        self.back_to_review = False

    def review_index(self) -> int:
        return next(i for i, p in enumerate(self.pages) if p.step.kind == "review")

    def answer(self, fdef: FieldDef, raw: Any, today: date) -> None:
        """Check and keep the answer of one page; raises ``AnswerError`` (nothing kept) for a bad one."""
        value = check_field(fdef, raw, today)
        if value is None or value == []:
            self.answers.pop(fdef.id, None)
        else:
            self.answers[fdef.id] = value

    def next_index(self) -> int:
        return self.review_index() if self.back_to_review else self.index + 1

    def back_index(self) -> int | None:
        """The page "back" leads to; None: out of the form."""
        if self.back_to_review:
            return self.review_index()
        return None if self.index == 0 else self.index - 1

    def edit_index(self, field_id: str | None, step_id: str) -> int | None:
        """The page of one answer, opened from the review (``field_id`` None: the step's ID capture)."""
        for i, page in enumerate(self.pages):
            if page.step.id == step_id and (page.fdef.id if page.fdef else None) == field_id:
                return i
        return None

    def known_from_card(
        self, fields: tuple[FieldDef, ...], source: Mapping[str, Any] | None = None
    ) -> dict[str, str]:
        """What the card fields of ``fields`` hold already, by card field name (to show on a re-capture)."""
        values = self.answers if source is None else source
        return {f.from_card: values[f.id] for f in fields if f.from_card and f.id in values}

    def take_card(self, card: Mapping[str, str], doubtful: set[str]) -> None:
        """The current ID step's card was read (``doubtful``: the card fields the reader was unsure of)."""
        fields = self.page.step.fields
        for f in fields:
            if f.from_card and f.from_card in card:
                self.answers[f.id] = card[f.from_card]
        self.to_check -= {f.id for f in fields}
        self.to_check |= {f.id for f in fields if f.from_card in doubtful}

    def confirm_checked(self, field_id: str) -> None:
        self.to_check.discard(field_id)

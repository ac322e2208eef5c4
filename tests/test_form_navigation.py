"""The form's state without a screen: pages, answers checked on the way, back and forth, and back to the
review after a change, the card's doubtful values."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kiosk.forms.answers import AnswerError
from kiosk.forms.definition import catalogue_for
from kiosk.forms.navigation import FormNavigator

TODAY = date(2026, 12, 7)


def test_a_form_is_walked_page_by_page_and_a_change_returns_to_the_review(tmp_path: Path) -> None:
    definition = catalogue_for(tmp_path).get("vehicle-pass")
    assert definition is not None
    form = FormNavigator()
    form.start(definition)
    assert form.on_id_capture and form.back_index() is None  # back from the first page: out of the form
    id_step = form.page.step
    form.take_card({"name": "张三", "id_number": "11010519491231002X"}, doubtful={"name"})
    named = {f.id for f in id_step.fields if f.from_card == "name"}
    assert named and form.to_check == named
    form.go_to(form.next_index())
    plate = next(i for i, p in enumerate(form.pages) if p.fdef is not None and p.fdef.type == "plate")
    form.go_to(plate)
    fdef = form.page.fdef
    assert fdef is not None
    with pytest.raises(AnswerError):
        form.answer(fdef, "not a plate", TODAY)
    assert fdef.id not in form.answers  # nothing kept from a refused answer
    form.answer(fdef, "粤B12345", TODAY)
    assert form.answers[fdef.id] == "粤B12345"
    assert form.back_index() == plate - 1

    review = form.review_index()
    form.go_to(review)
    assert form.on_review
    target = form.edit_index(fdef.id, form.pages[plate].step.id)
    assert target == plate
    form.go_to(target)
    form.back_to_review = True
    assert form.next_index() == review and form.back_index() == review

    for field_id in named:
        form.confirm_checked(field_id)
    assert form.to_check == set()
    form.clear()
    assert form.answers == {} and form.to_check == set()

"""The review screen marks what the ID step was unsure of, until the person confirms or corrects it."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor

from kiosk.forms.definition import SERVICES_DIR, load_definition
from kiosk.forms.slots import FakeSlots
from kiosk.i18n import translate
from tools.service_driver import click
from tools.synth_frames import valid_id_number
from ui.screens.id_step import IdCaptureStep
from ui.screens.service import ServiceScreen

AMBER = QColor("#E65100")


class ScriptedCardStep(IdCaptureStep):
    """Reads the card as soon as it is asked; each read is unsure of the fields ``unsure`` names then."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.unsure: list[str] = []

    def begin(self, language: str, known: dict[str, str] | None = None) -> None:
        def read() -> None:
            self.to_check = list(self.unsure)
            self.captured.emit({"name": "王小明", "id_number": valid_id_number()})

        # Later, as a camera would: the screen is not in the middle of showing the step.
        QTimer.singleShot(0, read)

    def clear_personal_data(self) -> None:
        self.to_check = []


@pytest.fixture
def screen(styled_app: Any, qtbot: Any) -> ServiceScreen:
    screen = ServiceScreen("zh-CN", ScriptedCardStep, FakeSlots())
    qtbot.addWidget(screen)
    screen.resize(1280, 800)
    screen.show()
    qtbot.waitExposed(screen)
    return screen


def read_card_then_review(screen: ServiceScreen, qtbot: Any, unsure: list[str]) -> None:
    assert isinstance(screen.id_step, ScriptedCardStep)
    screen.id_step.unsure = unsure
    screen.start(load_definition(SERVICES_DIR / "health-declaration.json"))
    qtbot.waitUntil(lambda: screen.index == 1)  # the card was read: on to the next question
    screen._show(screen.form.review_index())


def framed(label: Any) -> bool:
    """Whether the label is drawn with the amber frame (its left edge, half way down)."""
    image = label.grab().toImage()
    return image.pixelColor(1, image.height() // 2) == AMBER


def test_a_field_read_with_low_confidence_is_marked_until_the_person_confirms_it(
    screen: ServiceScreen, qtbot: Any
) -> None:
    read_card_then_review(screen, qtbot, unsure=["name"])
    name, number = screen.review_values["name"], screen.review_values["id_number"]
    assert name.property("check") == "true" and framed(name)
    assert number.property("check") is None and not framed(number)
    assert screen.review_notes["name"].text() == translate("form.please_check", "zh-CN")
    assert screen.review_notes["name"].isVisible() and list(screen.review_notes) == ["name"]
    screen.retranslate("en")
    assert screen.review_notes["name"].text() == translate("form.please_check", "en")
    assert screen.review_confirm_buttons["name"].text() == translate("form.looks_right", "en")

    click(screen.review_confirm_buttons["name"])
    assert screen.on_review and screen.review_notes == {}
    assert screen.review_values["name"].property("check") is None
    assert not framed(screen.review_values["name"])


def test_reading_the_card_again_clears_the_mark(screen: ServiceScreen, qtbot: Any) -> None:
    read_card_then_review(screen, qtbot, unsure=["name"])
    assert list(screen.review_notes) == ["name"]
    assert isinstance(screen.id_step, ScriptedCardStep)
    screen.id_step.unsure = []  # a sharper photo this time
    screen.edit(None, "person")  # "Change" on a card field opens the ID step again
    qtbot.waitUntil(lambda: screen.on_review)
    assert screen.review_notes == {} and not framed(screen.review_values["name"])


def test_a_new_form_starts_with_nothing_marked(screen: ServiceScreen, qtbot: Any) -> None:
    read_card_then_review(screen, qtbot, unsure=["name", "id_number"])
    assert sorted(screen.review_notes) == ["id_number", "name"]
    screen.start(load_definition(SERVICES_DIR / "queue-ticket.json"))
    assert screen.to_check == set()

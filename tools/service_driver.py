"""Shared by the self-service tests, screenshots and the bench: a self-service window with a fake printer
and fake slots, a driver that completes a service through the screen, and receipt checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea

from devices.camera.fake import FakeCamera
from devices.printer import FakePrinter
from devices.speaker import FakeSpeaker
from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.forms.answers import example_answers
from kiosk.forms.slots import FakeSlots
from ui.screens.service import GroupEditor, ServiceScreen
from ui.widgets.field_editors import ButtonsEditor, PadEditor, PlateEditor, SlotEditor, TextEditor


def build_self_service_window(
    settings: Settings, printer: FakePrinter | None = None, slots: Any = None
) -> Any:
    from devices.qr import get_decoder
    from ui.app import build_main_window

    core = open_core(settings)
    printer = printer or FakePrinter(settings.data_dir / "receipts")
    return build_main_window(
        core,
        lambda: FakeCamera([], fps=30.0),
        lambda: get_decoder("auto"),
        FakeSpeaker(),
        printer=printer,
        slots=slots if slots is not None else FakeSlots(),
    )


def scroll_into_view(widget: Any) -> None:
    """Scroll every scroll area around ``widget`` to it, as a finger would drag them: a touch scroll area
    hands a press to the widget under that point of the screen, so a key scrolled out of view gets nothing."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(widget, 0, 0)
        parent = parent.parentWidget()


def click(widget: Any) -> None:
    scroll_into_view(widget)
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def _capture(screen: ServiceScreen, card: dict[str, str]) -> None:
    """Type the card's fields on the manual page (the camera step has a button to it)."""
    step = screen.id_step
    camera = getattr(step, "camera", None)
    if camera is not None:
        click(camera.manual_button)
        step = step.manual
    step.name_edit.setText(card["name"])
    click(step.ok_button)  # "Next: ID number": the pad takes the keyboard's place
    for key in card["id_number"]:
        click(step.pad.buttons[key])
    click(step.ok_button)  # "Confirm"


def fill_page(
    screen: ServiceScreen, answers: dict[str, Any], wait: Callable[[Callable[[], bool]], None]
) -> None:
    """Answer the current page the way a person would: keys, buttons, the ID step."""
    page = screen.page
    if page.fdef is None:  # the ID step
        card = {f.from_card: answers[f.id] for f in page.step.fields if f.from_card}
        _capture(screen, card)
        return
    fdef, editor = page.fdef, screen.editor
    value = answers.get(fdef.id)
    if isinstance(editor, GroupEditor):
        for item in value or []:
            click(editor.add_button)
            _capture(screen, {f.from_card: item[f.id] for f in fdef.fields if f.from_card})
        click(screen.next_button)
    elif isinstance(editor, TextEditor):
        editor.line.insert(str(value))  # as the input method commits Chinese text
        click(screen.next_button)
    elif isinstance(editor, PadEditor):
        for key in str(value):
            click(editor.pad.buttons[key])
        click(screen.next_button)
    elif isinstance(editor, PlateEditor):
        for ch in value:
            click(editor.keyboard.buttons[ch])
        click(screen.next_button)
    elif isinstance(editor, SlotEditor):
        slot_editor = editor
        wait(lambda: slot_editor.choices is not None)
        assert slot_editor.choices is not None
        click(slot_editor.choices.buttons[0])  # the first free slot of the chosen day
    elif isinstance(editor, ButtonsEditor):
        click(editor.choices.button_for(value))  # one touch chooses and moves on
    else:
        raise AssertionError(f"no driver for {type(editor).__name__}")


def complete_service(
    window: Any,
    service_id: str,
    wait: Callable[[Callable[[], bool]], None],
    answers: dict[str, Any] | None = None,
    on_page: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Open ``service_id`` from the home screen and answer every page; stops on the review, unconfirmed."""
    assert window.self_service is not None
    click(window.home.service_buttons[service_id])
    screen = window.self_service.screen
    definition = screen.definition
    answers = answers or example_answers(definition, date.today())
    seen = 0
    while not screen.on_review:
        before = screen.index
        if on_page is not None:
            on_page(f"{seen:02d}-{screen.page.step.id}-{screen.page.fdef.id if screen.page.fdef else 'id'}")
        fill_page(screen, answers, wait)
        wait(lambda b=before: screen.index != b or screen.error is not None)
        assert screen.error is None, screen.error
        seen += 1
    return answers


def receipt_pdfs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pdf"))


def render_page(pdf: Path | bytes, scale: float = 4.0) -> Any:
    """The first page as a BGR numpy image (what a camera would give the decoder)."""
    import numpy as np
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=scale).to_numpy()
    finally:
        document.close()
    return np.ascontiguousarray(image[:, :, :3])


def pdf_text(pdf: Path | bytes) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return document[0].get_textpage().get_text_range()
    finally:
        document.close()

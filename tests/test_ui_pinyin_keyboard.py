"""The pinyin keyboard of text fields: letters, candidates, paging, ⌫, 中/英, and 广州 typed in a form."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QLineEdit, QPushButton, QVBoxLayout, QWidget

from kiosk.forms.definition import FieldDef
from tools.service_driver import click, fill_page
from ui.widgets.field_editors import TextEditor
from ui.widgets.pinyin_keyboard import PinyinKeyboard


def _page(qtbot: Any, width: int = 1000, height: int = 600) -> tuple[QWidget, PinyinKeyboard, QLineEdit]:
    """A line edit and the keyboard under it; the caller keeps the page (else it is collected)."""
    page = QWidget()
    field = QLineEdit()
    keyboard = PinyinKeyboard(field, "zh-CN")
    layout = QVBoxLayout(page)
    layout.addWidget(field)
    layout.addWidget(keyboard)
    qtbot.addWidget(page)
    page.resize(width, height)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    return page, keyboard, field


def _tap(keyboard: PinyinKeyboard, *keys: str) -> None:
    for key in keys:
        click(keyboard.buttons[key])


def _tap_candidate(keyboard: PinyinKeyboard, text: str) -> None:
    """Pages on with › until ``text`` is shown, then taps it: as a person looking for it would."""
    for _ in range(20):
        button = keyboard.candidate_button(text)
        if button is not None:
            click(button)
            return
        assert keyboard.next_button.isEnabled(), f"{text} is not among {keyboard.candidates[:40]}"
        click(keyboard.next_button)
    raise AssertionError(f"{text} not found in 20 pages")


def test_letters_then_a_candidate_type_a_character(styled_app: Any, qtbot: Any) -> None:
    _kept, keyboard, field = _page(qtbot)
    _tap(keyboard, *"zhong")
    assert keyboard.composition.text() == "zhong"
    assert field.text() == ""  # letters are not typed into the field
    assert keyboard.visible_candidates()[0] == "中"
    click(keyboard.candidate_buttons[0])
    assert field.text() == "中"
    assert keyboard.composition.text() == "" and keyboard.letters == ""
    assert keyboard.visible_candidates() == []
    assert field.hasFocus()  # keys never take the focus (or the cursor) from the field


def test_a_candidate_goes_in_at_the_cursor(styled_app: Any, qtbot: Any) -> None:
    _kept, keyboard, field = _page(qtbot)
    field.setText("广市")
    field.setCursorPosition(1)
    _tap(keyboard, *"zhou")
    _tap_candidate(keyboard, "州")
    assert field.text() == "广州市"


def test_backspace_takes_letters_before_characters(styled_app: Any, qtbot: Any) -> None:
    _kept, keyboard, field = _page(qtbot)
    field.setText("北京")
    _tap(keyboard, *"sh", "back")
    assert keyboard.letters == "s" and field.text() == "北京"
    _tap(keyboard, "back")
    assert keyboard.letters == "" and field.text() == "北京"
    _tap(keyboard, "back")
    assert field.text() == "北"


def test_letters_that_begin_no_reading_are_not_taken(styled_app: Any, qtbot: Any) -> None:
    _kept, keyboard, _field = _page(qtbot)
    _tap(keyboard, *"zhuangg")
    assert keyboard.letters == "zhuang"


def test_english_mode_types_letters_and_digits_mode_digits(styled_app: Any, qtbot: Any) -> None:
    _kept, keyboard, field = _page(qtbot)
    _tap(keyboard, "z", "mode")  # switching drops the waiting letters
    assert keyboard.buttons["mode"].text() == "英"
    _tap(keyboard, *"abc", "space")
    assert field.text() == "abc " and keyboard.letters == ""
    _tap(keyboard, "digits")
    assert keyboard.buttons["1"].isVisible() and not keyboard.buttons["q"].isVisible()
    _tap(keyboard, "1", "2", "-", "3")
    _tap(keyboard, "digits", "mode")
    assert keyboard.buttons["q"].isVisible() and keyboard.buttons["mode"].text() == "中"
    assert field.text() == "abc 12-3"
    _tap(keyboard, "clear")
    assert field.text() == ""


def test_paging_shows_the_next_candidates(styled_app: Any, qtbot: Any) -> None:
    _kept, keyboard, _field = _page(qtbot)
    _tap(keyboard, "s", "h", "e")
    first = keyboard.visible_candidates()
    assert first and keyboard.previous_button.isVisible() and not keyboard.previous_button.isEnabled()
    click(keyboard.next_button)
    second = keyboard.visible_candidates()
    assert second and not set(first) & set(second)
    assert second == keyboard.candidates[len(first) : len(first) + len(second)]
    click(keyboard.previous_button)
    assert keyboard.visible_candidates() == first


@pytest.mark.parametrize("width", [520, 700, 1000, 1840])
def test_every_key_is_at_least_64_px_and_none_overlap(styled_app: Any, qtbot: Any, width: int) -> None:
    _kept, keyboard, _field = _page(qtbot, width, 900)
    for shown in ("letters", "digits"):
        _tap(keyboard, *"yan") if shown == "letters" else _tap(keyboard, "digits")
        qtbot.wait(10)
        buttons = [b for b in keyboard.findChildren(QPushButton) if b.isVisible()]
        assert len(buttons) > 10
        places = []
        for button in buttons:
            assert button.width() >= 64 and button.height() >= 64, (button.text(), button.size())
            place = QRect(button.mapTo(keyboard, button.rect().topLeft()), button.size())
            assert keyboard.rect().contains(place), (button.text(), place)
            assert not any(place.intersects(other) for other in places), button.text()
            places.append(place)
        assert len(keyboard.visible_candidates()) >= 3 or shown == "digits"


def test_a_short_text_page_puts_the_candidates_beside_the_line(styled_app: Any, qtbot: Any) -> None:
    fdef = FieldDef(id="origin", type="text", label={"zh-CN": "出发地", "en": "From"})
    window = QWidget()  # no layout: the editor gets the height it is given, as on a 1024×600 page
    qtbot.addWidget(window)
    window.resize(944, 600)
    editor = TextEditor(fdef, "zh-CN")
    editor.setParent(window)
    editor.setGeometry(0, 0, 944, 280)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: editor.compact)
    assert editor.keyboard.candidate_row.geometry().top() < editor.line.geometry().bottom()
    bottoms = [b.geometry().bottom() for b in editor.keyboard.buttons.values() if b.isVisible()]
    assert editor.keyboard.geometry().top() + max(bottoms) <= editor.height()
    editor.resize(944, 500)
    qtbot.waitUntil(lambda: not editor.compact)
    assert editor.keyboard.candidate_row.parentWidget() is editor.keyboard
    editor.line.setFocus()
    qtbot.keyClicks(editor.line, "Guangzhou 1")  # a physical keyboard types into the field as before
    assert editor.value() == "Guangzhou 1"


def _fits_every_size(window: Any, editor: TextEditor) -> None:
    """With letters and candidates shown: the layout walk's checks, and no key over another one."""
    from PySide6.QtWidgets import QApplication
    from test_ui_layouts import SIZES, layout_problems

    for width, height in SIZES:
        window.resize(width, height)
        for _ in range(3):
            QApplication.processEvents()
        assert layout_problems(window) == [], (width, height)
        keys = [b for b in editor.findChildren(QPushButton) if b.isVisible()]
        places = [QRect(b.mapTo(window, b.rect().topLeft()), b.size()) for b in keys]
        for i, place in enumerate(places):
            assert not any(place.intersects(other) for other in places[:i]), (width, height, keys[i].text())
        assert len(editor.keyboard.visible_candidates()) >= 3, (width, height)
    window.resize(1024, 600)
    QApplication.processEvents()


def test_guangzhou_typed_by_taps_alone_into_a_form(self_service_window: Any, qtbot: Any) -> None:
    from datetime import date

    from kiosk.forms.answers import example_answers

    window = self_service_window(size=(1024, 600))
    click(window.home.service_buttons["vehicle-pass"])
    screen = window.self_service.screen
    answers = example_answers(screen.definition, date.today())
    while screen.page.fdef is None or screen.page.fdef.id != "origin":
        before = screen.index
        fill_page(screen, answers, lambda c: qtbot.waitUntil(c, timeout=5000))
        qtbot.waitUntil(lambda b=before: screen.index != b, timeout=5000)
    editor = screen.editor
    assert isinstance(editor, TextEditor)
    keyboard = editor.keyboard
    for letters, character in (("guang", "广"), ("zhou", "州")):
        _tap(keyboard, *letters)
        if character == "广":
            _fits_every_size(window, editor)
        _tap_candidate(keyboard, character)
    assert editor.value() == "广州"
    click(screen.next_button)
    qtbot.waitUntil(lambda: screen.page.fdef is not None and screen.page.fdef.id == "destination")
    assert screen.answers["origin"] == "广州"

"""The ID step typed by hand (:class:`ui.screens.id_step.ManualIdCapture`), by touch alone: the name on
the pinyin keyboard, then the ID number on the pad; a misread rare surname corrected; both stages at every
size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QPushButton
from test_ui_layouts import LOOKS, MIN_TARGET, layout_problems

from kiosk.i18n import translate
from tools.service_driver import click, fill_page
from tools.synth_frames import valid_id_number, wrong_check_digit
from ui.screens.id_step import ManualIdCapture

KNOWN = {"name": "库雨珍", "id_number": valid_id_number("44030419880512003")}
WRONG_LAST = "1" if KNOWN["id_number"][-1] != "1" else "2"  # a check digit that is not the number's


@pytest.fixture
def window(self_service_window: Any) -> Any:
    return self_service_window(size=(1024, 600))


def open_manual(window: Any, known: dict[str, str] | None = None) -> ManualIdCapture:
    """The vehicle pass's ID step, by hand (the camera page's button), begun with ``known``."""
    screen = window.self_service.screen
    if not screen.isVisible() or screen.definition is None:
        click(window.home.service_buttons["vehicle-pass"])
    step = screen.id_step
    click(step.camera.manual_button)
    manual = step.manual
    assert manual.isVisible()
    if known is not None:
        manual.begin(window.language, known)  # as the camera does when it gives up with its best guess
    return manual


def settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


def key(manual: ManualIdCapture, text: str) -> QPushButton:
    """The visible key or button of the page with ``text`` on it."""
    found = [
        b for b in manual.findChildren(QPushButton) if b.isVisible() and b.text() == text and b.isEnabled()
    ]
    assert len(found) == 1, f"{len(found)} buttons {text!r}"
    return found[0]


def tap_cursor_to(manual: ManualIdCapture, position: int) -> None:
    """A touch in the name, where the cursor goes to ``position`` (after that many characters)."""
    edit = manual.name_edit
    y = edit.height() // 2
    x = next(x for x in range(edit.width()) if edit.cursorPositionAt(QPoint(x, y)) == position)
    click_at(edit, QPoint(x + 2, y))


def click_at(widget: Any, point: QPoint) -> None:
    from PySide6.QtTest import QTest

    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


def test_a_misread_rare_surname_is_corrected_by_taps_alone(window: Any, qtbot: Any) -> None:
    manual = open_manual(window, KNOWN)
    settle()
    assert manual.stage == manual.NAME and manual.name_edit.property("active") == "true"
    assert manual.keyboard.isVisible() and not manual.pad.isVisible()
    # The number read is complete: the button confirms at once, it does not ask for the number again.
    assert manual.ok_button.text() == translate("capture.confirm", "zh-CN")
    typed: list[dict[str, str]] = []
    window.self_service.screen.id_step.captured.connect(typed.append)

    tap_cursor_to(manual, 1)  # after 库
    click(key(manual, "⌫"))
    assert manual.name_edit.text() == "雨珍" and manual.name_edit.cursorPosition() == 0
    for letter in "she":
        click(key(manual, letter))
    pages = 0
    while manual.keyboard.candidate_button("厍") is None:
        click(key(manual, "›"))
        pages += 1
        assert pages < 20, "厍 is not among the candidates of she"
    click(manual.keyboard.candidate_button("厍"))
    assert manual.name_edit.text() == "厍雨珍"
    click(manual.ok_button)
    assert typed == [{"name": "厍雨珍", "id_number": KNOWN["id_number"]}]


def test_the_name_then_the_number_by_taps(window: Any, qtbot: Any) -> None:
    manual = open_manual(window)
    typed: list[dict[str, str]] = []
    window.self_service.screen.id_step.captured.connect(typed.append)
    assert manual.ok_button.text() == translate("capture.next_number", "zh-CN")
    for letter in "mi":
        click(key(manual, letter))
    click(manual.keyboard.candidate_button("米"))
    click(manual.ok_button)  # "Next: ID number": the pad, the number highlighted, no error yet
    assert manual.stage == manual.NUMBER and manual.error_key is None
    assert manual.pad.isVisible() and not manual.keyboard.isVisible()
    assert manual.id_display.property("active") == "true" and manual.name_edit.property("active") == "false"
    assert manual.back_button.text() == translate("capture.back_name", "zh-CN")
    for digit in wrong_check_digit():
        click(manual.pad.buttons[digit])
    click(manual.ok_button)
    assert manual.error_key == "id.bad_checksum" and not typed
    click(manual.pad.buttons["back"])
    click(manual.pad.buttons[valid_id_number()[-1]])
    # Back to the name by touching it, and on to the number again by touching the number.
    click(manual.name_edit)
    assert manual.stage == manual.NAME and manual.keyboard.isVisible()
    click(manual.id_display)
    assert manual.stage == manual.NUMBER
    click(manual.back_button)  # "Back: name"
    assert manual.stage == manual.NAME
    click(manual.ok_button)
    assert typed == [{"name": "米", "id_number": valid_id_number()}]


def test_an_empty_name_gives_the_name_error(window: Any, qtbot: Any) -> None:
    manual = open_manual(window, {"name": "", "id_number": valid_id_number()})
    click(manual.ok_button)
    assert manual.error_key == "form.error.name" and manual.stage == manual.NAME
    assert manual.error_label.text() == translate("form.error.name", "zh-CN")
    click(manual.id_display)
    click(manual.ok_button)  # from the number too: back to the name, with its error
    assert manual.error_key == "form.error.name" and manual.stage == manual.NAME
    click(key(manual, "m"))
    click(key(manual, "i"))
    click(manual.keyboard.candidate_button("米"))
    assert manual.error_key is None


def test_a_physical_keyboard_still_types_the_name(window: Any, qtbot: Any) -> None:
    manual = open_manual(window)
    settle()
    qtbot.keyClicks(manual.name_edit, "Mi")
    assert manual.name_edit.text() == "Mi"
    click(manual.ok_button)
    click(manual.pad.buttons["1"])  # the pad does not take the focus from the name
    assert manual.name_edit.hasFocus()


def wrong_number(manual: ManualIdCapture) -> None:
    click(manual.id_display)
    click(manual.pad.buttons["back"])
    click(manual.pad.buttons[WRONG_LAST])
    click(manual.ok_button)
    assert manual.error_key == "id.bad_checksum"


@pytest.mark.parametrize("look", ["normal", "large-contrast"])
def test_both_stages_fit_every_size_with_keys_of_64px(window: Any, look: str) -> None:
    """The layout walk's checks, on each stage of the page, at every size and in both languages (changing
    the language starts the step again, so the page is opened anew for each)."""
    modes, sizes = LOOKS[look]
    problems: list[str] = []
    stages: list[tuple[str, Callable[[ManualIdCapture], None]]] = [
        ("name", lambda m: None),
        ("name letters", lambda m: [click(key(m, k)) for k in "she"]),
        ("number", lambda m: click(m.id_display)),
        ("number error", wrong_number),
        ("name error", lambda m: (m.name_edit.clear(), click(m.ok_button))),
    ]
    for mode in modes:
        window.accessibility.set_mode(mode, True)
    for language in ("zh-CN", "en"):
        for stage, action in stages:
            for width, height in sizes:
                window.set_language(language)
                window.resize(width, height)
                settle()
                manual = open_manual(window, KNOWN)
                action(manual)
                settle()
                tag = f"[{stage} {width}x{height} {language} {look}]"
                problems += [f"{tag} {p}" for p in layout_problems(window)]
                for button in manual.findChildren(QPushButton):
                    if button.isVisible() and min(button.width(), button.height()) < MIN_TARGET:
                        problems.append(f"{tag} {button.text()!r} {button.width()}x{button.height()}")
                assert manual.isVisible()
    assert not problems, "\n".join(problems[:40])


def test_switching_language_keeps_what_was_typed(window: Any, qtbot: Any) -> None:
    """EN mid-form changes the words, not the page: a half-typed name and a half-typed origin stay."""
    manual = open_manual(window)
    manual.name_edit.insert("王小")
    window.set_language("en")
    settle()
    screen = window.self_service.screen
    assert screen.id_step.manual.isVisible() and manual.name_edit.text() == "王小"
    assert manual.name_label.text() == translate("capture.name", "en")
    # On to a text page (the trip's origin), type half of it, and switch back to Chinese.
    manual.name_edit.insert("明")
    for digit in KNOWN["id_number"]:
        manual.press(digit)
    manual.confirm()
    while screen.page.fdef is None or screen.page.fdef.id != "origin":
        fill_page(screen, {"plate": "粤B12345", "vehicle_type": "car", "passengers": []}, qtbot.waitUntil)
    screen.editor.line.insert("广州")
    window.set_language("zh-CN")
    settle()
    assert screen.page.fdef.id == "origin" and screen.editor.value() == "广州"

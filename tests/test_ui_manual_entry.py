"""Manual ID entry on the touch keypad: grouping, distinct errors, and a recorded manual inspection."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from kiosk.i18n import translate
from tools.synth_frames import valid_id_number, wrong_check_digit
from ui.screens.manual_entry import group_digits

BAD_BIRTH_DATE = "110105194913310012"  # month 13


def _type(qtbot: Any, window: Any, keys: str) -> None:
    buttons = window.manual_screen.keypad.buttons
    for key in keys:
        qtbot.mouseClick(buttons[key], Qt.MouseButton.LeftButton)


def _confirm(qtbot: Any, window: Any) -> None:
    qtbot.mouseClick(window.manual_screen.keypad.buttons["confirm"], Qt.MouseButton.LeftButton)


def test_digits_are_grouped_6_8_4_and_x_only_ends_the_number(make_window: Any, qtbot: Any) -> None:
    window = make_window(screen="manual")
    screen = window.manual_screen
    assert screen.field_label.text() == translate("manual.placeholder", "zh-CN")
    _type(qtbot, window, "X1101051949")
    assert screen.digits == "1101051949"  # X before the 18th place is refused
    assert screen.field_label.text() == "110105 1949"
    _type(qtbot, window, "1231002X5")
    assert screen.digits == "11010519491231002X"  # nothing after the 18th character
    assert screen.field_label.text() == "110105 19491231 002X"
    qtbot.mouseClick(screen.keypad.buttons["back"], Qt.MouseButton.LeftButton)
    assert screen.digits == "11010519491231002"
    qtbot.mouseClick(screen.keypad.buttons["clear"], Qt.MouseButton.LeftButton)
    assert screen.digits == ""
    assert group_digits("1234567") == "123456 7"


def test_a_wrong_check_digit_and_a_wrong_birth_date_give_different_errors(
    make_window: Any, qtbot: Any
) -> None:
    window = make_window(screen="manual")
    screen = window.manual_screen

    _type(qtbot, window, wrong_check_digit())
    _confirm(qtbot, window)
    assert screen.error_key == "id.bad_checksum"
    assert screen.error_label.text() == translate("id.bad_checksum", "zh-CN")
    assert screen.error_label.isVisible()
    checksum_text = screen.error_label.text()

    qtbot.mouseClick(screen.keypad.buttons["clear"], Qt.MouseButton.LeftButton)
    assert screen.error_label.text() == ""  # typing again clears the old error
    _type(qtbot, window, BAD_BIRTH_DATE)
    _confirm(qtbot, window)
    assert screen.error_key == "id.bad_birth_date"
    assert screen.error_label.text() == translate("id.bad_birth_date", "zh-CN")
    assert screen.error_label.text() != checksum_text

    qtbot.mouseClick(screen.keypad.buttons["clear"], Qt.MouseButton.LeftButton)
    _type(qtbot, window, "1101")
    _confirm(qtbot, window)
    assert screen.error_key == "id.bad_shape"

    qtbot.wait(200)
    assert window.core.store.query("SELECT COUNT(*) FROM inspections")[0][0] == 0
    assert not screen.showing_verdict


def test_a_valid_number_is_inspected_in_the_background_as_manual(
    make_window: Any, verdicts: Any, qtbot: Any
) -> None:
    window = make_window(screen="manual")
    seen = verdicts(window)
    screen = window.manual_screen
    _type(qtbot, window, valid_id_number())
    _confirm(qtbot, window)

    qtbot.waitUntil(lambda: len(seen) == 1, timeout=3000)
    assert seen[0]["verdict"] == "green"
    assert seen[0]["timing"] is None
    assert screen.showing_verdict
    assert screen.verdict_panel.texts()["reason"] == translate("id.valid", "zh-CN")
    assert screen.digits == ""  # recorded, so the typed number is dropped from the screen
    assert screen.error_label.text() == ""
    rows = window.core.store.query("SELECT source, verdict, kind FROM inspections")
    assert [tuple(r) for r in rows] == [("manual", "green", "id-number")]
    assert window.counters_bar.values()["inspections"] == "1"
    assert window.speaker.cues == ["green"]
    qtbot.waitUntil(lambda: not screen.showing_verdict, timeout=3000)


def test_a_physical_keyboard_types_too(make_window: Any, qtbot: Any) -> None:
    window = make_window(screen="manual")
    qtbot.keyClicks(window.manual_screen, "110105x")
    qtbot.keyClick(window.manual_screen, Qt.Key.Key_Backspace)
    assert window.manual_screen.digits == "11010"

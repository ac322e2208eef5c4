"""The admin pages' on-screen keyboard: what it types, and its QWERTY rows of 64 px keys where they fit."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from ui.admin.keyboard import OnScreenKeyboard


def _page(qtbot: Any, width: int) -> tuple[QWidget, OnScreenKeyboard, QLineEdit]:
    """A field and the keyboard under it, like the admin pages' folder field; the caller keeps the page."""
    page = QWidget()
    field = QLineEdit()
    keyboard = OnScreenKeyboard()
    layout = QVBoxLayout(page)
    layout.addWidget(field)
    layout.addWidget(keyboard)
    qtbot.addWidget(page)
    page.resize(width, 700)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    return page, keyboard, field


def _cell(keyboard: OnScreenKeyboard, key: str) -> tuple[int, int]:
    row, column, _, _ = keyboard.grid.getItemPosition(keyboard.grid.indexOf(keyboard.buttons[key]))
    return row, column


def test_keys_type_into_the_focused_field_and_shift_gives_one_capital(qtbot: Any) -> None:
    _page_kept, keyboard, field = _page(qtbot, 1000)
    for key in ("shift", "k", "i", "o", "space", "1", "/", "left", "back", "right", "&"):
        keyboard.press(key)
    assert field.text() == "Kio /&"  # ← then ⌫ took the 1 before the /, → went back to the end
    assert field.hasFocus()  # pressing keys never takes the focus (or the cursor) from the field
    keyboard.press("clear")
    assert field.text() == ""


def test_five_qwerty_rows_of_64_px_keys_where_eleven_fit(qtbot: Any) -> None:
    _page_kept, keyboard, _ = _page(qtbot, 1000)
    qtbot.waitUntil(lambda: keyboard.buttons["q"].width() > 0)
    assert keyboard.grid.rowCount() == 5
    for left, right in ("qw", "as", "zx", "yu", "kl"):
        (row_a, col_a), (row_b, col_b) = _cell(keyboard, left), _cell(keyboard, right)
        assert row_a == row_b and col_b == col_a + 1, (left, right)
    # Each letter row starts below the one above it: q over a over z, as on a printed keyboard.
    assert _cell(keyboard, "q")[0] < _cell(keyboard, "a")[0] < _cell(keyboard, "z")[0]
    assert _cell(keyboard, "q")[1] == _cell(keyboard, "a")[1] == _cell(keyboard, "z")[1] == 0
    assert min(button.width() for button in keyboard.buttons.values()) >= 64


def test_clear_is_a_word_and_backspace_right_after_it_puts_the_text_back(qtbot: Any) -> None:
    _page_kept, keyboard, field = _page(qtbot, 1000)
    # A "C" among the letter keys reads as the letter; the clear key must say what it does.
    assert keyboard.buttons["clear"].text() == "清空"
    keyboard.set_language("en")
    assert keyboard.buttons["clear"].text() == "Clear"
    field.setText("https://central.example")
    keyboard.press("clear")
    assert field.text() == ""
    assert "Undo" in keyboard.buttons["back"].text()
    keyboard.press("back")
    assert field.text() == "https://central.example"
    assert keyboard.buttons["back"].text() == "⌫"
    # Only right after: once something else was typed, ⌫ is a backspace again.
    keyboard.press("clear")
    keyboard.press("x")
    keyboard.press("back")
    assert field.text() == ""

"""Large text and high contrast: switched on the home screen, applied to every screen, reset for the next
person when the kiosk goes idle."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ui.accessibility import LARGE_TEXT_FACTOR, large_text_layer

THEME = """
/* a comment { font-size: 99px } */
QWidget { font-size: 22px; color: #111; }
QLabel#prompt, QLabel#hint { font-weight: bold; font-size: 40px; }
QPushButton { background: blue; }
"""


def test_the_large_text_layer_scales_every_font_size_of_the_theme_and_nothing_else() -> None:
    layer = large_text_layer(THEME, 1.5)
    assert layer.splitlines() == [
        "QWidget { font-size: 33px; }",
        "QLabel#prompt, QLabel#hint { font-size: 60px; }",
    ]


def _pixel(window: Any, widget: Any) -> QColor:
    image = window.grab().toImage()
    point = widget.mapTo(window, widget.rect().topLeft())
    return image.pixelColor(point.x() + 3, point.y() + 3)


def test_large_text_from_the_home_screen_enlarges_text_on_every_screen(make_window: Any, qtbot: Any) -> None:
    window = make_window(screen="home")
    home = window.home
    title_px = home.title_label.font().pixelSize()
    prompt_px = window.checkpoint_screen.prompt_label.font().pixelSize()
    key_px = window.manual_screen.keypad.buttons["5"].font().pixelSize()

    qtbot.mouseClick(home.access_buttons["large_text"], Qt.MouseButton.LeftButton)
    assert window.accessibility.large_text
    assert home.access_buttons["large_text"].isChecked()
    assert home.title_label.font().pixelSize() == round(title_px * LARGE_TEXT_FACTOR)
    assert window.checkpoint_screen.prompt_label.font().pixelSize() == round(prompt_px * LARGE_TEXT_FACTOR)
    assert window.manual_screen.keypad.buttons["5"].font().pixelSize() == round(key_px * LARGE_TEXT_FACTOR)

    qtbot.mouseClick(home.access_buttons["large_text"], Qt.MouseButton.LeftButton)
    assert not home.access_buttons["large_text"].isChecked()
    assert home.title_label.font().pixelSize() == title_px
    assert window.styleSheet() == ""


def test_high_contrast_turns_the_screens_black_and_both_modes_combine(make_window: Any, qtbot: Any) -> None:
    window = make_window(screen="home")
    home = window.home
    assert _pixel(window, home) == QColor("#ECEFF1")

    qtbot.mouseClick(home.access_buttons["high_contrast"], Qt.MouseButton.LeftButton)
    assert _pixel(window, home) == QColor("#000000")
    title_px = home.title_label.font().pixelSize()
    qtbot.mouseClick(home.access_buttons["large_text"], Qt.MouseButton.LeftButton)
    assert window.accessibility.high_contrast and window.accessibility.large_text
    assert _pixel(window, home) == QColor("#000000")
    assert home.title_label.font().pixelSize() > title_px

    window.show_manual_entry()
    assert _pixel(window, window.manual_screen) == QColor("#000000")


def test_the_attract_screen_gives_the_next_person_the_normal_look(make_window: Any, qtbot: Any) -> None:
    window = make_window(screen="home")
    for mode in ("large_text", "high_contrast"):
        qtbot.mouseClick(window.home.access_buttons[mode], Qt.MouseButton.LeftButton)
    window.show_attract()
    assert not window.accessibility.large_text and not window.accessibility.high_contrast
    assert window.styleSheet() == ""
    qtbot.mouseClick(window.attract, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.home
    assert not any(b.isChecked() for b in window.home.access_buttons.values())

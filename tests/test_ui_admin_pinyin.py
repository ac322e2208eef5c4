"""The site name on the settings page typed in Chinese by taps alone: the pinyin keyboard while the site
name has focus, the Latin keyboard (with a URL's symbols) for the other fields; the pinyin state at every
size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from test_ui_admin import WAIT_MS, enter_admin, set_pin
from test_ui_layouts import LOOKS, MIN_TARGET, layout_problems

from kiosk.config import SETTINGS_FILE
from kiosk.i18n import translate
from tools.service_driver import scroll_into_view


def tap(qtbot: Any, button: Any) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    scroll_into_view(button)  # the keys' column scrolls where the keyboard is taller than it
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def open_settings(qtbot: Any, window: Any) -> Any:
    admin = enter_admin(qtbot, window)
    admin.screen.show_page("settings")
    qtbot.wait(1)  # one pass of the event loop lays the page out
    return admin.settings_page


def focus_site_name(qtbot: Any, page: Any) -> None:
    # Back in view, as a finger would scroll it.
    page.scroll_area.ensureWidgetVisible(page.editors["site_name"])
    qtbot.mouseClick(page.editors["site_name"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.pinyin.isVisible(), timeout=WAIT_MS)
    qtbot.wait(1)  # its keys flow to the width they are given


def type_character(qtbot: Any, keyboard: Any, letters: str, character: str) -> None:
    """``letters`` on the pinyin keys, then the candidate ``character`` (paging with › to find it)."""
    for letter in letters:
        tap(qtbot, keyboard.buttons[letter])
    assert keyboard.letters == letters
    while keyboard.candidate_button(character) is None:
        tap(qtbot, keyboard.next_button)
    tap(qtbot, keyboard.candidate_button(character))


def test_a_chinese_site_name_is_typed_in_pinyin_and_saved(
    make_window: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home")
    page = open_settings(qtbot, window)
    assert page.keyboard.isVisible() and not page.pinyin.isVisible()
    site_name = page.editors["site_name"]

    focus_site_name(qtbot, page)
    assert not page.keyboard.isVisible()
    keyboard = page.pinyin
    tap(qtbot, keyboard.buttons["clear"])
    assert site_name.text() == ""
    type_character(qtbot, keyboard, "shi", "石")
    type_character(qtbot, keyboard, "men", "门")
    assert site_name.text() == "石门"
    assert QApplication.focusWidget() is site_name  # the keys never took the focus

    tap(qtbot, page.save_button)
    qtbot.waitUntil(lambda: window.top_bar.site_label.text() == "石门", timeout=WAIT_MS)
    assert page.message.text() == translate("admin.settings.applied", window.language)
    saved = (ui_data_dir / SETTINGS_FILE).read_text("utf-8")
    assert 'site_name = "石门"' in saved


def test_the_url_field_gets_the_latin_keyboard_back(make_window: Any, qtbot: Any, ui_data_dir: Path) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home")
    page = open_settings(qtbot, window)
    focus_site_name(qtbot, page)
    tap(qtbot, page.pinyin.buttons["s"])  # a letter waiting, no character chosen

    url = page.editors["central_url"]
    page.scroll_area.ensureWidgetVisible(url)
    qtbot.mouseClick(url, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.keyboard.isVisible(), timeout=WAIT_MS)
    assert not page.pinyin.isVisible()
    assert page.pinyin.letters == ""  # dropped with the focus
    url.setCursorPosition(len(url.text()))
    before = url.text()
    tap(qtbot, page.keyboard.buttons[":"])
    tap(qtbot, page.keyboard.buttons["/"])
    assert url.text() == before + ":/"
    assert QApplication.focusWidget() is url

    focus_site_name(qtbot, page)  # and back again
    assert not page.keyboard.isVisible()


@pytest.mark.parametrize("look", sorted(LOOKS))
def test_the_pinyin_keyboard_fits_every_size(
    make_window: Any, qtbot: Any, ui_data_dir: Path, look: str
) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home")
    page = open_settings(qtbot, window)
    focus_site_name(qtbot, page)
    for letter in "shi":  # candidates shown, paging too
        tap(qtbot, page.pinyin.buttons[letter])
    modes, sizes = LOOKS[look]
    for mode in modes:
        window.accessibility.set_mode(mode, True)
    problems: list[str] = []
    for language in ("zh-CN", "en"):
        window.set_language(language)
        for width, height in sizes:
            window.resize(width, height)
            for _ in range(3):
                QApplication.processEvents()
            tag = f"[{width}x{height} {language}]"
            assert page.pinyin.isVisible() and not page.keyboard.isVisible(), tag
            keys = [b for b in page.pinyin.buttons.values() if b.isVisible()]
            assert keys, tag
            assert page.pinyin.visible_candidates(), tag
            problems += [
                f"{tag} key {b.text()!r} {b.width()}x{b.height()}" for b in keys if b.height() < MIN_TARGET
            ]
            problems += [f"{tag} {p}" for p in layout_problems(window)]
    assert problems == []

"""Language toggle and touch-target size."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kiosk.i18n import translate
from tools.synth_frames import valid_id_number


def test_the_toggle_switches_every_visible_text(make_window: Any, qtbot: Any) -> None:
    window = make_window(screen="checkpoint", verdict_hold_s=30)
    window.checkpoint_screen.show_inspection(window.core.checkpoint.inspect(valid_id_number()))
    panel = window.checkpoint_screen.verdict_panel
    assert window.top_bar.language_button.text() == "EN"
    assert window.checkpoint_screen.prompt_label.text() == "请出示二维码"
    assert panel.texts()["word"] == "通过"

    qtbot.mouseClick(window.top_bar.language_button, Qt.MouseButton.LeftButton)
    assert window.language == "en"
    assert window.top_bar.language_button.text() == "中文"
    assert window.checkpoint_screen.prompt_label.text() == "Show your code"
    assert panel.texts()["word"] == "Pass"
    assert panel.texts()["reason"] == translate("id.valid", "en")
    assert window.home.scan_button.text() == translate("home.scan", "en")
    assert window.manual_screen.title_label.text() == translate("manual.title", "en")
    assert window.top_bar.network_label.text() == translate("network.offline", "en")
    assert window.top_bar.home_button.text() == "Home"
    assert window.counters_bar._captions["inspections"].text() == translate("counters.inspections", "en")

    qtbot.mouseClick(window.top_bar.language_button, Qt.MouseButton.LeftButton)
    assert window.language == "zh-CN"
    assert window.home.scan_button.text() == "扫码核验"


def test_self_service_mode_offers_its_services_instead_of_the_scanner(make_window: Any) -> None:
    window = make_window(screen="home", mode="self-service")
    assert not window.home.notice_label.isVisible()
    assert window.home.service_buttons["health-declaration"].text() == "健康申报"
    assert not window.home.scan_button.isVisible()
    other = make_window(screen="home")
    assert not other.home.notice_label.isVisible() and other.home.scan_button.isVisible()


def test_every_button_is_at_least_64_px_high(make_window: Any, qtbot: Any) -> None:
    window = make_window(screen="home")
    for show in (window.show_home, window.show_checkpoint, window.show_manual_entry):
        show()
        qtbot.wait(50)
        visible = [b for b in window.findChildren(QPushButton) if b.isVisible()]
        assert visible
        assert min(b.height() for b in visible) >= 64, [(b.text(), b.height()) for b in visible]

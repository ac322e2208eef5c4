"""Idle timeout: countdown overlay (spoken too), then the attract screen with personal data cleared and the
normal look back; cancelled by a touch."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from kiosk.i18n import translate
from tools.synth_frames import valid_id_number


def _idle_soon(window: Any) -> None:
    window.idle.configure(timeout_ms=300, countdown_s=2)
    window.idle.poke()


def test_idle_counts_down_then_shows_the_attract_screen_and_clears_personal_data(
    make_window: Any, qtbot: Any
) -> None:
    window = make_window(screen="manual", verdict_hold_s=30)
    window.accessibility.set_mode("large_text", True)
    # A verdict left on the checkpoint screen and digits typed on the manual screen.
    window.checkpoint_screen.show_inspection(window.core.checkpoint.inspect(valid_id_number()))
    window.manual_screen.press("1")
    window.manual_screen.press("1")
    assert window.manual_screen.digits == "11"
    _idle_soon(window)

    qtbot.waitUntil(lambda: window.idle_overlay.isVisible(), timeout=2000)
    assert window.idle_overlay.message_label.text() == translate("idle.countdown", "zh-CN", n=2)
    assert "秒后返回首页，触摸屏幕继续" in window.idle_overlay.message_label.text()
    assert window.voice.said[-1] == ("voice.idle_countdown", "zh-CN")
    qtbot.waitUntil(
        lambda: window.idle_overlay.message_label.text() == translate("idle.countdown", "zh-CN", n=1),
        timeout=2000,
    )

    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.attract, timeout=3000)
    assert window.voice.said.count(("voice.idle_countdown", "zh-CN")) == 1  # once, not every second
    assert not window.accessibility.large_text and window.styleSheet() == ""
    assert not window.idle_overlay.isVisible()
    assert window.manual_screen.digits == ""
    assert window.manual_screen.field_label.text() == translate("manual.placeholder", "zh-CN")
    assert window.checkpoint_screen.verdict_panel.current_verdict is None
    assert not window.checkpoint_screen.showing_verdict


def test_a_touch_during_the_countdown_cancels_it(make_window: Any, qtbot: Any) -> None:
    window = make_window(screen="manual")
    window.manual_screen.press("5")
    _idle_soon(window)
    qtbot.waitUntil(lambda: window.idle_overlay.isVisible(), timeout=2000)

    qtbot.mouseClick(window.idle_overlay, Qt.MouseButton.LeftButton)
    assert not window.idle_overlay.isVisible()
    assert not window.idle.counting
    qtbot.wait(1000)  # less than timeout + countdown after the touch
    assert window.stack.currentWidget() is window.manual_screen
    assert window.manual_screen.digits == "5"


def test_an_idle_home_screen_gives_way_to_the_attract_screen_without_a_countdown(
    make_window: Any, qtbot: Any
) -> None:
    window = make_window(screen="home")
    overlay_shown: list[bool] = []
    window.idle.countdown.connect(lambda _: overlay_shown.append(window.idle_overlay.isVisible()))
    _idle_soon(window)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.attract, timeout=3000)
    assert overlay_shown == [False]
    assert not window.idle_overlay.isVisible()

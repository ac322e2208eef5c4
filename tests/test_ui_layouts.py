"""Every screen at 1024×600, 1920×1080, 600×1024 and 1080×1920, in both languages, in the normal look and in
large text with high contrast: every visible button at least 64 px each way, nothing outside the window, no
label or button text cut off, and nothing cut off by the widget it sits in unless it sits in a scroll area a
finger can drag (``ui.widgets.touch_scroll``): every scroll area must be one.

One walk per kiosk mode goes through the screens as a person would (each service page by page, its review and
its done page, the ID step by camera and by hand) and checks all sizes at every stop, so a failure names the
screen, the size, the language and the widget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QLabel, QPushButton, QWidget
from test_ui_admin import enter_admin, open_pin_page, set_pin

from kiosk.admin.health import Problem
from kiosk.i18n import translate
from tools.service_driver import click, complete_service
from tools.synth_frames import valid_id_number, wrong_check_digit
from ui.widgets.touch_scroll import ScrollHint, touch_scroll_of
from ui.widgets.wrap_button import WrapButton

SIZES = ((1024, 600), (1920, 1080), (600, 1024), (1080, 1920))
LANGUAGES = ("zh-CN", "en")
MIN_TARGET = 64
CUT_SLACK = 6  # pixels of a widget that may lie under the edge of what holds it
# The look and the sizes it is checked at. Large text is checked on the full-HD screens, landscape and
# portrait: on a 1024×600 or 600×1024 panel its 30 % larger text does not fit every screen (the top bar, the
# home screen's buttons, the verdict panel beside the preview, among others).
LOOKS = {
    "normal": ((), SIZES),
    "large-contrast": (("large_text", "high_contrast"), ((1920, 1080), (1080, 1920))),
}


def _in_scroll_area(widget: QWidget, window: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def _cut_off(widget: QWidget, window: QWidget) -> str | None:
    """Whether the widgets around ``widget`` show only part of it, outside any scroll area: content beyond
    the visible area that no finger can scroll to. (Within a scroll area, that the area follows a finger is
    checked on the area itself.)"""
    where = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    shown = QRect(where)
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            return None
        shown = shown.intersected(QRect(parent.mapTo(window, QPoint(0, 0)), parent.size()))
        parent = parent.parentWidget()
    # A few pixels of a key's border under the edge are no loss: its label and a 64 px target still show.
    if not shown.adjusted(-CUT_SLACK, -CUT_SLACK, CUT_SLACK, CUT_SLACK).contains(where):
        return f"at {where.getRect()} shows only {shown.getRect()}: cut off, and not in a touch scroll area"
    return None


def _text_problem(widget: QWidget) -> str | None:
    if isinstance(widget, QPushButton) and not isinstance(widget, WrapButton):  # its label is checked
        text = widget.text()
        if not text:
            return None
        metrics = widget.fontMetrics()
        width = max(metrics.horizontalAdvance(line) for line in text.splitlines())
        if width > widget.width() - 8 or metrics.height() * len(text.splitlines()) > widget.height():
            return f"text {text!r} ({width}px) does not fit in {widget.width()}x{widget.height()}"
        return None
    if isinstance(widget, QLabel) and widget.text() and widget.pixmap().isNull():
        if widget.wordWrap():
            needed = widget.heightForWidth(widget.width())
            if needed > widget.height() + 1:
                return f"text {widget.text()!r} needs {needed}px high, has {widget.height()}"
        else:
            hint = widget.sizeHint()
            if hint.width() > widget.width() + 1 or hint.height() > widget.height() + 1:
                return f"text {widget.text()!r} needs {hint.width()}x{hint.height()}, has {widget.size()}"
    return None


def layout_problems(window: QWidget) -> list[str]:
    """What is wrong with the window as it is laid out now (its size is the caller's business)."""
    found = []
    frame = window.rect()
    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window) or widget.window() is not window:
            continue
        name = f"{type(widget).__name__}#{widget.objectName() or '?'}"
        scrolled = _in_scroll_area(widget, window)
        where = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
        if not scrolled and not frame.contains(where):
            found.append(f"{name} at {where.getRect()} is outside the window")
        if isinstance(widget, QPushButton) and (widget.height() < MIN_TARGET or widget.width() < MIN_TARGET):
            found.append(
                f"{name} {widget.text()!r} is {widget.width()}x{widget.height()}, under {MIN_TARGET}"
            )
        problem = _text_problem(widget)
        if problem:
            found.append(f"{name}: {problem}")
        if widget.width() and widget.height() and not isinstance(widget, ScrollHint):
            cut = _cut_off(widget, window)
            if cut:
                found.append(f"{name} {cut}")
        if isinstance(widget, QAbstractScrollArea) and touch_scroll_of(widget) is None:
            found.append(f"{name} scrolls only by its bar, not by a finger (ui.widgets.touch_scroll)")
    return found


class Walk:
    """Checks a window at every size and language at each stop; collects what it finds."""

    def __init__(self, window: Any, look: tuple[tuple[str, ...], tuple[tuple[int, int], ...]]) -> None:
        self.window = window
        self.look, self.sizes = look
        self.problems: list[str] = []
        self.stops = 0

    def check(self, stop: str) -> None:
        window = self.window
        app = QApplication.instance()
        original = window.language
        for language in LANGUAGES:
            window.set_language(language)
            for mode in self.look:
                window.accessibility.set_mode(mode, True)
            for width, height in self.sizes:
                window.resize(width, height)
                for _ in range(3):  # a reflow on resize can ask for one more layout pass
                    app.processEvents()
                if window.size() != QSize(width, height):
                    self.problems.append(
                        f"[{stop} {width}x{height} {language}] the window cannot be this small: "
                        f"{window.width()}x{window.height()}"
                    )
                    continue
                self.problems += [
                    f"[{stop} {width}x{height} {language}] {p}" for p in layout_problems(window)
                ]
        window.set_language(original)
        self.stops += 1

    def assert_clean(self) -> None:
        shown = "\n".join(self.problems[:60])
        assert not self.problems, f"{len(self.problems)} layout problems:\n{shown}"


@pytest.fixture(params=["normal", "large-contrast"])
def look(request: Any) -> Any:
    return LOOKS[request.param]


def test_checkpoint_screens_fit_every_size(make_window: Any, qtbot: Any, look: Any) -> None:
    window = make_window(screen="home", verdict_hold_s=60)
    walk = Walk(window, look)
    walk.check("home")
    walk.check("attract")  # before the screen is shown: the window's own screens
    window.show_attract()
    walk.check("attract")
    window.show_checkpoint()
    walk.check("checkpoint")
    checkpoint = window.core.checkpoint
    for text in (valid_id_number(), valid_id_number(), wrong_check_digit()):
        window.checkpoint_screen.show_inspection(checkpoint.inspect(text, source="manual"))
        walk.check("checkpoint verdict")
    window.show_manual_entry()
    for key in wrong_check_digit():
        window.manual_screen.press(key)
    window.manual_screen.press("confirm")
    walk.check("manual entry error")
    window.manual_screen.show_inspection(checkpoint.inspect(valid_id_number(), source="manual"))
    walk.check("manual verdict")
    window.show_stats()
    qtbot.waitUntil(lambda: window.stats_screen.stats is not None, timeout=5000)
    walk.check("stats")
    window.idle_overlay.show_countdown(10, window.language)
    walk.check("idle countdown")
    walk.assert_clean()


def test_the_top_bar_fits_every_size_when_everything_is_wrong_at_once(
    make_window: Any, qtbot: Any, look: Any
) -> None:
    """The statuses at their longest together: a reconnecting camera with its reason, the network offline
    with a queue, the printer's longest state in either language, every problem icon. (Any of them can
    change during a walk above, e.g. the camera watchdog after ten seconds without a frame.)"""
    window = make_window(screen="home")
    bar = window.top_bar
    # The live camera's and the outbox's say comes first, then the states below hold.
    qtbot.waitUntil(lambda: bar.camera_state == "ok" and bar.pending_label.text() != "", timeout=5000)
    walk = Walk(window, look)
    for printer in ("timeout", "paper_low"):  # the longest text in English, in Chinese
        bar.set_camera_status("reconnecting", "camera delivered no frame for 10 s: restarting its thread")
        bar.set_network_status(False)
        bar.set_pending(12345)
        bar.set_printer_status(printer)
        bar.set_problems(list(Problem))
        for screen in (window.show_home, window.show_checkpoint, window.show_stats):
            screen()
            walk.check(f"every status wrong, printer {printer}, {screen.__name__}")
        assert bar.camera_state == "reconnecting" and bar.printer_label.isVisibleTo(window)
        assert bar.problem_icons.problems == tuple(Problem) and "12345" in bar.pending_label.text()
    walk.assert_clean()


def test_self_service_screens_fit_every_size(self_service_window: Any, qtbot: Any, look: Any) -> None:
    window = self_service_window()
    walk = Walk(window, look)
    walk.check("home")
    window.show_attract()
    walk.check("attract")
    window.show_home()
    screen = window.self_service.screen
    wait = lambda condition: qtbot.waitUntil(condition, timeout=5000)  # noqa: E731
    for service_id in window.home.service_buttons:
        complete_service(
            window, service_id, wait, on_page=lambda page, s=service_id: walk.check(f"{s} {page}")
        )
        walk.check(f"{service_id} review")
        click(screen.next_button)
        wait(lambda: screen.on_done and screen.print_label.text() == translate("print.done", "zh-CN"))
        walk.check(f"{service_id} done")
        click(screen.done_page.findChild(QPushButton, "primaryButton"))
    window.show_check()
    walk.check("check my application")
    check = window.check_screen
    click(check.camera_button)
    walk.check("check my application: the card by camera")
    check.reset()
    check.number, check.id_number = "12070001", valid_id_number()
    check.search()
    wait(lambda: not check.busy)
    walk.check("check my application: not found")
    window.show_home()
    click(window.home.service_buttons["vehicle-pass"])
    click(screen.id_step.camera.manual_button)
    walk.check("ID typed in")
    click(screen.id_step.manual.back_button)
    screen.id_step.cancelled.emit()
    click(window.home.service_buttons["vehicle-pass"])
    plate = next(i for i, p in enumerate(screen.pages) if p.fdef and p.fdef.id == "plate")
    screen._show(plate)
    screen.editor.keyboard.type_plate("粤")
    walk.check("plate letters")
    assert walk.stops > 40, "the walk missed most of the screens"
    walk.assert_clean()


def test_admin_pages_fit_every_size(make_window: Any, qtbot: Any, ui_data_dir: Path, look: Any) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home")
    walk = Walk(window, look)
    open_pin_page(qtbot, window)
    walk.check("admin PIN")
    admin = enter_admin(qtbot, window)
    for page in ("health", "settings", "outbox"):
        admin.screen.show_page(page)
        walk.check(f"admin {page}")
    admin.screen.show_page("settings")
    admin.settings_page.show_error("mode", "a reason from the settings check, long enough to wrap")
    walk.check("admin settings error")
    admin.settings_page.show_saved(("mode",), ("mode",))  # the restart button beside save
    walk.check("admin settings restart")
    admin.screen.show_page("outbox")
    admin.outbox_page.show_status(translate("admin.usb.bad_folder", "en"), "error")
    admin.outbox_page.folder.setFocus()  # the keyboard takes the receipts' place
    qtbot.waitUntil(lambda: admin.outbox_page.right.currentIndex() == 1, timeout=5000)
    walk.check("admin outbox keyboard")
    walk.assert_clean()

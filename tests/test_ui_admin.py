"""Admin mode in the window: the gesture and PIN (with lockout), leaving on idle, settings validated and
applied, the health page and top bar following a failed camera and a paper-out printer, the outbox page
(retry, export, reprint, test print) and every action in the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from devices.camera import CameraSourceInvalid
from devices.printer import PrinterState
from kiosk.admin.audit import AuditLog
from kiosk.admin.health import Problem
from kiosk.admin.pin import AdminGate
from kiosk.config import SETTINGS_FILE, Settings
from kiosk.core import open_core
from kiosk.forms.answers import example_answers
from kiosk.i18n import translate

PIN = "246810"
WAIT_MS = 10_000


def set_pin(data_dir: Path) -> None:
    AdminGate(data_dir / "secrets").set_pin(PIN)


def tap_title(qtbot: Any, window: Any, times: int = 5) -> None:
    for _ in range(times):
        qtbot.mouseClick(window.top_bar.site_label, Qt.MouseButton.LeftButton)


def type_pin(qtbot: Any, window: Any, pin: str) -> None:
    page = window.admin.pin_page
    for key in pin:
        qtbot.mouseClick(page.buttons[key], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.confirm_button, Qt.MouseButton.LeftButton)


def open_pin_page(qtbot: Any, window: Any) -> Any:
    page = window.admin.pin_page
    tap_title(qtbot, window)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is page, timeout=WAIT_MS)
    return page


def enter_admin(qtbot: Any, window: Any) -> Any:
    open_pin_page(qtbot, window)
    type_pin(qtbot, window, PIN)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.admin.screen, timeout=WAIT_MS)
    return window.admin


def audit(window: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(e.action, e.details) for e in AuditLog(window.core.store).entries()]


def audited(window: Any, action: str) -> bool:
    return any(a == action for a, _ in audit(window))


def test_without_a_pin_the_gesture_says_how_to_set_one(make_window: Any, qtbot: Any) -> None:
    window = make_window(screen="home")
    tap_title(qtbot, window, 4)
    qtbot.wait(50)  # let anything queued arrive; four taps must not open the PIN page
    assert window.stack.currentWidget() is window.home
    tap_title(qtbot, window, 1)
    page = window.admin.pin_page
    qtbot.waitUntil(lambda: window.stack.currentWidget() is page, timeout=WAIT_MS)
    assert page.state == "no_pin"
    assert "kiosk admin set-pin" in page.message.text()
    assert not page.confirm_button.isEnabled()
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.home


def test_wrong_pins_lock_the_keypad_until_the_back_off_is_over(
    make_window: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home")
    clock = [1_800_000_000.0]
    window.admin.gate.clock = lambda: clock[0]
    page = open_pin_page(qtbot, window)
    for attempt in range(1, 5):
        type_pin(qtbot, window, "000000")
        qtbot.waitUntil(lambda: page.state == "wrong", timeout=WAIT_MS)
        assert page.message.text() == translate("admin.pin.wrong", "zh-CN", n=4 - attempt)
        page.show_entry()
    type_pin(qtbot, window, "000000")
    qtbot.waitUntil(lambda: page.state == "locked", timeout=WAIT_MS)
    assert page.message.text() == translate("admin.pin.locked", "zh-CN", s=30)
    assert not page.buttons["1"].isEnabled() and not page.confirm_button.isEnabled()
    # Coming back through the gesture while locked still shows the lock.
    window.show_home()
    open_pin_page(qtbot, window)
    qtbot.waitUntil(lambda: page.state == "locked", timeout=WAIT_MS)
    clock[0] += 31
    window.show_home()
    open_pin_page(qtbot, window)
    qtbot.waitUntil(lambda: page.state == "entry", timeout=WAIT_MS)
    type_pin(qtbot, window, PIN)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.admin.screen, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: audited(window, "entered"), timeout=WAIT_MS)
    actions = [a for a, _ in audit(window)]
    assert actions.count("pin_failed") == 4 and "pin_locked_out" in actions


def test_admin_mode_ends_on_idle_and_with_the_home_button(
    make_window: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home")
    admin = enter_admin(qtbot, window)
    qtbot.mouseClick(window.top_bar.home_button, Qt.MouseButton.LeftButton)
    assert not admin.active and window.stack.currentWidget() is window.home
    enter_admin(qtbot, window)
    window.idle.configure(timeout_ms=50, countdown_s=1)
    window.idle.poke()
    qtbot.waitUntil(lambda: not admin.active, timeout=WAIT_MS)
    assert window.stack.currentWidget() not in admin.screens
    qtbot.waitUntil(lambda: ("left", {"reason": "idle"}) in audit(window), timeout=WAIT_MS)
    assert ("left", {"reason": "home"}) in audit(window)


def test_a_bad_setting_is_refused_naming_the_field_and_good_ones_apply_at_once(
    make_window: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home")
    admin = enter_admin(qtbot, window)
    admin.screen.show_page("settings")
    page = admin.settings_page
    page.set_field("idle_timeout_s", "5")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    field = translate("admin.setting.idle_timeout_s", "zh-CN")
    qtbot.waitUntil(lambda: field in page.message.text(), timeout=WAIT_MS)
    assert page.editors["idle_timeout_s"].property("error") == "true"
    assert "idle_timeout_s" in page.detail.text()
    assert not (ui_data_dir / SETTINGS_FILE).exists()

    page.set_field("idle_timeout_s", "90")
    page.set_field("site_name", "新城检查站")
    page.set_field("checkpoint_id", "CP-777")
    page.set_field("duplicate_window_s", "120")
    page.set_field("language", "en")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.language == "en", timeout=WAIT_MS)
    assert window.top_bar.site_label.text() == "新城检查站"
    assert "CP-777" in window.top_bar.checkpoint_label.text()
    assert window.core.checkpoint.checkpoint_id == "CP-777"
    assert window.core.checkpoint.duplicate_window.total_seconds() == 120
    assert window.idle._idle.interval() == 90_000
    assert page.message.text() == translate("admin.settings.applied", "en")
    assert page.editors["idle_timeout_s"].property("error") == "false"
    assert not page.restart_button.isVisible()
    saved = (ui_data_dir / SETTINGS_FILE).read_text("utf-8")
    assert 'site_name = "新城检查站"' in saved and "idle_timeout_s = 90" in saved

    page.set_field("camera", "0")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.restart_button.isVisible, timeout=WAIT_MS)
    assert translate("admin.setting.camera", "en") in page.message.text()
    with qtbot.waitSignal(admin.restart_requested, timeout=WAIT_MS):
        qtbot.mouseClick(page.restart_button, Qt.MouseButton.LeftButton)
    actions = audit(window)
    assert ("settings_refused", {"key": "idle_timeout_s"}) in actions
    assert ("settings_saved", {"keys": ["camera"], "restart": ["camera"]}) in actions
    assert actions[-1][0] == "restart"


def failed_camera() -> Any:
    raise CameraSourceInvalid("camera 7: no such device")


def test_the_health_page_and_top_bar_follow_a_failed_camera_and_a_paper_out_printer(
    make_window: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    set_pin(ui_data_dir)
    window = make_window(camera_factory=failed_camera, screen="home", mode="self-service", printer="fake")
    printer = window.self_service.printer.inner
    admin = enter_admin(qtbot, window)
    page = admin.health_page
    assert admin.screen.current_page == "health"
    qtbot.waitUntil(lambda: page.state_of("camera") == "bad", timeout=WAIT_MS)
    assert "no such device" in page.value_text("camera")
    qtbot.waitUntil(lambda: page.state_of("printer") == "ok", timeout=WAIT_MS)
    assert window.top_bar.problem_icons.problems == (Problem.CAMERA,)

    printer.state = PrinterState.PAPER_OUT
    qtbot.mouseClick(page.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state_of("printer") == "bad", timeout=WAIT_MS)
    assert page.value_text("printer") == translate("printer.paper_out", "zh-CN")
    assert window.top_bar.problem_icons.problems == (Problem.CAMERA, Problem.PRINTER)
    assert window.top_bar.problem_icons.isVisible()
    beat = window.health.heartbeat()
    assert beat["printer"] == "paper_out" and beat["problems"] == "camera,printer"
    assert beat["camera"] == "failed"
    for key in ("disk", "database", "outbox", "version", "ocr", "trust"):
        assert page.value_text(key) not in ("", "…"), key

    printer.state = PrinterState.READY
    qtbot.mouseClick(page.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: Problem.PRINTER not in window.top_bar.problem_icons.problems, timeout=WAIT_MS)


def submit_receipt(window: Any) -> str:
    """A stored submission with its print job, as the form screen would leave it."""
    desk = window.self_service.desk
    definition = window.self_service.catalogue.get("queue-ticket")
    return desk.submit(definition, example_answers(definition), "zh-CN").number


def test_reprint_and_test_print_from_the_outbox_page(make_window: Any, qtbot: Any, ui_data_dir: Path) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home", mode="self-service", printer="fake")
    printer = window.self_service.printer.inner
    number = submit_receipt(window)
    admin = enter_admin(qtbot, window)
    admin.screen.show_page("outbox")
    page = admin.outbox_page
    qtbot.waitUntil(lambda: page.receipt_list.count() > 0 and number in page.receipt_list.item(0).text())
    # Below the page's fold: scrolled to, as by a finger.
    page.scroll_area.ensureWidgetVisible(page.reprint_button)
    qtbot.mouseClick(page.reprint_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(printer.printed) == 1, timeout=WAIT_MS)
    assert printer.printed[0].number == number
    qtbot.waitUntil(
        lambda: page.status.text() == translate("admin.receipts.printed", "zh-CN"), timeout=WAIT_MS
    )

    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(printer.printed) == 2, timeout=WAIT_MS)
    assert printer.printed[1].title == translate("admin.test_print.title", "zh-CN")

    printer.state = PrinterState.PAPER_OUT
    qtbot.mouseClick(page.reprint_button, Qt.MouseButton.LeftButton)
    failed = translate("print.failed.paper_out", "zh-CN")
    qtbot.waitUntil(lambda: page.status.text() == failed, timeout=WAIT_MS)
    assert len(printer.printed) == 2
    qtbot.waitUntil(lambda: Problem.PRINTER in window.top_bar.problem_icons.problems, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len([a for a, _ in audit(window) if a == "reprint"]) == 2, timeout=WAIT_MS)
    assert ("test_print", {"state": "ready"}) in audit(window)


def test_quarantined_items_show_their_reason_and_can_be_queued_again(
    make_window: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    set_pin(ui_data_dir)
    core = open_core(Settings(data_dir=ui_data_dir))
    for text in ("first", "second", "third"):
        core.checkpoint.inspect(text, source="manual")
    held = core.outbox.pending()[1].item_id
    core.outbox.quarantine(held, "HTTP 422: checkpoint CP-001 unknown")
    core.close()
    window = make_window(screen="home")
    admin = enter_admin(qtbot, window)
    qtbot.waitUntil(lambda: Problem.QUARANTINE in window.top_bar.problem_icons.problems, timeout=WAIT_MS)
    admin.screen.show_page("outbox")
    page = admin.outbox_page
    qtbot.waitUntil(lambda: page.held_list.count() == 1, timeout=WAIT_MS)
    assert "checkpoint CP-001 unknown" in page.held_text(0)
    assert "2" in page.summary.text()
    assert not page.reprint_button.isEnabled()  # a checkpoint kiosk has no receipt printer
    page.select_held(held)
    qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.held_list.count() == 0, timeout=WAIT_MS)
    assert window.core.outbox.counts().quarantined == 0
    qtbot.waitUntil(
        lambda: ("outbox_retry", {"items": [held], "released": 1}) in audit(window), timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: Problem.QUARANTINE not in window.top_bar.problem_icons.problems, timeout=WAIT_MS)


def test_logs_are_exported_scrubbed_and_items_need_enrolment(
    make_window: Any, qtbot: Any, ui_data_dir: Path, tmp_path: Path
) -> None:
    set_pin(ui_data_dir)
    logs = ui_data_dir / "logs"
    logs.mkdir()
    planted = ("11010519491231002X", "13800138000", "KP1:6BFOXN*TS0BI$ZD8UHRQ2")
    (logs / "kiosk.log").write_text("".join(f"WARNING x: {s}\n" for s in planted), "utf-8")
    stick = tmp_path / "stick"
    stick.mkdir()
    window = make_window(screen="home")
    admin = enter_admin(qtbot, window)
    admin.screen.show_page("outbox")
    page = admin.outbox_page
    page.folder.setText(str(tmp_path / "missing"))
    # The export buttons lie below the page's fold: scrolled to, as a finger would (a touch on a point off
    # the screen reaches nothing).
    page.scroll_area.ensureWidgetVisible(page.logs_button)
    qtbot.mouseClick(page.logs_button, Qt.MouseButton.LeftButton)
    assert page.status.text() == translate("admin.usb.bad_folder", "zh-CN")
    page.folder.setText(str(stick))
    qtbot.mouseClick(page.logs_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: audited(window, "logs_export"), timeout=WAIT_MS)
    (exported,) = stick.iterdir()
    text = (exported / "kiosk.log").read_text("utf-8")
    assert text.count("WARNING x:") == 3 and not any(s in text for s in planted)
    assert "entered" in (exported / "admin-audit.txt").read_text("utf-8")
    page.scroll_area.ensureWidgetVisible(page.export_button)
    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    not_enrolled = translate("admin.outbox.not_enrolled", "zh-CN")
    qtbot.waitUntil(lambda: page.status.text() == not_enrolled, timeout=WAIT_MS)


@pytest.mark.parametrize("mode", ["checkpoint", "self-service"])
def test_every_admin_button_is_at_least_64_px_high(
    make_window: Any, qtbot: Any, ui_data_dir: Path, mode: str
) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home", mode=mode, printer="fake")
    page = open_pin_page(qtbot, window)
    qtbot.waitUntil(lambda: page.state == "entry", timeout=WAIT_MS)
    low = [b.text() for b in page.findChildren(QPushButton) if b.isVisible() and b.height() < 64]
    assert low == []
    admin = enter_admin(qtbot, window)
    for name in ("health", "settings", "outbox"):
        admin.screen.show_page(name)
        qtbot.wait(1)  # one pass of the event loop lays the page out
        buttons = [b for b in admin.screen.findChildren(QPushButton) if b.isVisible()]
        assert buttons
        low = [(name, b.text(), b.height()) for b in buttons if b.height() < 64]
        assert low == []


def test_the_audit_log_never_holds_the_pin(make_window: Any, qtbot: Any, ui_data_dir: Path) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home")
    open_pin_page(qtbot, window)
    type_pin(qtbot, window, "135799")
    qtbot.waitUntil(lambda: audited(window, "pin_failed"), timeout=WAIT_MS)
    enter_admin(qtbot, window)
    qtbot.waitUntil(lambda: audited(window, "entered"), timeout=WAIT_MS)
    dump = json.dumps(audit(window))
    assert "135799" not in dump and PIN not in dump

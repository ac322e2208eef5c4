"""Admin mode in the window: the hidden gesture opens the PIN page; the right PIN opens the admin screen
(settings, device health, outbox). Every action goes to the audit log; the mode ends with the leave
button, the home button, or the idle timeout (the window's idle watcher, as for citizens).

Everything that touches the disk, the store, the printer or the network runs on a worker.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from devices.printer import PrinterError
from kiosk.admin.audit import AuditLog
from kiosk.admin.enrolment import enrol_kiosk
from kiosk.admin.export import NotEnrolled, export_outbox
from kiosk.admin.logs import export_logs
from kiosk.admin.pin import AdminGate, Attempt
from kiosk.admin.receipts import printer_check_receipt, recent_receipts
from kiosk.admin.settings import SavedSettings, save_settings
from kiosk.admin.usb import removable_mounts
from kiosk.config import SettingsError
from kiosk.i18n import translate
from printing.jobs import PrintOutcome, PrintQueue
from ui.admin.gesture import TapGesture
from ui.admin.health import HealthPage
from ui.admin.host import AdminHost
from ui.admin.outbox_page import OutboxPage
from ui.admin.pin_page import PinPage
from ui.admin.settings_page import SettingsPage
from ui.operations import Lane, run_op
from ui.widgets.wrap_button import WrapButton

log = logging.getLogger(__name__)

PAGES = ("health", "settings", "outbox")
# The admin screen's pages: widgets of its stack that also have retranslate(language) and
# clear_personal_data(). Named one by one, as Python's types cannot say "a QWidget with these methods".
AdminPage: TypeAlias = HealthPage | SettingsPage | OutboxPage
RECENT_RECEIPTS = 5


class AdminScreen(QWidget):
    """A row of page buttons (and leave) over the current page."""

    leave_requested = Signal()
    cleared = Signal()

    def __init__(self, language: str, pages: dict[str, AdminPage], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("adminScreen")
        self.pages = pages
        self.title = QLabel()
        self.title.setObjectName("adminTitle")
        self.tab_buttons: dict[str, QPushButton] = {}
        self.stack = QStackedWidget()
        # Title and leave on one row, the page buttons on the next: the five in one row do not fit a
        # 1024 px or a portrait screen. The page buttons wrap their text where one line is too wide.
        heading = QHBoxLayout()
        heading.setContentsMargins(24, 8, 24, 0)
        heading.setSpacing(12)
        heading.addWidget(self.title, 1)
        tabs = QHBoxLayout()
        tabs.setContentsMargins(24, 0, 24, 0)
        tabs.setSpacing(12)
        for name, page in pages.items():
            button = WrapButton()
            button.setObjectName("adminTab")
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, n=name: self.show_page(n))
            tabs.addWidget(button, 1)
            self.tab_buttons[name] = button
            self.stack.addWidget(page)
        self.leave_button = WrapButton()
        self.leave_button.setObjectName("warningButton")
        self.leave_button.clicked.connect(self.leave_requested)
        heading.addWidget(self.leave_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(heading)
        layout.addLayout(tabs)
        layout.addWidget(self.stack, 1)
        self.retranslate(language)

    @property
    def current_page(self) -> str:
        return next(n for n, p in self.pages.items() if p is self.stack.currentWidget())

    def show_page(self, name: str) -> None:
        self.stack.setCurrentWidget(self.pages[name])
        for other, button in self.tab_buttons.items():
            button.setChecked(other == name)

    def retranslate(self, language: str) -> None:
        self.title.setText(translate("admin.title", language))
        for name, button in self.tab_buttons.items():
            button.setText(translate(f"admin.tab.{name}", language))
        self.leave_button.setText(translate("admin.leave", language))
        for page in self.pages.values():
            page.retranslate(language)

    def clear_personal_data(self) -> None:
        """The idle timeout (the window clears every screen, then goes home): admin mode ends too."""
        for page in self.pages.values():
            page.clear_personal_data()
        self.cleared.emit()


class AdminMode(QObject):
    """``restart_requested`` asks the application to exit with ``ui.app.RESTART_EXIT_CODE``; ``entered``
    and ``left(reason)`` follow the session (reason: leave, home, idle)."""

    restart_requested = Signal()
    entered = Signal()
    left = Signal(str)

    def __init__(self, window: AdminHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        core = window.core
        language = window.language
        self.gate = AdminGate(core.settings.secrets_dir)
        self.audit = AuditLog(core.store)
        self.active = False
        self.pin_page = PinPage(language)
        self.settings_page = SettingsPage(language)
        self.health_page = HealthPage(language)
        self.outbox_page = OutboxPage(language)
        self.screen = AdminScreen(
            language,
            {"health": self.health_page, "settings": self.settings_page, "outbox": self.outbox_page},
        )
        self.gesture = TapGesture(window.gesture_target)

        self.gesture.triggered.connect(self.request_entry)
        self.pin_page.submitted.connect(self._check_pin)
        self.pin_page.cancelled.connect(window.show_home)
        self.screen.leave_requested.connect(lambda: self.leave("leave"))
        self.screen.cleared.connect(self._idle)
        self.screen.stack.currentChanged.connect(lambda _: self._page_shown())
        window.stack.currentChanged.connect(lambda _: self._screen_changed())
        window.health.updated.connect(self.health_page.show_report)
        self.health_page.refresh_requested.connect(window.health.refresh)
        self.settings_page.save_requested.connect(self._save_settings)
        self.settings_page.enrol_requested.connect(self._enrol)
        self.settings_page.restart_requested.connect(self._restart)
        self.outbox_page.retry_requested.connect(self._retry)
        self.outbox_page.export_items_requested.connect(self._export_items)
        self.outbox_page.export_logs_requested.connect(self._export_logs)
        self.outbox_page.reprint_requested.connect(self._reprint)
        self.outbox_page.test_print_requested.connect(self._test_print)
        self.outbox_page.mounts_requested.connect(self._find_mounts)

    @property
    def screens(self) -> tuple[PinPage, AdminScreen]:
        return (self.pin_page, self.screen)

    @property
    def printer(self) -> Any:
        return self.window.receipt_printer

    # --- entering and leaving ------------------------------------------------------------------------------

    def request_entry(self) -> None:
        """The gesture: the PIN page, saying whether a PIN is set and whether it is locked."""
        if self.window.stack.currentWidget() in self.screens:
            return
        gate = self.gate
        run_op(
            self, lambda: (gate.has_pin(), gate.locked_for()), lane=Lane.IO, on_success=self._open_pin_page
        )

    def _open_pin_page(self, state: tuple[bool, float]) -> None:
        has_pin, locked_s = state
        if not has_pin:
            self.pin_page.show_no_pin()
        elif locked_s > 0:
            self.pin_page.show_locked(locked_s)
        else:
            self.pin_page.show_entry()
        self.window.show_screen(self.pin_page)
        self.record("pin_page", pin_set=has_pin, locked_s=round(locked_s))

    def _check_pin(self, pin: str) -> None:
        self.pin_page.show_checking()
        gate = self.gate
        run_op(self, lambda: gate.attempt(pin), lane=Lane.IO, on_success=self._on_attempt)

    def _on_attempt(self, attempt: Attempt) -> None:
        if self.window.stack.currentWidget() is not self.pin_page:
            return  # the page was left (idle, home) while scrypt ran: do not open anything now
        if attempt.ok:
            self.record("entered")
            self._enter()
        elif attempt.locked_for_s > 0:
            self.record("pin_locked_out", failures=attempt.failures, seconds=round(attempt.locked_for_s))
            self.pin_page.show_locked(attempt.locked_for_s)
        else:
            self.record("pin_failed", failures=attempt.failures)
            self.pin_page.show_wrong(attempt.left)

    def _enter(self) -> None:
        self.active = True
        self.settings_page.load(self.window.core.settings)
        self.settings_page.restart_button.hide()
        self.screen.show_page("health")
        self.window.show_screen(self.screen)
        self.window.health.refresh()
        self.entered.emit()

    def leave(self, reason: str) -> None:
        """End the session (audited) and go home."""
        if self.active:
            self.active = False
            self.record("left", reason=reason)
            self.left.emit(reason)
        if self.window.stack.currentWidget() in self.screens:
            self.window.show_home()

    def _screen_changed(self) -> None:
        if self.active and self.window.stack.currentWidget() not in self.screens:
            self.leave("home")

    def _idle(self) -> None:
        if self.active:
            self.leave("idle")

    def _page_shown(self) -> None:
        if self.screen.current_page == "outbox":
            self.refresh_outbox()
        elif self.screen.current_page == "health":
            self.window.health.refresh()

    # --- audit ---------------------------------------------------------------------------------------------

    def record(self, action: str, **details: Any) -> None:
        """Audit on a worker (the write is synced to disk); a failure is logged, the action stands."""
        audit = self.audit
        run_op(
            self,
            lambda: audit.record(action, **details),
            lane=Lane.STORE,
            on_success=lambda _: None,
            on_failure=lambda err: log.error("audit %s not recorded: %s", action, err),
        )

    # --- settings ------------------------------------------------------------------------------------------

    def _save_settings(self, changes: dict[str, Any]) -> None:
        core = self.window.core

        def save() -> SavedSettings:
            saved = save_settings(core.settings, changes)
            core.apply(saved.settings)  # here, off the GUI thread: a new trust policy reads keys and files
            return saved

        run_op(self, save, lane=Lane.IO, on_success=self._saved, on_failure=self._save_failed)

    def _saved(self, saved: SavedSettings) -> None:
        self.window.settings_applied()
        self.settings_page.load(saved.settings)
        self.settings_page.show_saved(saved.changed, saved.needs_restart)
        self.record("settings_saved", keys=list(saved.changed), restart=list(saved.needs_restart))

    def _save_failed(self, error: Exception) -> None:
        key = error.key if isinstance(error, SettingsError) else None
        self.settings_page.show_error(key, str(error))
        self.record("settings_refused", key=key)

    def _enrol(self, url: str, code: str) -> None:
        core = self.window.core
        if not code:
            self.settings_page.show_error(None, translate("admin.enrol.no_code", self.window.language))
            return
        name = socket.gethostname()[:100]

        def enrol() -> tuple[str, SavedSettings]:
            device_id, saved = enrol_kiosk(core.settings, core.store, url, code, name)
            core.apply(saved.settings)
            return device_id, saved

        run_op(self, enrol, lane=Lane.IO, on_success=self._enrolled, on_failure=self._enrol_failed)

    def _enrolled(self, result: tuple[str, SavedSettings]) -> None:
        device_id, saved = result
        self.window.settings_applied()
        self.settings_page.load(saved.settings)
        self.settings_page.show_enrolment(True, device_id)
        self.record("enrolled", device=device_id)

    def _enrol_failed(self, error: Exception) -> None:
        if isinstance(error, SettingsError):
            self.settings_page.show_error(error.key, str(error))
        else:
            self.settings_page.show_enrolment(False, str(error))
        self.record("enrol_failed", error=type(error).__name__)

    def _restart(self) -> None:
        # Written here, not on a worker: the process is about to exit.
        try:
            self.audit.record("restart")
        except Exception:
            log.exception("audit of the restart not recorded")
        self.restart_requested.emit()

    # --- outbox, receipts, USB -----------------------------------------------------------------------------

    def refresh_outbox(self) -> None:
        core = self.window.core
        store = core.store

        def read() -> tuple[Any, ...]:
            counts = core.outbox.counts()
            held = core.outbox.quarantined()
            return counts.pending, counts.oldest_pending_at, held, recent_receipts(store, RECENT_RECEIPTS)

        run_op(self, read, lane=Lane.STORE, on_success=self._show_outbox)

    def _show_outbox(self, data: tuple[Any, ...]) -> None:
        pending, oldest, held, receipts = data
        self.outbox_page.show_outbox(pending, oldest, held)
        self.outbox_page.show_receipts(receipts, self.printer is not None)

    def _retry(self, item_ids: list[str]) -> None:
        outbox = self.window.core.outbox

        def release() -> int:
            return sum(outbox.release(item_id) for item_id in item_ids)

        def done(released: int) -> None:
            self._status("admin.outbox.released", "ok", n=released)
            self.record("outbox_retry", items=item_ids, released=released)
            self.window.sync.wake()
            self.refresh_outbox()
            self.window.health.refresh()

        run_op(
            self, release, lane=Lane.STORE, on_success=done, on_failure=self._action_failed("outbox_retry")
        )

    def _folder(self, text: str) -> Path | None:
        folder = Path(text) if text else None
        if folder is None or not folder.is_dir() or not folder.is_absolute():
            self._status("admin.usb.bad_folder", "error")
            return None
        return folder

    def _export_items(self, text: str) -> None:
        folder = self._folder(text)
        if folder is None:
            return
        core = self.window.core

        def export() -> tuple[Path, int]:
            from kiosk.forms.protect import reseal_pending

            reseal_pending(core.store, core.settings.secrets_dir)
            return export_outbox(core.store, core.settings.secrets_dir, folder, datetime.now())

        def done(result: tuple[Path, int]) -> None:
            path, count = result
            self._status("admin.outbox.exported", "ok", n=count, file=path.name)
            self.record("outbox_export", count=count)

        def failed(error: Exception) -> None:
            if isinstance(error, NotEnrolled):
                self._status("admin.outbox.not_enrolled", "error")
            else:
                self._status("admin.usb.failed", "error", error=str(error))
            self.record("outbox_export_failed", error=type(error).__name__)

        run_op(self, export, lane=Lane.IO, on_success=done, on_failure=failed)

    def _export_logs(self, text: str) -> None:
        folder = self._folder(text)
        if folder is None:
            return
        core, audit = self.window.core, self.audit

        def export() -> tuple[Path, int]:
            log_dir = core.settings.data_dir / "logs"
            return export_logs(log_dir, folder, datetime.now(), audit.entries(1000))

        def done(result: tuple[Path, int]) -> None:
            path, count = result
            self._status("admin.logs.exported", "ok", n=count, folder=path.name)
            self.record("logs_export", files=count)

        run_op(self, export, lane=Lane.IO, on_success=done, on_failure=self._action_failed("logs_export"))

    def _find_mounts(self) -> None:
        run_op(self, removable_mounts, lane=Lane.IO, on_success=self.outbox_page.set_mounts)

    def _reprint(self, job_id: int) -> None:
        printer = self.printer
        if printer is None:
            return
        queue = PrintQueue(self.window.core.store)

        def done(outcome: PrintOutcome) -> None:
            self.window.health.set_printer_state(outcome.state.value)
            key = "admin.receipts.printed" if outcome.printed else f"print.failed.{outcome.state.value}"
            self._status(key, "ok" if outcome.printed else "error")
            self.record("reprint", job=job_id, printed=outcome.printed, state=outcome.state.value)
            self.refresh_outbox()

        run_op(
            self,
            lambda: queue.print_job(job_id, printer),
            lane=Lane.IO,
            on_success=done,
            on_failure=self._action_failed("reprint"),
        )

    def _test_print(self) -> None:
        printer = self.printer
        if printer is None:
            return
        settings, language = self.window.core.settings, self.window.language

        def test() -> str:
            try:
                printer.print_receipt(printer_check_receipt(settings, language, datetime.now(UTC)))
            except PrinterError as err:
                return err.state.value
            return "ready"

        def done(state: str) -> None:
            self.window.health.set_printer_state(state)
            printed = state == "ready"
            self._status(
                "admin.receipts.test_done" if printed else f"print.failed.{state}",
                "ok" if printed else "error",
            )
            self.record("test_print", state=state)

        run_op(self, test, lane=Lane.IO, on_success=done, on_failure=self._action_failed("test_print"))

    def _status(self, key: str, severity: str, **params: Any) -> None:
        self.outbox_page.show_status(translate(key, self.window.language, **params), severity)

    def _action_failed(self, action: str) -> Any:
        def failed(error: Exception) -> None:
            log.error("admin %s failed", action, exc_info=error)
            self._status("admin.usb.failed", "error", error=str(error))
            self.record(f"{action}_failed", error=type(error).__name__)

        return failed

"""The main window: top bar, today's counters, and a stack of screens; it wires them to the core.

Everything the window needs is passed in (core, scan pipeline, speaker), so tests, screenshots and the
benchmark build the same window with fakes where the hardware would be.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeAlias

from PySide6.QtCore import QEvent, QObject, QSize, Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import QApplication, QLabel, QLayout, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from devices.id_reader import ReaderMonitor, devices_in_use, open_reader
from devices.printer import Printer
from devices.speaker import SilentSpeaker, Speaker, SystemSpeaker, cue_seconds
from devices.voice import Voice, create_voice
from kiosk.checkpoint import Counters, Inspection
from kiosk.core import KioskCore
from kiosk.decisions.outcomes import KnownDecision
from kiosk.forms.slots import SlotSource
from kiosk.health_list import load_health_list
from kiosk.i18n import LANGUAGES, translate
from kiosk.stats import DayStats, day_stats
from printing.jobs import PrintOutcome
from ui.accessibility import Accessibility
from ui.admin.health import HealthMonitor
from ui.admin.mode import AdminMode, AdminScreen
from ui.admin.pin_page import PinPage
from ui.background_sync import BackgroundSync
from ui.card_capture import OcrModels
from ui.chip_reader import ChipCard, ChipReader
from ui.idle import IdleWatcher
from ui.operations import Lane, run_op, wait_for_done
from ui.receipt_scanner import ReceiptScanner
from ui.scan_pipeline import ScanPipeline, ScanTiming
from ui.screens.attract import AttractScreen
from ui.screens.check_application import CheckApplicationScreen
from ui.screens.checkpoint import CheckpointScreen
from ui.screens.home import HomeScreen
from ui.screens.id_capture import CameraIdCapture
from ui.screens.manual_entry import ManualEntryScreen
from ui.screens.service import ServiceScreen
from ui.screens.stats import StatsScreen
from ui.self_service import DECISION_WAIT_S, SelfService
from ui.watchdog import CameraWatchdog
from ui.widgets.counters_bar import CountersBar
from ui.widgets.idle_overlay import IdleOverlay
from ui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from devices.ocr import BackgroundLoader

log = logging.getLogger(__name__)

# ID-capture prompts change with every analysed frame (glare, blur, too small…); a new one is spoken only
# this long after the last, so the voice does not chatter while the person adjusts the card.
CAPTURE_PROMPT_GAP_S = 4.0
# The reader's last word is always spoken, however soon after the previous prompt.
_FINAL_CAPTURE_PROMPTS = frozenset({"ocr.prompt.done", "ocr.prompt.check_fields"})

# The screens of the window's stack: QWidgets that also have retranslate(language) and
# clear_personal_data(). Named one by one, as Python's types cannot say "a QWidget with these methods"; a
# new screen joins this list.
StackScreen: TypeAlias = (
    HomeScreen
    | CheckpointScreen
    | ManualEntryScreen
    | StatsScreen
    | AttractScreen
    | ServiceScreen
    | CheckApplicationScreen
    | PinPage
    | AdminScreen
)


class ScreenStack(QStackedWidget):
    """A stack whose size needs are those of the screen on show: each screen fits the window by itself, so a
    hidden one (an admin page, a form) must not hold the window larger than the kiosk's screen."""

    def __init__(self) -> None:
        super().__init__()
        self.currentChanged.connect(lambda _: self.updateGeometry())

    def addWidget(self, widget: QWidget) -> int:
        widget.installEventFilter(self)
        return super().addWidget(widget)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A screen that rearranged itself (a reflow on resize) has new size needs: pass them up at once, so
        # that the window may shrink to the screen's size without waiting for another resize.
        if event.type() == QEvent.Type.LayoutRequest and watched is self.currentWidget():
            self.updateGeometry()
        return False

    def minimumSizeHint(self) -> QSize:
        current = self.currentWidget()
        return current.minimumSizeHint().expandedTo(current.minimumSize()) if current else QSize()

    def sizeHint(self) -> QSize:
        current = self.currentWidget()
        return current.sizeHint() if current else QSize()


class MainWindow(QMainWindow):
    # The timing of a camera inspection (None for a manual one) and the perf_counter() reading when its
    # verdict panel was filled on the GUI thread: what the latency benchmark measures.
    verdict_shown = Signal(object, float)

    def __init__(
        self,
        core: KioskCore,
        pipeline: ScanPipeline,
        speaker: Speaker,
        ocr_loader_factory: Callable[[], BackgroundLoader] | None = None,
        printer: Printer | None = None,
        slots: SlotSource | None = None,
        voice: Voice | None = None,
    ) -> None:
        super().__init__()
        settings = core.settings
        self.core = core
        self.pipeline = pipeline
        self.speaker = speaker
        self._speaker_at_start = speaker  # what admin mode's sound switch goes back to
        self._sound = settings.sound  # the sound setting the speaker was chosen for
        self.admin: AdminMode | None = None  # built once the parts it works on exist
        # None: a silent voice (tests, screenshots, benches); run_gui passes the one the settings ask for.
        self.voice: Voice = voice or create_voice(enabled=False)
        self._capture_prompt: tuple[str, float] = ("", 0.0)  # the last ID-capture prompt spoken, and when
        self._ocr_loader_factory = ocr_loader_factory
        self.language = settings.language
        self._inspections_shown = 0
        self._shut_down = False
        hold_ms = round(settings.verdict_hold_s * 1000)

        self.top_bar = TopBar(settings.site_name, settings.checkpoint_id, self.language)
        self.counters_bar = CountersBar(self.language)
        # Today's inspection counters are for checkpoint staff, not for citizens at a self-service kiosk.
        self.counters_bar.setVisible(settings.mode != "self-service")
        self.ocr_models = OcrModels(self)  # before the forms: their ID steps read the card with it
        # The ID-card reader (none unless configured), shared by the forms' ID steps and the checkpoint.
        busy = devices_in_use(settings.printer)
        monitor = ReaderMonitor(settings.id_reader, lambda spec: open_reader(spec, busy))
        self.chip = ChipReader(monitor, settings.id_photo_library, self)
        self._chip_tapping = False  # the checkpoint holds the reader (a card tapped is inspected)
        # Self-service forms (and their definitions, printer, slots) only on a self-service kiosk.
        self.self_service: SelfService | None = None
        if settings.mode == "self-service":
            self.self_service = _self_service(self, core, printer, slots)
        services = [(d.id, d.title) for d in self.self_service.services()] if self.self_service else []
        self.home = HomeScreen(self.language, self_service=settings.mode == "self-service", services=services)
        self.checkpoint_screen = CheckpointScreen(self.language, hold_ms)
        self.manual_screen = ManualEntryScreen(self.language, hold_ms)
        self.stats_screen = StatsScreen(self.language, self._load_stats)
        self.attract = AttractScreen(self.language, services)
        # "Check my application": where a receipt's decision is looked up (self-service kiosks only).
        self.check_screen: CheckApplicationScreen | None = None
        if self.self_service is not None:
            self.check_screen = CheckApplicationScreen(
                self.language, self._look_up_decision, self.make_id_capture_step
            )
        self._chip_checking = False  # the check screen holds the reader (a card tapped is the applicant's)
        self.receipt_scanner = ReceiptScanner(pipeline, self)
        self.stack = ScreenStack()
        for screen in self.screens:
            self.stack.addWidget(screen)

        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.top_bar)
        layout.addWidget(self.counters_bar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._central = central  # what the idle overlay covers
        # The window is as large as the kiosk's screen, whatever its content asks for: screens rearrange
        # themselves to fit (tests/test_ui_layouts.py), rather than hold the window larger than the display
        # in an arrangement made for another size.
        window_layout = self.layout()
        assert window_layout is not None  # a QMainWindow builds its own layout with itself
        window_layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        app = QApplication.instance()
        self.accessibility = Accessibility(self, app.styleSheet() if isinstance(app, QApplication) else "")
        self.idle_overlay = IdleOverlay(central)
        self.idle = IdleWatcher(settings.idle_timeout_s * 1000, settings.idle_countdown_s, self)
        self.camera_watchdog = CameraWatchdog(pipeline, parent=self)

        self.top_bar.home_requested.connect(self.show_home)
        self.top_bar.language_toggled.connect(self.toggle_language)
        self.top_bar.date_changed.connect(self._load_figures)
        self.home.scan_requested.connect(self.show_checkpoint)
        self.home.manual_requested.connect(self.show_manual_entry)
        self.home.service_requested.connect(self.show_service)
        self.home.check_requested.connect(self.show_check)
        if self.check_screen is not None:
            self.check_screen.home_requested.connect(self.show_home)
            self.receipt_scanner.code_seen.connect(self._on_receipt_seen)
            if self.self_service is not None:
                self.check_screen.print_requested.connect(self.self_service.print_decision)
        self.home.access_toggled.connect(self.accessibility.toggle)
        self.accessibility.changed.connect(self._on_access_changed)
        self.attract.touched.connect(self.show_home)
        self.checkpoint_screen.stats_requested.connect(self.show_stats)
        self.stats_screen.back_requested.connect(self.show_checkpoint)
        if self.self_service is not None:
            self.self_service.home_requested.connect(self.show_home)
            self.self_service.printer_state.connect(self.top_bar.set_printer_status)
            self.self_service.submission_shown.connect(lambda *_: self.voice.say("form.done", self.language))
            self.self_service.printed.connect(self._on_printed)
            self.self_service.submission_shown.connect(self._after_submission)
        self.manual_screen.submitted.connect(self._inspect_manual)
        self.chip.card_read.connect(self._on_card_tapped)
        pipeline.frame_ready.connect(self.checkpoint_screen.set_frame)
        pipeline.camera_status.connect(self.top_bar.set_camera_status)
        pipeline.inspected.connect(self._on_camera_inspection)
        self.idle.countdown.connect(self._on_idle_countdown)
        self.idle.cancelled.connect(self.idle_overlay.hide)
        self.idle.expired.connect(self._on_idle_expired)
        # Uploads to the central server, when one is configured and this kiosk is enrolled.
        # Device health for the admin page, the top bar's problem icons and the heartbeat.
        service_printer = self.self_service.printer if self.self_service is not None else None
        self.health = HealthMonitor(
            core,
            pipeline,
            self.ocr_models,
            service_printer,
            self,
            ocr_expected=ocr_loader_factory is not None,
            id_reader=self.chip.monitor if self.chip.configured else None,
        )
        self.chip.state_changed.connect(lambda _state: self.health.refresh())
        self.health.problems_changed.connect(self.top_bar.set_problems)
        if self.self_service is not None:
            self.self_service.printer_state.connect(self.health.set_printer_state)
        self.sync = BackgroundSync(core, self, health=self.health.heartbeat)
        if self.self_service is not None:
            self.self_service.online_engine = self.sync.online_engine
        self.health.watch_sync(self.sync)
        # Admin mode: five taps on the site name within 3 s, then the PIN (ui/admin/).
        self.admin = AdminMode(self, parent=self)
        for screen in self.admin.screens:
            self.stack.addWidget(screen)
        self.sync.online_changed.connect(self.set_network_status)
        self.sync.pending_changed.connect(self.top_bar.set_pending)

        self.top_bar.set_network_status(False)
        self.retranslate()
        self.show_home()

    @property
    def gesture_target(self) -> QLabel:
        return self.top_bar.site_label

    @property
    def receipt_printer(self) -> Printer | None:
        return self.self_service.printer if self.self_service is not None else None

    @property
    def screens(self) -> tuple[StackScreen, ...]:
        forms: tuple[StackScreen, ...] = (self.self_service.screen,) if self.self_service else ()
        if self.check_screen is not None:
            forms = (*forms, self.check_screen)
        own = (self.home, self.checkpoint_screen, self.manual_screen, self.stats_screen, self.attract)
        admin = self.admin.screens if self.admin is not None else ()
        return (*own, *forms, *admin)

    def start(self) -> None:
        """Start what may be slow (camera, decoder, store reads) once the window is on screen."""
        self.pipeline.start()
        self.camera_watchdog.start()
        app = QApplication.instance()
        assert app is not None  # the window exists, so the application it was made in does
        self.idle.install(app)
        self._load_figures()
        self.sync.start()
        self.health.start()
        self._load_ocr_models()
        if self.self_service is not None:
            self.self_service.check_printer()

    # --- navigation ----------------------------------------------------------------------------------

    def show_home(self) -> None:
        self._show(self.home)

    def show_checkpoint(self) -> None:
        self._show(self.checkpoint_screen)
        self.voice.say("checkpoint.prompt", self.language)

    def show_stats(self) -> None:
        self._show(self.stats_screen)
        self.stats_screen.refresh()

    def show_attract(self) -> None:
        """Nobody is at the kiosk: the next person starts with the normal look, on the attract screen."""
        self.accessibility.reset()
        self._show(self.attract)

    def show_manual_entry(self) -> None:
        self._show(self.manual_screen)
        self.manual_screen.setFocus()

    def make_id_capture_step(self, language: str) -> CameraIdCapture:
        """A service form's ID step (the forms' ``id_step_factory``): the camera first, typing at hand."""
        step = CameraIdCapture(language, self.pipeline, self.ocr_models, chip=self.chip)
        # Connected after the screen's own slot, so the step's prompt is already the new one here.
        step.camera.worker.reader_update.connect(lambda _: self._say_capture_prompt(step))
        return step

    def show_service(self, service_id: str) -> None:
        if self.self_service is not None:
            # A full disk: say so on the home screen rather than take a form that cannot be stored.
            full = self.self_service.storage_full()
            self.home.set_storage_full(full)
            if full:
                return
        if self.self_service is not None and self.self_service.open(service_id):
            self._show(self.self_service.screen)
            if self.self_service.screen.page.step.kind == "id_capture":
                self.voice.say("form.id_prompt", self.language)

    def show_check(self) -> None:
        if self.check_screen is not None:
            self.check_screen.reset()
            self._show(self.check_screen)
            self.check_screen.setFocus()  # a hand-held scanner types into it

    def _on_receipt_seen(self, text: str) -> None:
        check = self.check_screen
        # On the entry page only: the same receipt still in front of the camera must not search again.
        if check is not None and self._chip_checking and check.pages.currentWidget() is check.entry_page:
            self.idle.poke()
            check.take_code(text)

    def _look_up_decision(self, number: str, id_number: str) -> KnownDecision | None:
        """The check screen's search (on a worker): what this kiosk knows, asked afresh from the server
        when online and not final yet."""
        assert self.self_service is not None
        known = self.self_service.desk.decisions.find(number, id_number)
        engine = self.self_service.online_engine()
        if known is not None and not known.final and engine is not None:
            known = engine.send_now(known.submission_id, DECISION_WAIT_S, fresh=True) or known
        return known

    def show_screen(self, screen: QWidget) -> None:
        """Show a screen of the stack that has no navigation of its own here (admin mode's)."""
        self._show(screen)

    def _show(self, screen: QWidget) -> None:
        if screen is not self.stack.currentWidget():
            self.voice.stop()  # a prompt of the screen being left is of no use any more
        self.stack.setCurrentWidget(screen)
        self.top_bar.set_home_visible(screen not in (self.home, self.attract))
        # At a checkpoint the attract screen asks for a code, so it scans as the checkpoint screen does.
        checkpoint_attract = screen is self.attract and self.self_service is None
        scanning = screen is self.checkpoint_screen or checkpoint_attract
        self.pipeline.set_scanning(scanning)
        # Staff may tap an ID card on the reader wherever a code would be scanned.
        if scanning != self._chip_tapping:
            self._chip_tapping = scanning
            (self.chip.start if scanning else self.chip.stop)()
        checking = self.check_screen is not None and screen is self.check_screen
        if self._chip_checking and not checking and self.check_screen is not None:
            self.check_screen.reset()  # the number and ID number looked up do not stay behind
        if checking != self._chip_checking:
            self._chip_checking = checking
            (self.chip.start if checking else self.chip.stop)()
            # The camera reads the receipt's QR code there, without recording an inspection.
            (self.receipt_scanner.start if checking else self.receipt_scanner.stop)()

    def _say_capture_prompt(self, step: CameraIdCapture) -> None:
        key = step.camera.prompt.key
        last_key, last_at = self._capture_prompt
        now = time.monotonic()
        if key == last_key or (now - last_at < CAPTURE_PROMPT_GAP_S and key not in _FINAL_CAPTURE_PROMPTS):
            return
        self._capture_prompt = (key, now)
        self.voice.say(key, self.language)

    def _on_printed(self, outcome: PrintOutcome) -> None:
        if outcome.printed:
            # After "submitted", not over it.
            self.voice.say("print.done", self.language, interrupt=False)

    # --- accessibility ---------------------------------------------------------------------------------

    def _on_access_changed(self) -> None:
        self.home.set_access(self.accessibility.large_text, self.accessibility.high_contrast)

    # --- language --------------------------------------------------------------------------------------

    def toggle_language(self) -> None:
        index = LANGUAGES.index(self.language)
        self.set_language(LANGUAGES[(index + 1) % len(LANGUAGES)])

    def set_language(self, language: str) -> None:
        self.language = language
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(translate("app.title", self.language))
        self.top_bar.retranslate(self.language)
        self.counters_bar.retranslate(self.language)
        self.idle_overlay.retranslate(self.language)
        for screen in self.screens:
            screen.retranslate(self.language)

    # --- settings changed in admin mode -----------------------------------------------------------------

    def settings_applied(self) -> None:
        """Show what ``KioskCore.apply`` put in force (``kiosk.admin.settings.LIVE``); the core's own users
        read the settings at each use. The others wait for a restart."""
        settings = self.core.settings
        self.idle.configure(settings.idle_timeout_s * 1000, settings.idle_countdown_s)
        self.top_bar.set_site(settings.site_name, settings.checkpoint_id)
        if settings.sound != self._sound:
            self._sound = settings.sound
            self.speaker = self._speaker_for(settings.sound)
        if settings.language != self.language:
            self.set_language(settings.language)

    def _speaker_for(self, sound: bool) -> Speaker:
        if not sound:
            return SilentSpeaker()
        if not isinstance(self._speaker_at_start, SilentSpeaker):
            return self._speaker_at_start
        speaker = SystemSpeaker()
        run_op(self, speaker.prepare, lane=Lane.IO, on_success=lambda _: None)  # writes its sound files
        return speaker

    # --- status driven from outside -------------------------------------------------------------------

    def set_network_status(self, online: bool) -> None:
        self.top_bar.set_network_status(online)

    # --- inspections -----------------------------------------------------------------------------------

    def _on_camera_inspection(self, inspection: Inspection, timing: ScanTiming) -> None:
        self.idle.poke()  # a scanned code is activity: someone is at the kiosk
        if self.stack.currentWidget() is self.attract:
            self._show(self.checkpoint_screen)  # the code answers the attract screen's "show your code"
        self.checkpoint_screen.show_inspection(inspection)
        self._after_inspection(inspection, timing)

    def _inspect_manual(self, id_number: str) -> None:
        checkpoint = self.core.checkpoint
        run_op(
            self,
            lambda: checkpoint.inspect(id_number, source="manual"),
            lane=Lane.STORE,
            on_success=self._on_manual_inspection,
            on_failure=self._on_manual_failure,
        )

    def _on_card_tapped(self, card: ChipCard) -> None:
        if self._chip_checking and self.check_screen is not None:
            self.idle.poke()
            self.check_screen.take_id_number(card.identity.fields.get("id_number", ""))
            return
        if not self._chip_tapping:
            return  # a form's ID step took the card
        self.idle.poke()
        checkpoint, settings = self.core.checkpoint, self.core.settings
        max_age = timedelta(days=settings.trust_max_age_days)
        bundle_dir = settings.data_dir / "bundle"
        run_op(
            self,
            lambda: checkpoint.inspect_card(card.identity, load_health_list(bundle_dir), max_age),
            lane=Lane.STORE,
            on_success=self._on_card_inspection,
            on_failure=self._on_manual_failure,
        )

    def _on_card_inspection(self, inspection: Inspection) -> None:
        if self.stack.currentWidget() is self.attract:
            self._show(self.checkpoint_screen)
        self.checkpoint_screen.show_inspection(inspection)
        self._after_inspection(inspection, None)

    def _on_manual_inspection(self, inspection: Inspection) -> None:
        self.manual_screen.show_inspection(inspection)
        self._after_inspection(inspection, None)

    def _on_manual_failure(self, error: Exception) -> None:
        log.error("recording a manual inspection failed", exc_info=error)
        self.manual_screen.show_failure()

    def _after_inspection(self, inspection: Inspection, timing: ScanTiming | None) -> None:
        self.verdict_shown.emit(timing, time.perf_counter())
        self._inspections_shown += 1
        self.counters_bar.set_counters(inspection.counters)
        verdict = inspection.result.verdict.value
        self.speaker.play(verdict)
        # Spoken once the tone is over; a newer verdict cuts the previous one short.
        tone_s = cue_seconds(verdict) if self.core.settings.sound else 0.0
        self.voice.say(f"verdict.{verdict}", self.language, delay_s=tone_s)
        if self.stack.currentWidget() is self.stats_screen:
            self.stats_screen.refresh()
        self._queued()

    def _after_submission(self, _submission: object, _shown_at: float) -> None:
        self._queued()

    def _queued(self) -> None:
        """Something was queued for upload: count it in the top bar and have the sync deliver it soon."""
        run_op(self, self.core.outbox.pending_count, lane=Lane.STORE, on_success=self.top_bar.set_pending)
        self.sync.wake()

    def _load_figures(self) -> None:
        checkpoint, outbox = self.core.checkpoint, self.core.outbox
        asked_after = self._inspections_shown
        run_op(
            self,
            lambda: (checkpoint.counters(), outbox.pending_count()),
            lane=Lane.STORE,
            on_success=lambda figures: self._on_figures(figures, asked_after),
        )

    def _on_figures(self, figures: tuple[Counters, int], asked_after: int) -> None:
        counters, pending = figures
        # An inspection shown meanwhile brought fresher counters than this read: keep those.
        if asked_after == self._inspections_shown:
            self.counters_bar.set_counters(counters)
            self.top_bar.set_pending(pending)

    def _load_stats(self, deliver: Callable[[DayStats], None]) -> None:
        checkpoint = self.core.checkpoint
        run_op(
            self,
            lambda: day_stats(checkpoint.store, checkpoint.checkpoint_id, checkpoint.clock().date()),
            lane=Lane.STORE,
            on_success=deliver,
        )

    def _load_ocr_models(self) -> None:
        """Start loading the ID-card OCR models in the background: nothing waits for them until a capture."""
        models = self.ocr_models
        if self._ocr_loader_factory is None:
            log.info("no OCR engine for this kiosk: ID cards are typed in")
            models.set_unavailable()
            return

        def failed(error: Exception) -> None:
            log.error("no OCR engine, ID cards cannot be read: %s", error)
            models.set_unavailable()

        # The factory imports numpy and the engine: on a worker, so the GUI thread stays responsive.
        run_op(self, self._ocr_loader_factory, lane=Lane.IO, on_success=models.set_loader, on_failure=failed)

    # --- idle ------------------------------------------------------------------------------------------

    def _on_idle_countdown(self, seconds: int) -> None:
        current = self.stack.currentWidget()
        if current in (self.home, self.attract, self.stats_screen):
            # Nothing personal on these screens: no need to interrupt anyone with a countdown.
            self.clear_personal_data()
            self.idle.poke()
            if current is self.home:
                self.show_attract()
            return
        if not self.idle_overlay.isVisible():
            self.voice.say("voice.idle_countdown", self.language)
        self.idle_overlay.show_countdown(seconds, self.language)

    def _on_idle_expired(self) -> None:
        self.idle_overlay.hide()
        self.clear_personal_data()
        self.show_attract()

    def clear_personal_data(self) -> None:
        for screen in self.screens:
            screen.clear_personal_data()

    # --- window ----------------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.idle_overlay.isVisible():
            self.idle_overlay.setGeometry(self._central.rect())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the camera and decode threads and let background tasks finish; safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        app = QApplication.instance()
        if app is not None:
            self.idle.uninstall(app)
        self.health.stop()
        self.chip.stop_polling()
        self.camera_watchdog.stop()
        self.receipt_scanner.stop()
        self.pipeline.stop()
        self.voice.close()
        # Its passes write to the store, which the caller closes next.
        self.sync.stop()
        # Operations deliver to this window: it must outlive them.
        wait_for_done(5000)
        self.chip.monitor.close()  # after the lanes: no poll is using the port any more


def _self_service(
    window: MainWindow, core: KioskCore, printer: Printer | None, slots: SlotSource | None
) -> SelfService:
    """The self-service part, with the printer and slot source ``ui.app.build_main_window`` chose."""
    if printer is None or slots is None:
        raise ValueError("a self-service window needs its receipt printer and slot source")
    return SelfService(
        window, core, printer, slots, core.settings.language, id_step_factory=window.make_id_capture_step
    )

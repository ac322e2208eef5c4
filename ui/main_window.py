"""The main window: top bar, today's counters, and a stack of screens; it wires them to the core.

Everything the window needs is passed in (core, scan pipeline, speaker), so tests, screenshots and the
benchmark build the same window with fakes where the hardware would be.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from devices.printer import Printer
from devices.speaker import Speaker
from kiosk.checkpoint import Counters, Inspection
from kiosk.core import KioskCore
from kiosk.forms.slots import SlotSource
from kiosk.i18n import LANGUAGES, translate
from ui.background_sync import BackgroundSync
from ui.card_capture import OcrModels
from ui.idle import IdleWatcher
from ui.scan_pipeline import ScanPipeline, ScanTiming
from ui.screens.checkpoint import CheckpointScreen
from ui.screens.home import HomeScreen
from ui.screens.id_capture import CameraIdCapture
from ui.screens.manual_entry import ManualEntryScreen
from ui.self_service import SelfService
from ui.widgets.counters_bar import CountersBar
from ui.widgets.idle_overlay import IdleOverlay
from ui.widgets.top_bar import TopBar
from ui.workers import run_in_background

if TYPE_CHECKING:
    from devices.ocr import BackgroundLoader

log = logging.getLogger(__name__)


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
    ) -> None:
        super().__init__()
        settings = core.settings
        self.core = core
        self.pipeline = pipeline
        self.speaker = speaker
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
        # Self-service forms (and their definitions, printer, slots) only on a self-service kiosk.
        self.self_service: SelfService | None = None
        if settings.mode == "self-service":
            self.self_service = _self_service(self, core, printer, slots)
        services = [(d.id, d.title) for d in self.self_service.services()] if self.self_service else []
        self.home = HomeScreen(self.language, self_service=settings.mode == "self-service", services=services)
        self.checkpoint_screen = CheckpointScreen(self.language, hold_ms)
        self.manual_screen = ManualEntryScreen(self.language, hold_ms)
        self.stack = QStackedWidget()
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
        self.idle_overlay = IdleOverlay(central)
        self.idle = IdleWatcher(settings.idle_timeout_s * 1000, settings.idle_countdown_s, self)

        self.top_bar.home_requested.connect(self.show_home)
        self.top_bar.language_toggled.connect(self.toggle_language)
        self.top_bar.date_changed.connect(self._load_figures)
        self.home.scan_requested.connect(self.show_checkpoint)
        self.home.manual_requested.connect(self.show_manual_entry)
        self.home.service_requested.connect(self.show_service)
        if self.self_service is not None:
            self.self_service.home_requested.connect(self.show_home)
            self.self_service.printer_state.connect(self.top_bar.set_printer_status)
        self.manual_screen.submitted.connect(self._inspect_manual)
        pipeline.frame_ready.connect(self.checkpoint_screen.set_frame)
        pipeline.camera_status.connect(self.top_bar.set_camera_status)
        pipeline.inspected.connect(self._on_camera_inspection)
        self.idle.countdown.connect(self._on_idle_countdown)
        self.idle.cancelled.connect(self.idle_overlay.hide)
        self.idle.expired.connect(self._on_idle_expired)
        # Uploads to the central server, when one is configured and this kiosk is enrolled.
        self.sync = BackgroundSync(core, self)
        self.sync.online_changed.connect(self.set_network_status)
        self.sync.pending_changed.connect(self.top_bar.set_pending)

        self.top_bar.set_network_status(False)
        self.retranslate()
        self.show_home()

    @property
    def screens(self) -> tuple[QWidget, ...]:
        forms = (self.self_service.screen,) if self.self_service else ()
        return (self.home, self.checkpoint_screen, self.manual_screen, *forms)

    def start(self) -> None:
        """Start what may be slow (camera, decoder, store reads) once the window is on screen."""
        self.pipeline.start()
        self.idle.install(QApplication.instance())
        self._load_figures()
        self.sync.start()
        self._load_ocr_models()
        if self.self_service is not None:
            self.self_service.check_printer()

    # --- navigation ----------------------------------------------------------------------------------

    def show_home(self) -> None:
        self._show(self.home)

    def show_checkpoint(self) -> None:
        self._show(self.checkpoint_screen)

    def show_manual_entry(self) -> None:
        self._show(self.manual_screen)
        self.manual_screen.setFocus()

    def make_id_capture_step(self, language: str) -> CameraIdCapture:
        """A service form's ID step (the forms' ``id_step_factory``): the camera first, typing at hand."""
        return CameraIdCapture(language, self.pipeline, self.ocr_models)

    def show_service(self, service_id: str) -> None:
        if self.self_service is not None and self.self_service.open(service_id):
            self._show(self.self_service.screen)

    def _show(self, screen: QWidget) -> None:
        self.stack.setCurrentWidget(screen)
        self.top_bar.set_home_visible(screen is not self.home)
        self.pipeline.set_scanning(screen is self.checkpoint_screen)

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

    # --- status driven from outside -------------------------------------------------------------------

    def set_network_status(self, online: bool) -> None:
        self.top_bar.set_network_status(online)

    # --- inspections -----------------------------------------------------------------------------------

    def _on_camera_inspection(self, inspection: Inspection, timing: ScanTiming) -> None:
        self.idle.poke()  # a scanned code is activity: someone is at the kiosk
        self.checkpoint_screen.show_inspection(inspection)
        self._after_inspection(inspection, timing)

    def _inspect_manual(self, id_number: str) -> None:
        checkpoint = self.core.checkpoint
        run_in_background(
            self,
            lambda: checkpoint.inspect(id_number, source="manual"),
            on_success=self._on_manual_inspection,
            on_failure=self._on_manual_failure,
        )

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
        self.speaker.play(inspection.result.verdict.value)
        run_in_background(self, self.core.checkpoint.pending_upload, on_success=self.top_bar.set_pending)
        self.sync.wake()

    def _load_figures(self) -> None:
        checkpoint = self.core.checkpoint
        asked_after = self._inspections_shown
        run_in_background(
            self,
            lambda: (checkpoint.counters(), checkpoint.pending_upload()),
            on_success=lambda figures: self._on_figures(figures, asked_after),
        )

    def _on_figures(self, figures: tuple[Counters, int], asked_after: int) -> None:
        counters, pending = figures
        # An inspection shown meanwhile brought fresher counters than this read: keep those.
        if asked_after == self._inspections_shown:
            self.counters_bar.set_counters(counters)
            self.top_bar.set_pending(pending)

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
        run_in_background(self, self._ocr_loader_factory, on_success=models.set_loader, on_failure=failed)

    # --- idle ------------------------------------------------------------------------------------------

    def _on_idle_countdown(self, seconds: int) -> None:
        if self.stack.currentWidget() is self.home:
            # Nothing personal is on the home screen: no need to interrupt anyone with a countdown.
            self.clear_personal_data()
            self.idle.poke()
            return
        self.idle_overlay.show_countdown(seconds, self.language)

    def _on_idle_expired(self) -> None:
        self.idle_overlay.hide()
        self.clear_personal_data()
        self.show_home()

    def clear_personal_data(self) -> None:
        for screen in self.screens:
            screen.clear_personal_data()

    # --- window ----------------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.idle_overlay.isVisible():
            self.idle_overlay.setGeometry(self.centralWidget().rect())

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
        self.pipeline.stop()
        # Its passes write to the store, which the caller closes next.
        self.sync.stop()
        # Background tasks deliver to this window: it must outlive them.
        QThreadPool.globalInstance().waitForDone(5000)


def _self_service(
    window: MainWindow, core: KioskCore, printer: Printer | None, slots: SlotSource | None
) -> SelfService:
    """The self-service part with the configured printer and slot source unless given (tests give fakes)."""
    from devices.printer import printer_from_spec
    from kiosk.forms.slots import slot_source_for

    settings = core.settings
    if printer is None:
        printer = printer_from_spec(
            settings.printer, settings.data_dir, settings.receipt_paper, settings.escpos_mode
        )
    slots = slots or slot_source_for(settings.secrets_dir)
    return SelfService(
        window, core, printer, slots, settings.language, id_step_factory=window.make_id_capture_step
    )

"""The main window: top bar, today's counters, and a stack of screens; it wires them to the core.

Everything the window needs is passed in (core, scan pipeline, speaker), so tests, screenshots and the
benchmark build the same window with fakes where the hardware would be.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from devices.speaker import Speaker
from kiosk.checkpoint import Counters, Inspection
from kiosk.core import KioskCore
from kiosk.i18n import LANGUAGES, translate
from ui.idle import IdleWatcher
from ui.scan_pipeline import ScanPipeline, ScanTiming
from ui.screens.checkpoint import CheckpointScreen
from ui.screens.home import HomeScreen
from ui.screens.manual_entry import ManualEntryScreen
from ui.widgets.counters_bar import CountersBar
from ui.widgets.idle_overlay import IdleOverlay
from ui.widgets.top_bar import TopBar
from ui.workers import run_in_background

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    # The timing of a camera inspection (None for a manual one) and the perf_counter() reading when its
    # verdict panel was filled on the GUI thread: what the latency benchmark measures.
    verdict_shown = Signal(object, float)

    def __init__(self, core: KioskCore, pipeline: ScanPipeline, speaker: Speaker) -> None:
        super().__init__()
        settings = core.settings
        self.core = core
        self.pipeline = pipeline
        self.speaker = speaker
        self.language = settings.language
        self._inspections_shown = 0
        self._shut_down = False
        hold_ms = round(settings.verdict_hold_s * 1000)

        self.top_bar = TopBar(settings.site_name, settings.checkpoint_id, self.language)
        self.counters_bar = CountersBar(self.language)
        self.home = HomeScreen(self.language, self_service=settings.mode == "self-service")
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
        self.manual_screen.submitted.connect(self._inspect_manual)
        pipeline.frame_ready.connect(self.checkpoint_screen.set_frame)
        pipeline.camera_status.connect(self.top_bar.set_camera_status)
        pipeline.inspected.connect(self._on_camera_inspection)
        self.idle.countdown.connect(self._on_idle_countdown)
        self.idle.cancelled.connect(self.idle_overlay.hide)
        self.idle.expired.connect(self._on_idle_expired)

        self.top_bar.set_network_status(False)
        self.retranslate()
        self.show_home()

    @property
    def screens(self) -> tuple[QWidget, ...]:
        return (self.home, self.checkpoint_screen, self.manual_screen)

    def start(self) -> None:
        """Start what may be slow (camera, decoder, store reads) once the window is on screen."""
        self.pipeline.start()
        self.idle.install(QApplication.instance())
        self._load_figures()

    # --- navigation ----------------------------------------------------------------------------------

    def show_home(self) -> None:
        self._show(self.home)

    def show_checkpoint(self) -> None:
        self._show(self.checkpoint_screen)

    def show_manual_entry(self) -> None:
        self._show(self.manual_screen)
        self.manual_screen.setFocus()

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
        # Background tasks deliver to this window: it must outlive them.
        QThreadPool.globalInstance().waitForDone(5000)

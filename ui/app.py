"""Application start-up: fonts, theme, the window, and the event loop.

Start-up is kept short: OpenCV and the QR decoder are imported by the scan threads, and the camera is opened
only once the home screen is on screen.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from devices.speaker import Speaker, SystemSpeaker, create_speaker
from devices.voice import Voice, create_voice
from kiosk.config import Settings
from kiosk.core import KioskCore, open_core
from kiosk.paths import ASSETS_DIR, FONT_PATH
from ui.main_window import MainWindow
from ui.operations import Lane, run_op
from ui.scan_pipeline import ScanPipeline
from ui.single_instance import InstanceLock
from ui.watchdog import SystemdNotifier
from ui.widgets.touch_screen import show_full_screen, touch_screen_for

if TYPE_CHECKING:
    from devices.camera import Camera
    from devices.ocr import BackgroundLoader
    from devices.printer import Printer
    from kiosk.forms.slots import SlotSource
    from kiosk.scanning import Decoder

log = logging.getLogger(__name__)

THEME_PATH = ASSETS_DIR / "theme" / "kiosk.qss"
WINDOW_SIZE = (1280, 800)
# The exit status of a restart asked for in admin mode (settings that need one). The service unit restarts
# the kiosk on any exit (Restart=always); this status (EX_TEMPFAIL) tells the journal it was on purpose.
RESTART_EXIT_CODE = 75
# Families Qt may pick for Latin text; each falls back to the shipped CJK font for Chinese.
_LATIN_FAMILIES = ("Noto Sans", "DejaVu Sans", "Liberation Sans")
_IMPORTED_AT = time.monotonic()


def process_age_ms() -> float:
    """Milliseconds since this process started (Linux /proc; elsewhere since this module was imported)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            # Field 22 is the start time in clock ticks after boot; the command name may hold spaces.
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime_s = float(fh.read().split()[0])
        return (uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000
    except (OSError, ValueError, IndexError):
        return (time.monotonic() - _IMPORTED_AT) * 1000


def apply_look(app: QApplication) -> None:
    """Load the shipped CJK font (so Chinese renders on a machine without CJK fonts) and the theme."""
    font_id = QFontDatabase.addApplicationFont(str(FONT_PATH))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        log.error("could not load the CJK font %s; Chinese text may not render", FONT_PATH.name)
    cjk = families[:1]
    installed = set(QFontDatabase.families())
    font = QFont()
    font.setFamilies([f for f in _LATIN_FAMILIES if f in installed][:1] + cjk)
    font.setPixelSize(22)
    app.setFont(font)
    for generic in ("Sans Serif", "sans-serif", "Helvetica", "Arial"):
        QFont.insertSubstitutions(generic, cjk)
    try:
        app.setStyleSheet(THEME_PATH.read_text(encoding="utf-8"))
    except OSError as err:
        log.error("theme %s not loaded: %s", THEME_PATH.name, err)


def create_application(argv: Sequence[str]) -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv))
    app.setApplicationName("kiosk")
    apply_look(app)
    return app


def make_camera(spec: str) -> Camera:
    """The camera for a settings spec; called on the camera thread, so OpenCV is imported there."""
    from devices.camera.factory import open_camera

    return open_camera(spec)


def make_decoder(name: str) -> Decoder:
    """The QR decoder; called on the decode thread, so zxing-cpp and OpenCV are imported there."""
    from devices.qr import get_decoder

    return get_decoder(name)


def make_ocr_loader() -> BackgroundLoader:
    """The configured OCR engine, already loading on its own thread; called on a worker thread."""
    from devices.ocr import BackgroundLoader, make_engine

    return BackgroundLoader(make_engine()).start()


def build_main_window(
    core: KioskCore,
    camera_factory: Callable[[], Camera],
    decoder_factory: Callable[[], Decoder],
    speaker: Speaker,
    *,
    camera_backoff_s: tuple[float, float] = (0.5, 5.0),
    ocr_loader_factory: Callable[[], BackgroundLoader] | None = None,
    printer: Printer | None = None,
    slots: SlotSource | None = None,
    voice: Voice | None = None,
) -> MainWindow:
    """The window with its scan pipeline; ``start()`` it once it is shown.

    ``camera_backoff_s`` is the first and the longest wait before reopening a failed camera;
    ``ocr_loader_factory`` (None: ID cards are typed in) gives the ID-card OCR models, loading;
    ``printer`` and ``slots`` replace the configured receipt printer and appointment slot source of a
    self-service kiosk;
    ``voice`` speaks the prompts (None: a silent one).
    """
    settings = core.settings
    if settings.mode == "self-service":
        from devices.printer import LockedPrinter, printer_from_spec
        from kiosk.forms.slots import slot_source_for

        if printer is None:
            printer = printer_from_spec(
                settings.printer, settings.data_dir, settings.receipt_paper, settings.escpos_mode
            )
        # Locked: the health monitor's printer polls must not open the device while a receipt prints.
        printer = LockedPrinter(printer)
        slots = slots or slot_source_for(settings.secrets_dir)
    first, longest = camera_backoff_s
    pipeline = ScanPipeline(
        camera_factory,
        decoder_factory,
        core.checkpoint,
        settings.verdict_hold_s,
        initial_backoff_s=first,
        max_backoff_s=longest,
    )
    window = MainWindow(core, pipeline, speaker, ocr_loader_factory, printer, slots, voice)
    pipeline.setParent(window)
    window.resize(*WINDOW_SIZE)
    return window


def _quit_on_signals(app: QApplication) -> None:
    """SIGTERM (a service manager) and Ctrl-C end the event loop, so shutdown closes camera and store."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: app.quit())
    # Python runs signal handlers only between bytecodes; this timer lets it in while Qt waits for events.
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(250)


def _report_restart(core: KioskCore, crashed_before: bool) -> None:
    """After a crash: what survived. Confirmed submissions and their outbox items are in the store (committed
    before the done page); half-filled forms are not, by design (they live only in memory, so a crash can
    never leave a stranger's half form for the next person). Receipts not printed are kept for reprint."""
    if not crashed_before:
        return
    from printing.jobs import PrintQueue

    unprinted = PrintQueue(core.store).unprinted()
    log.warning(
        "restarted after a crash: %d queued for upload, %d receipt(s) kept for reprint %s",
        core.outbox.pending_count(),
        len(unprinted),
        unprinted[:20],
    )


def run_gui(settings: Settings) -> int:
    """The GUI until it is closed; raises :class:`AlreadyRunning` if a kiosk already runs on this data."""
    lock = InstanceLock(settings.data_dir)
    lock.acquire()
    app = create_application(sys.argv)
    core = open_core(settings)
    _report_restart(core, lock.crashed_before)
    speaker = create_speaker(settings.sound)
    window = build_main_window(
        core,
        camera_factory=lambda: make_camera(settings.camera),
        decoder_factory=lambda: make_decoder(settings.decoder),
        speaker=speaker,
        # Only self-service forms read ID cards; a checkpoint kiosk does not load the models at all.
        ocr_loader_factory=make_ocr_loader if settings.mode == "self-service" else None,
        voice=create_voice(settings.voice),
    )
    _quit_on_signals(app)
    if window.admin is not None:
        window.admin.restart_requested.connect(lambda: app.exit(RESTART_EXIT_CODE))

    notifier = SystemdNotifier(window)

    def on_shown() -> None:
        log.info("home screen shown after %.0f ms", process_age_ms())
        window.start()
        notifier.ready()
        if isinstance(speaker, SystemSpeaker):
            run_op(window, speaker.prepare, lane=Lane.IO, on_success=lambda _: None)

    # A touch screen is the kiosk's own panel: the window fills it even without --fullscreen.
    if settings.fullscreen or touch_screen_for(window.screen()):
        show_full_screen(window)
    else:
        window.show()
    QTimer.singleShot(0, on_shown)
    try:
        return app.exec()
    finally:
        notifier.stopping()
        window.shutdown()
        core.close()
        lock.release()

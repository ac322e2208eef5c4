"""Device health: a monitor that gathers it (disk and store on a worker, on a timer; devices from their
signals) for the health page, the top bar's problem icons and the heartbeat, and the page that shows it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from devices.id_reader import ReaderMonitor
from devices.printer import Printer
from kiosk import __version__
from kiosk.admin.health import HealthReport, Problem, SystemHealth, heartbeat_health, problems, system_health
from kiosk.core import KioskCore
from kiosk.i18n import translate
from ui.card_capture import OcrModels
from ui.operations import Lane, run_op
from ui.scan_pipeline import FrameMailbox, ScanPipeline
from ui.widgets.style import set_style_state
from ui.widgets.touch_scroll import make_touch_scrollable

if TYPE_CHECKING:
    import numpy as np

    from kiosk.sync import SyncStatus
    from ui.background_sync import BackgroundSync

log = logging.getLogger(__name__)

REFRESH_MS = 15_000


class FrameMeter(FrameMailbox):
    """A frame tap that keeps no frame: it counts them and notes the size and time of the last one."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.count = 0
        self.size: tuple[int, int] | None = None
        self.last_at: float | None = None

    def put(self, frame: np.ndarray, captured_at: float) -> None:
        with self._lock:
            self.count += 1
            self.size = (int(frame.shape[1]), int(frame.shape[0]))
            self.last_at = time.monotonic()

    def read(self) -> tuple[int, tuple[int, int] | None, float | None]:
        with self._lock:
            return self.count, self.size, self.last_at


class HealthMonitor(QObject):
    """``updated(HealthReport, list[Problem])`` after every refresh or device change, on the GUI thread;
    ``problems_changed(list[Problem])`` when the list changes. :meth:`heartbeat` may be called from any
    thread (the sync loop's)."""

    updated = Signal(object, object)
    problems_changed = Signal(object)

    def __init__(
        self,
        core: KioskCore,
        pipeline: ScanPipeline,
        ocr_models: OcrModels,
        printer: Printer | None,
        parent: QObject,
        refresh_ms: int = REFRESH_MS,
        ocr_expected: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        id_reader: ReaderMonitor | None = None,
    ) -> None:
        super().__init__(parent)
        # Read at each refresh: its few fields are written whole by the polling thread.
        self.id_reader = id_reader
        self.core = core
        self.pipeline = pipeline
        self.ocr_models = ocr_models
        self.printer = printer
        # False where the kiosk was started with no OCR engine at all (ID numbers typed in): not a fault.
        self.ocr_expected = ocr_expected
        self.clock = clock
        self._meter = FrameMeter()
        self._camera = pipeline.camera_state
        self._printer_state: str | None = None
        self._system: SystemHealth | None = None
        self._last_sync_at: datetime | None = None
        self._started_at = clock()
        self._fps: float | None = None
        self._counted: tuple[int, float] | None = None
        self._busy = False
        self._again = False  # asked for while one was running: run once more when it ends
        self._stopped = False
        self.report = HealthReport(__version__)
        self.problems: list[Problem] = []
        # Replaced whole, never mutated: the sync thread reads it without a lock.
        self._heartbeat: dict[str, Any] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(refresh_ms)
        self._timer.timeout.connect(self.refresh)
        pipeline.camera_status.connect(self._on_camera)
        ocr_models.changed.connect(self._compose)

    def start(self) -> None:
        self.pipeline.add_frame_tap(self._meter)
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._stopped = True
        self._timer.stop()
        self.pipeline.remove_frame_tap(self._meter)

    def watch_sync(self, sync: BackgroundSync) -> None:
        sync.status_changed.connect(self._on_sync)

    def heartbeat(self) -> dict[str, Any]:
        return self._heartbeat

    def set_printer_state(self, state: str) -> None:
        """A state the printer reported while printing (no need to wait for the next poll)."""
        self._printer_state = state
        self._compose()

    def refresh(self) -> None:
        """Read disk, store and printer on a worker; one at a time (a request meanwhile runs after it)."""
        if self._stopped:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        settings, store, printer = self.core.settings, self.core.store, self.printer

        def read() -> tuple[SystemHealth, str | None]:
            return system_health(settings, store), printer.status().value if printer else None

        run_op(self, read, lane=Lane.STORE, on_success=self._on_read, on_failure=self._on_read_failed)

    def _on_read(self, result: tuple[SystemHealth, str | None]) -> None:
        self._busy = False
        self._system, printer_state = result
        if printer_state is not None:
            self._printer_state = printer_state
        count, _, _ = self._meter.read()
        now = time.monotonic()
        if self._counted is not None and now > self._counted[1]:
            self._fps = (count - self._counted[0]) / (now - self._counted[1])
        self._counted = (count, now)
        self._compose()
        self._after_refresh()

    def _after_refresh(self) -> None:
        if self._again:
            self._again = False
            self.refresh()

    def _on_read_failed(self, error: Exception) -> None:
        self._busy = False
        log.error("health check failed", exc_info=error)
        self._after_refresh()

    def _on_camera(self, state: str, reason: str) -> None:
        self._camera = (state, reason)
        self._compose()

    def _on_sync(self, status: SyncStatus) -> None:
        if status.last_success_at is not None:
            self._last_sync_at = status.last_success_at
        self._compose()

    def _ocr(self) -> tuple[str, float | None]:
        models = self.ocr_models
        if models.loader is not None:
            loader = models.loader
            if loader.error is not None:
                return "failed", None
            return ("ready", loader.load_seconds) if loader.ready else ("loading", None)
        if self.core.settings.mode != "self-service" or not self.ocr_expected:
            return "not_used", None
        return ("failed" if models.unavailable else "loading"), None

    def _compose(self) -> None:
        if self._stopped:
            return
        settings = self.core.settings
        _, size, last_at = self._meter.read()
        state, reason = self._camera
        ocr_state, ocr_s = self._ocr()
        reader = self.id_reader
        self.report = HealthReport(
            version=__version__,
            system=self._system,
            camera_state=state,
            camera_reason=reason,
            camera_fps=self._fps if state == "ok" else None,
            camera_size=size,
            last_frame_age_s=None if last_at is None else time.monotonic() - last_at,
            decoder=settings.decoder,
            decoder_failed=state == "failed" and reason.startswith("decoder:"),
            ocr_state=ocr_state,
            ocr_load_s=ocr_s,
            printer_state=self._printer_state if self.printer is not None else None,
            id_reader_state=reader.state if reader is not None else "none",
            id_reader_last_read=reader.last_read_at if reader is not None else None,
            id_reader_errors=reader.errors if reader is not None else 0,
            central_configured=bool(settings.central_url),
            last_sync_at=self._last_sync_at,
            running_since=self._started_at,
        )
        found = problems(self.report, settings, self.clock())
        self._heartbeat = heartbeat_health(self.report, found)
        if found != self.problems:
            self.problems = found
            self.problems_changed.emit(found)
        self.updated.emit(self.report, found)


# --- the page -------------------------------------------------------------------------------------------

_ROWS = (
    "camera",
    "camera_detail",
    "decoder",
    "ocr",
    "id_reader",
    "printer",
    "disk",
    "database",
    "outbox",
    "oldest",
    "sync",
    "trust",
    "version",
)


def _size(n: int) -> str:
    if n < 1024**2:
        return f"{n / 1024:,.0f} KB"
    return f"{n / 1024**2:,.0f} MB" if n < 10 * 1024**3 else f"{n / 1024**3:,.1f} GB"


def _ago(moment: datetime | None, now: datetime, language: str) -> str:
    if moment is None:
        return translate("admin.health.never", language)
    seconds = max(0, int((now - moment).total_seconds()))
    local = moment.astimezone().strftime("%m-%d %H:%M")
    if seconds < 120:
        return translate("admin.health.ago_s", language, t=local, n=seconds)
    if seconds < 7200:
        return translate("admin.health.ago_min", language, t=local, n=seconds // 60)
    if seconds < 2 * 86400:
        return translate("admin.health.ago_h", language, t=local, n=seconds // 3600)
    return translate("admin.health.ago_d", language, t=local, n=seconds // 86400)


class HealthPage(QWidget):
    refresh_requested = Signal()

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("adminHealthPage")
        self.language = language
        self.report: HealthReport | None = None
        self.problems: list[Problem] = []
        self.captions: dict[str, QLabel] = {}
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(6)
        for row, key in enumerate(_ROWS):
            caption = QLabel()
            caption.setObjectName("healthCaption")
            value = QLabel()
            value.setObjectName("healthValue")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            grid.addWidget(caption, row, 0)
            grid.addWidget(value, row, 1)
            self.captions[key], self.values[key] = caption, value
        grid.setColumnStretch(1, 1)
        self.refresh_button = QPushButton()
        self.refresh_button.setObjectName("secondaryButton")
        self.refresh_button.clicked.connect(self.refresh_requested)
        # Twelve rows do not fit under the admin tabs on a 600 px high screen: they scroll there.
        rows = QWidget()
        rows.setObjectName("healthRows")
        rows_layout = QVBoxLayout(rows)
        rows_layout.setContentsMargins(0, 0, 0, 0)
        rows_layout.addLayout(grid)
        rows_layout.addStretch(1)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("healthScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(rows)
        make_touch_scrollable(self.scroll_area)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 16, 32, 16)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignRight)
        self.retranslate(language)

    def show_report(self, report: HealthReport, found: list[Problem]) -> None:
        self.report, self.problems = report, list(found)
        self._fill()

    def value_text(self, key: str) -> str:
        return self.values[key].text()

    def state_of(self, key: str) -> str:
        return str(self.values[key].property("state") or "")

    def retranslate(self, language: str) -> None:
        self.language = language
        for key, label in self.captions.items():
            label.setText(translate(f"admin.health.{key}", language))
        self.refresh_button.setText(translate("admin.health.refresh", language))
        self._fill()

    def clear_personal_data(self) -> None:
        """Nothing personal is shown here."""

    def _set(self, key: str, text: str, state: str = "ok") -> None:
        self.values[key].setText(text)
        set_style_state(self.values[key], "state", state)

    def _fill(self) -> None:
        report, lang = self.report, self.language
        if report is None:
            for key in _ROWS:
                self._set(key, "…", "")
            return
        now = datetime.now(UTC)
        bad = set(self.problems)
        camera_text = translate(f"camera.{report.camera_state}", lang)
        if report.camera_reason:
            camera_text += f" — {report.camera_reason}"
        self._set("camera", camera_text, "bad" if Problem.CAMERA in bad else "ok")
        if report.camera_size is None or report.last_frame_age_s is None:
            self._set("camera_detail", translate("admin.health.no_frames", lang))
        else:
            size = f"{report.camera_size[0]}×{report.camera_size[1]}"
            fps = f"{report.camera_fps:.1f}" if report.camera_fps is not None else "—"
            age = f"{report.last_frame_age_s:.1f}"
            detail = translate("admin.health.camera_detail_value", lang, size=size, fps=fps, s=age)
            self._set("camera_detail", detail)
        self._set(
            "decoder",
            translate(
                "admin.health.decoder_failed" if report.decoder_failed else "admin.health.decoder_ok", lang
            )
            + f" ({report.decoder})",
            "bad" if report.decoder_failed else "ok",
        )
        ocr = translate(f"admin.health.ocr_{report.ocr_state}", lang)
        if report.ocr_load_s is not None:
            ocr += " — " + translate("admin.health.ocr_warmup", lang, s=f"{report.ocr_load_s:.1f}")
        self._set("ocr", ocr, "bad" if Problem.OCR in bad else "ok")
        read_at = report.id_reader_last_read
        reader_text = translate(
            "admin.health.id_reader_detail",
            lang,
            state=translate(f"admin.health.id_reader_{report.id_reader_state}", lang),
            last=_ago(None if read_at is None else datetime.fromtimestamp(read_at, UTC), now, lang),
            errors=report.id_reader_errors,
        )
        self._set("id_reader", reader_text, "bad" if Problem.ID_READER in bad else "ok")
        if report.printer_state is None:
            self._set("printer", translate("admin.health.no_printer", lang))
        else:
            self._set(
                "printer",
                translate(f"printer.{report.printer_state}", lang),
                "bad" if Problem.PRINTER in bad else "ok",
            )
        system = report.system
        if system is None:
            for key in ("disk", "database", "outbox", "oldest", "trust"):
                self._set(key, "…", "")
        else:
            self._set(
                "disk",
                translate(
                    "admin.health.disk_value",
                    lang,
                    free=_size(system.disk_free),
                    total=_size(system.disk_total),
                ),
                "bad" if Problem.DISK_LOW in bad else "ok",
            )
            if system.store_incidents:
                # The latest thing that happened to the store, with where the damaged file was kept.
                text = translate("admin.health.database_incident", lang, size=_size(system.db_bytes))
                self._set("database", f"{text}\n{system.store_incidents[0]}", "warn")
            else:
                self._set("database", _size(system.db_bytes))
            self._set(
                "outbox",
                translate("admin.health.outbox_value", lang, pending=system.pending, held=system.quarantined),
                "warn" if Problem.QUARANTINE in bad else "ok",
            )
            self._set("oldest", _ago(system.oldest_pending_at, now, lang) if system.pending else "—")
            self._set(
                "trust",
                _ago(system.trust_refreshed_at, now, lang),
                "warn" if Problem.TRUST_STALE in bad else "ok",
            )
        if report.central_configured:
            self._set(
                "sync", _ago(report.last_sync_at, now, lang), "warn" if Problem.SYNC_STALE in bad else "ok"
            )
        else:
            self._set("sync", translate("admin.health.no_central", lang))
        self._set("version", report.version)

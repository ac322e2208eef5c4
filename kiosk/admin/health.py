"""The health snapshot shared by the admin health page, the top bar's icons and the heartbeat."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from kiosk.config import Settings
from kiosk.outbox import Outbox
from kiosk.store import Store

DISK_LOW_BYTES = 500 * 1024 * 1024
SYNC_STALE_AFTER = timedelta(minutes=30)


class Problem(StrEnum):
    """What the top bar shows an icon for and the heartbeat lists, in this order."""

    CAMERA = "camera"
    DECODER = "decoder"
    OCR = "ocr"
    ID_READER = "id_reader"  # a configured ID-card reader that is not answering
    PRINTER = "printer"
    DISK_LOW = "disk_low"
    STORE = "store_damaged"  # the store was damaged or vanished and was recovered or replaced lately
    SYNC_STALE = "sync_stale"
    TRUST_STALE = "trust_stale"
    QUARANTINE = "outbox_quarantine"


@dataclass(frozen=True)
class SystemHealth:
    """What is read from disk and the store (on a worker thread)."""

    disk_free: int
    disk_total: int
    db_bytes: int
    pending: int
    oldest_pending_at: datetime | None
    quarantined: int
    trust_refreshed_at: datetime | None
    # What happened to the store lately (kiosk.store.Store.recent_incidents), newest first.
    store_incidents: tuple[str, ...] = ()


def system_health(settings: Settings, store: Store) -> SystemHealth:
    from kiosk.codes.truststore import TrustStoreError, load_data_dir_store

    usage = shutil.disk_usage(settings.data_dir)
    db = settings.store_path
    db_bytes = sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    counts = Outbox(store).counts()
    try:
        refreshed = load_data_dir_store(settings.data_dir).refreshed_at
    except (OSError, TrustStoreError):
        refreshed = None
    return SystemHealth(
        usage.free,
        usage.total,
        db_bytes,
        counts.pending,
        datetime.fromisoformat(counts.oldest_pending_at) if counts.oldest_pending_at else None,
        counts.quarantined,
        refreshed,
        tuple(store.recent_incidents()),
    )


@dataclass(frozen=True)
class HealthReport:
    """Everything the health page shows; devices are None where the kiosk has none (or not yet known)."""

    version: str
    system: SystemHealth | None = None
    camera_state: str = "starting"
    camera_reason: str = ""
    camera_fps: float | None = None
    camera_size: tuple[int, int] | None = None
    last_frame_age_s: float | None = None
    decoder: str = "auto"
    decoder_failed: bool = False
    ocr_state: str = "not_used"  # not_used | loading | ready | failed
    ocr_load_s: float | None = None
    printer_state: str | None = None  # devices.printer.PrinterState value; None: no printer here
    # devices.id_reader.ReaderMonitor: state (none | ready | card_error | unplugged), last card read whole
    # (seconds since the epoch), failed reads since start.
    id_reader_state: str = "none"
    id_reader_last_read: float | None = None
    id_reader_errors: int = 0
    central_configured: bool = False
    last_sync_at: datetime | None = None
    running_since: datetime | None = None


def problems(report: HealthReport, settings: Settings, now: datetime) -> list[Problem]:
    found = []
    if report.camera_state in ("failed", "reconnecting") and not report.decoder_failed:
        found.append(Problem.CAMERA)
    if report.decoder_failed:
        found.append(Problem.DECODER)
    if report.ocr_state == "failed":
        found.append(Problem.OCR)
    if report.id_reader_state == "unplugged":
        found.append(Problem.ID_READER)
    if report.printer_state is not None and report.printer_state != "ready":
        found.append(Problem.PRINTER)
    system = report.system
    if system is not None and system.disk_free < DISK_LOW_BYTES:
        found.append(Problem.DISK_LOW)
    if system is not None and system.store_incidents:
        found.append(Problem.STORE)
    if report.central_configured:
        since = report.last_sync_at or report.running_since
        if since is not None and now - since > SYNC_STALE_AFTER:
            found.append(Problem.SYNC_STALE)
    if system is not None:
        refreshed = system.trust_refreshed_at
        # Never refreshed only matters for a kiosk meant to get its trust store from a central server.
        if (refreshed is None and report.central_configured) or (
            refreshed is not None and now - refreshed > timedelta(days=settings.trust_max_age_days)
        ):
            found.append(Problem.TRUST_STALE)
        if system.quarantined:
            found.append(Problem.QUARANTINE)
    return found


def heartbeat_health(report: HealthReport, found: Iterable[Problem]) -> dict[str, str | int | float | None]:
    """The heartbeat's ``health`` object: scalars only (the API takes no nesting), nothing personal.
    ``printer`` and ``trust_store_refreshed_at`` are what the managers' dashboard reads."""
    health: dict[str, str | int | float | None] = {
        "printer": report.printer_state or "none",
        "camera": report.camera_state,
        "ocr": report.ocr_state,
        "id_reader": report.id_reader_state,
        "id_reader_errors": report.id_reader_errors,
        "problems": ",".join(found),
    }
    system = report.system
    if system is not None:
        health["disk_free_mb"] = system.disk_free // (1024 * 1024)
        health["db_mb"] = round(system.db_bytes / (1024 * 1024), 1)
        health["oldest_pending_at"] = (
            system.oldest_pending_at.isoformat() if system.oldest_pending_at else None
        )
        if system.trust_refreshed_at is not None:
            health["trust_store_refreshed_at"] = system.trust_refreshed_at.isoformat()
        if system.store_incidents:
            health["store"] = system.store_incidents[0][:1000]  # the API's longest text value
    return health


def core_health(settings: Settings, store: Store) -> dict[str, str | int | float | None]:
    """The heartbeat health of a kiosk without its GUI (``kiosk sync``): what the disk and store say."""
    from kiosk import __version__

    report = HealthReport(
        __version__, system_health(settings, store), camera_state="not_running", printer_state=None
    )
    return heartbeat_health(report, problems(report, settings, datetime.now(UTC)))

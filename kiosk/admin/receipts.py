"""Receipts as admin mode sees them: the last print jobs to print again, and a test page for the printer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.config import Settings
from kiosk.store import Store


@dataclass(frozen=True)
class RecentReceipt:
    job_id: int
    number: str
    service_id: str
    created_at: str
    status: str


def recent_receipts(store: Store, limit: int = 5) -> list[RecentReceipt]:
    """The last ``limit`` print jobs, newest first: numbers and services only, nothing personal."""
    rows = store.query(
        "SELECT p.id, s.number, s.service_id, p.created_at, p.status FROM print_jobs p"
        " JOIN submissions s ON s.id = p.submission_id ORDER BY p.id DESC LIMIT ?",
        (limit,),
    )
    return [RecentReceipt(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def printer_check_receipt(settings: Settings, language: str, now: datetime) -> Any:
    """A receipt that proves the printer works: site, checkpoint, time; a QR with no meaning."""
    from kiosk.forms.receipts import ReceiptData
    from kiosk.i18n import translate

    stamp = now.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return ReceiptData(
        site_name=settings.site_name,
        title=translate("admin.test_print.title", language),
        number_label=translate("receipt.number", language),
        number=f"TEST-{settings.checkpoint_id}",
        time_label=translate("receipt.time", language),
        time=stamp,
        lines=[],
        qr_text=f"TEST {settings.checkpoint_id} {stamp}",
        validity_label=translate("receipt.validity", language),
        validity="—",
        instruction=translate("admin.test_print.note", language),
        language=language,
    )

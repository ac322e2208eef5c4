"""The print queue in the local store: a job per receipt, created with its submission, kept until printed.

A printer that fails leaves the job ``failed`` with the printer's state; it can be printed again (from the
done screen, or with ``kiosk receipt --reprint``), and a printed job can be reprinted for a lost receipt.
Printing runs on a worker thread; nothing here touches Qt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from devices.printer import Printer, PrinterError, PrinterState
from kiosk.forms.receipts import ReceiptData
from kiosk.store import Store

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class PrintJob:
    id: int
    submission_id: str
    status: str  # pending | printed | failed
    attempts: int
    last_error: str | None
    receipt: ReceiptData


@dataclass(frozen=True)
class PrintOutcome:
    job_id: int
    printed: bool
    state: PrinterState
    where: str = ""
    detail: str = ""


class PrintQueue:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, job_id: int) -> PrintJob:
        rows = self.store.query(
            "SELECT id, submission_id, status, attempts, last_error, receipt FROM print_jobs WHERE id = ?",
            (job_id,),
        )
        if not rows:
            raise KeyError(f"no print job {job_id}")
        r = rows[0]
        return PrintJob(
            r["id"],
            r["submission_id"],
            r["status"],
            r["attempts"],
            r["last_error"],
            ReceiptData.from_json(r["receipt"]),
        )

    def job_for(self, submission_id: str) -> int | None:
        """The print job of a submission (its latest), or None."""
        rows = self.store.query(
            "SELECT id FROM print_jobs WHERE submission_id = ? ORDER BY id DESC LIMIT 1", (submission_id,)
        )
        return int(rows[0]["id"]) if rows else None

    def unprinted(self) -> list[int]:
        rows = self.store.query("SELECT id FROM print_jobs WHERE status != 'printed' ORDER BY id")
        return [int(r["id"]) for r in rows]

    def print_job(self, job_id: int, printer: Printer) -> PrintOutcome:
        """Print (or reprint) a job. Printer trouble is not raised: it is in the outcome and the store."""
        job = self.get(job_id)
        try:
            where = printer.print_receipt(job.receipt)
        except PrinterError as err:
            log.warning("print job %d on %s failed: %s", job_id, printer.name, err)
            self._mark(job_id, "failed", str(err)[:500])
            return PrintOutcome(job_id, False, err.state, detail=err.detail)
        self._mark(job_id, "printed", None)
        return PrintOutcome(job_id, True, PrinterState.READY, where)

    def replace_receipt(self, job_id: int, receipt: ReceiptData) -> None:
        """The job's receipt with what became known before it was printed (a decision on the done page)."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE print_jobs SET receipt = ? WHERE id = ?", (receipt.to_json(), job_id))

    def mark_failed(self, job_id: int, error: str) -> None:
        """A job given up on from outside (the print watchdog): kept for a reprint, with the reason."""
        self._mark(job_id, "failed", error[:500])

    def _mark(self, job_id: int, status: str, error: str | None) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE print_jobs SET status = ?, attempts = attempts + 1, last_error = ?,"
                " printed_at = CASE WHEN ? = 'printed' THEN ? ELSE printed_at END WHERE id = ?",
                (status, error, status, _now(), job_id),
            )

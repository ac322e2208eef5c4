"""Checkpoint rules: evaluate a code, apply the duplicate window, record the inspection, count the day.

``inspect`` commits the inspection to the store before it returns, so whatever shows the verdict afterwards
shows something that is already on disk. It is called from the scanner's worker thread, not the GUI thread.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from kiosk.codes.registry import CodeRegistry, CodeResult, Verdict
from kiosk.config import SettingsSource
from kiosk.outbox import enqueue
from kiosk.store import Store

if TYPE_CHECKING:
    from kiosk.health_list import HealthStatusList
    from kiosk.idcard.chip import ChipIdentity

Clock = Callable[[], datetime]
KeySource = Callable[[], bytes]


def local_now() -> datetime:
    return datetime.now().astimezone()


def _hmac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _utc(moment: datetime) -> str:
    """Times are stored in UTC so that comparing the ISO strings compares the moments."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Counters:
    """Today's figures at one checkpoint: inspections (人次), unique persons (人数), and per verdict."""

    inspections: int = 0
    persons: int = 0
    by_verdict: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Inspection:
    result: CodeResult
    at: datetime
    # Set when the same code was already inspected here within the duplicate window: the time of that
    # inspection. A duplicate is shown but not recorded or counted again.
    already_inspected_at: datetime | None
    counters: Counters

    @property
    def duplicate(self) -> bool:
        return self.already_inspected_at is not None


class Checkpoint:
    def __init__(
        self,
        store: Store,
        registry: CodeRegistry,
        hash_key: bytes,
        settings: SettingsSource,
        clock: Clock = local_now,
        person_key: KeySource | None = None,
    ) -> None:
        """``hash_key``: the device's own key, for the code hash (the duplicate window is looked up only
        here). ``settings``: asked at every inspection, so a checkpoint ID or duplicate window changed in
        admin mode applies to the next code. ``person_key``: asked at every inspection for the subject
        hash's key, so that the key the server hands out at enrolment is used from the next inspection on;
        without it, ``hash_key``."""
        self.store = store
        self.registry = registry
        self._hash_key = hash_key
        self._person_key = person_key or (lambda: hash_key)
        self._settings = settings
        self.clock = clock

    @property
    def checkpoint_id(self) -> str:
        return self._settings().checkpoint_id

    @property
    def duplicate_window(self) -> timedelta:
        return timedelta(seconds=self._settings().duplicate_window_s)

    def keyed_hash(self, text: str) -> str:
        """HMAC-SHA256 under the device key: equal texts match, yet the store cannot be reversed to codes."""
        return _hmac(self._hash_key, text)

    def subject_hash(self, subject: str) -> str:
        """HMAC-SHA256 under the person key: the server counts persons (人数) as distinct subject hashes, so
        kiosks that share the server's key count a person scanned at each of them once."""
        return _hmac(self._person_key(), subject)

    def inspect(self, text: str, source: str = "camera") -> Inspection:
        now = self.clock()
        result = self.registry.evaluate(text, now)
        # A code that names nobody counts as its own person: the same code, the same holder. Hashed before
        # the transaction, which need not wait on the key file being read.
        subject_hash = self.subject_hash(result.subject or f"code:{text}")
        return self._record(result, self.keyed_hash(text), subject_hash, source, now)

    def inspect_card(
        self, identity: ChipIdentity, status: HealthStatusList | None, max_age: timedelta
    ) -> Inspection:
        """A card tapped on the reader, inspected like a code: recorded by keyed hashes of its number (never
        the number), counted for 人次 and 人数 with the same subject as the number typed or scanned,
        within the duplicate window; the verdict from the health-status list (kiosk/health_list.py)."""
        # Here, not at the top: the checkpoint of every start-up need not load the card modules (numpy).
        from kiosk.health_list import KIND, card_result, card_subject

        now = self.clock()
        subject_hash = self.subject_hash(card_subject(identity))
        result = card_result(identity, subject_hash, status, now, max_age)
        code_hash = self.keyed_hash(f"{KIND}:{identity.fields['id_number']}")
        return self._record(result, code_hash, subject_hash, "chip", now)

    def _record(
        self, result: CodeResult, code_hash: str, subject_hash: str, source: str, now: datetime
    ) -> Inspection:
        # Read once: an inspection is recorded under one checkpoint ID and window, even if admin mode
        # changes them meanwhile.
        checkpoint_id, window = self.checkpoint_id, self.duplicate_window
        with self.store.transaction() as conn:
            # A zero window switches duplicate suppression off: otherwise two scans within the same
            # stored millisecond would still match "at >= now" and the second would be lost.
            previous = (
                conn.execute(
                    "SELECT at FROM inspections WHERE checkpoint_id = ? AND code_hash = ? AND at >= ?"
                    " ORDER BY at DESC LIMIT 1",
                    (checkpoint_id, code_hash, _utc(now - window)),
                ).fetchone()
                if window > timedelta(0)
                else None
            )
            if previous is None:
                row = {
                    "id": str(uuid.uuid4()),
                    "at": _utc(now),
                    "local_day": now.date().isoformat(),
                    "checkpoint_id": checkpoint_id,
                    "source": source,
                    "kind": result.kind,
                    "code_hash": code_hash,
                    "subject_hash": subject_hash,
                    "verdict": result.verdict.value,
                    "reason": result.reason.key,
                }
                conn.execute(
                    f"INSERT INTO inspections ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    tuple(row.values()),
                )
                # Same transaction: an inspection on disk is always one the sync will deliver.
                enqueue(conn, kind="inspection", item_id=row["id"], payload=row)
        already = datetime.fromisoformat(previous["at"]).astimezone(now.tzinfo) if previous else None
        return Inspection(result, now, already, self.counters(now))

    def pending_upload(self) -> int:
        """Inspections recorded here that the central API has not acknowledged yet."""
        return int(self.store.query("SELECT COUNT(*) FROM inspections WHERE uploaded_at IS NULL")[0][0])

    def counters(self, now: datetime | None = None) -> Counters:
        day = (now or self.clock()).date().isoformat()
        checkpoint_id = self.checkpoint_id
        rows = self.store.query(
            "SELECT verdict, COUNT(*) AS n FROM inspections WHERE checkpoint_id = ? AND local_day = ?"
            " GROUP BY verdict",
            (checkpoint_id, day),
        )
        persons = self.store.query(
            "SELECT COUNT(DISTINCT subject_hash) FROM inspections WHERE checkpoint_id = ? AND local_day = ?",
            (checkpoint_id, day),
        )[0][0]
        by_verdict = {v.value: 0 for v in Verdict} | {row["verdict"]: row["n"] for row in rows}
        return Counters(sum(by_verdict.values()), persons, by_verdict)

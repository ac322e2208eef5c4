"""Test doubles of the outside world that have no place in the product: the central server in memory and a
voice that only records what it is asked to say."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kiosk.central_client import Answers, BatchAnswers, CentralError, Conflict, Items, Refused
from protocol.decisions import MAX_QUERY_IDS, WireDecision, parse_decision, wire_time
from protocol.items import BookingStatus, Slot


@dataclass
class FakeCentral:
    """In memory: stores what it accepts, answers duplicates, and fails as scripted by ``failures`` (each an
    exception raised by the next call instead of answering) or ``reject`` (item ids to refuse)."""

    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[CentralError] = field(default_factory=list)
    reject: dict[str, str] = field(default_factory=dict)
    invalid: set[str] = field(default_factory=set)
    bundle: bytes | None = None
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # item id -> the kind it was uploaded as
    # Appointment slots: id -> (service id, start, end, capacity); bookings: id -> slot id.
    open_slots: dict[str, tuple[str, datetime, datetime, int]] = field(default_factory=dict)
    bookings: dict[str, str] = field(default_factory=dict)
    # 智慧批: ``decide(item)`` decides a submission on arrival (None: its service has no decision); what it
    # decided, or a test set later (a manager), is in ``decisions`` by submission id, answered on upload
    # (accepted and duplicate) and to ``query_decisions``, whose requests are kept in ``queries``.
    decide: Callable[[dict[str, Any]], WireDecision | None] | None = None
    decisions: dict[str, WireDecision] = field(default_factory=dict)
    queries: list[list[str]] = field(default_factory=list)

    def add_slot(self, service_id: str, starts_at: datetime, minutes: int = 30, capacity: int = 1) -> str:
        """Open a slot, as `kiosk-central slot-add` does; returns its id."""
        slot_id = f"slot-{len(self.open_slots) + 1}"
        self.open_slots[slot_id] = (service_id, starts_at, starts_at + timedelta(minutes=minutes), capacity)
        return slot_id

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def upload(self, kind: str, items: Items) -> Answers:
        self._maybe_fail()
        self.calls.append(len(items))
        if any(item["id"] in self.invalid for item in items):
            raise Refused("HTTP 422: invalid item")
        answers: Answers = {}
        for item in items:
            if item["id"] in self.reject:
                answers[item["id"]] = ("rejected", self.reject[item["id"]])
            elif item["id"] in self.stored:
                answers[item["id"]] = ("duplicate", None)
            else:
                self.stored[item["id"]] = dict(item)
                self.kinds[item["id"]] = kind
                answers[item["id"]] = ("accepted", None)
                decided = self.decide(dict(item)) if self.decide and kind == "submission" else None
                if decided is not None:
                    self.decisions[item["id"]] = parse_decision(decided)
        found = {
            i: self.decisions[i]
            for i, (status, _) in answers.items()
            if status != "rejected" and i in self.decisions
        }
        return BatchAnswers(answers, found)

    def query_decisions(self, ids: Sequence[str]) -> list[WireDecision]:
        self._maybe_fail()
        if not 1 <= len(ids) <= MAX_QUERY_IDS:
            raise Refused(f"HTTP 422: 1 to {MAX_QUERY_IDS} ids")
        self.queries.append(list(ids))
        return [self.decisions[i] for i in ids if i in self.decisions and i in self.stored]

    def hurried(self, within_s: float) -> FakeCentral:
        return self

    def fetch_bundle(self, etag: str | None) -> bytes | None:
        self._maybe_fail()
        if self.bundle is None:
            return None
        # The fake answers 304 only when it can read its own bundle's version; anything else is sent.
        try:
            version = json.loads(self.bundle).get("version")
        except (ValueError, AttributeError):
            version = None
        return None if etag is not None and etag == version else self.bundle

    def heartbeat(self, status: dict[str, Any]) -> None:
        self._maybe_fail()
        self.heartbeats.append(status | {"at": datetime.now(UTC).isoformat()})

    def _remaining(self, slot_id: str) -> int:
        return self.open_slots[slot_id][3] - sum(1 for s in self.bookings.values() if s == slot_id)

    def slots(self, service_id: str, day: date) -> list[Slot]:
        self._maybe_fail()
        found = [
            Slot(slot_id, start, end, max(0, self._remaining(slot_id)))
            for slot_id, (service, start, end, _) in self.open_slots.items()
            if service == service_id and start.astimezone(UTC).date() == day
        ]
        return sorted(found, key=lambda slot: slot.starts_at)

    def book(self, *, slot_id: str, booking_id: str, reference: str) -> BookingStatus:
        self._maybe_fail()
        if booking_id in self.bookings:
            if self.bookings[booking_id] != slot_id:
                raise Conflict("HTTP 409: booking id already used for another booking")
            return "duplicate"
        if slot_id not in self.open_slots:
            raise Refused("HTTP 404: no such slot")
        if self._remaining(slot_id) <= 0:
            raise Conflict("HTTP 409: slot full")
        self.bookings[booking_id] = slot_id
        return "booked"


def wire_decision(
    item: dict[str, Any],
    outcome: str,
    reasons: Sequence[tuple[str, str]] = (),
    code: str | None = None,
    by: str = "rules",
) -> WireDecision:
    """A decision object of the wire for an uploaded submission ``item``; reasons as (zh-CN, en)."""
    return parse_decision(
        {
            "submission_id": item["id"],
            "service_id": item["service_id"],
            "outcome": outcome,
            "reasons": [{"zh-CN": zh, "en": en} for zh, en in reasons],
            "decided_at": wire_time(datetime.now(UTC)),
            "decided_by": by,
            "code": code if outcome != "approved" else code or "KP1:FAKE-DECISION-CODE",
        }
    )


class FakeVoice:
    """For tests: remembers what it was asked to say, as ``(key, language)``."""

    def __init__(self) -> None:
        self.muted = False
        self.said: list[tuple[str, str]] = []
        self.stops = 0

    def say(self, key: str, language: str, *, interrupt: bool = True, delay_s: float = 0.0) -> None:
        if not self.muted:
            self.said.append((key, language))

    def stop(self) -> None:
        self.stops += 1

    def close(self) -> None:
        self.stop()


def wire_item(kind: str, item_id: str, n: int) -> dict[str, Any]:
    """A protocol item of ``kind`` (the server's fields, nothing else), the ``n``-th of a test's queue."""
    if kind == "submission":
        at = {"submitted_at": "2026-01-01T09:00:00+00:00", "local_day": "2026-01-01"}
        return {"id": item_id, "service_id": "queue-ticket", **at, "fields": {"n": n}}
    return {
        "id": item_id,
        "at": "2026-01-01T09:00:00+00:00",
        "local_day": "2026-01-01",
        "checkpoint_id": "CP-1",
        "source": "manual",
        "kind": "text",
        "code_hash": "0" * 64,
        "subject_hash": f"{n:064x}",
        "verdict": "yellow",
        "reason": "code.unrecognised",
    }

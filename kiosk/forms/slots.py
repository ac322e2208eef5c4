"""Appointment slots come from the central API, which alone knows how many places are left.

Offline (or before enrolment) the kiosk cannot offer or book a slot: :class:`SlotsUnavailable`, and the
screen offers a queue ticket instead. A booking is idempotent by its id (the submission's UUID), so a
booking retried after a lost answer does not take a second place.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from protocol.items import Slot

if TYPE_CHECKING:
    from kiosk.central_client import CentralApi

log = logging.getLogger(__name__)


class SlotsUnavailable(Exception):
    """The central API cannot be asked now (offline, not enrolled, server trouble)."""


class SlotTaken(Exception):
    """The slot filled up (or vanished) between being offered and being booked."""


class SlotSource(Protocol):
    def slots(self, service: str, day: date) -> list[Slot]: ...

    def book(self, *, slot_id: str, booking_id: str, reference: str) -> None: ...


class OfflineSlots:
    """A kiosk that is not enrolled has nobody to ask."""

    def slots(self, service: str, day: date) -> list[Slot]:
        raise SlotsUnavailable("not enrolled with a central server")

    def book(self, *, slot_id: str, booking_id: str, reference: str) -> None:
        raise SlotsUnavailable("not enrolled with a central server")


def _local_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0)).astimezone()
    return start, start + timedelta(days=1)


class CentralSlots:
    """``GET /v1/slots`` and ``POST /v1/bookings`` through the device's signed client."""

    def __init__(self, client: CentralApi) -> None:
        self.client = client

    def slots(self, service: str, day: date) -> list[Slot]:
        from kiosk.central_client import CentralError

        start, end = _local_day_bounds(day)
        # The API counts days in UTC; a local day spans up to two of them.
        utc_days = sorted({start.astimezone(UTC).date(), (end - timedelta(seconds=1)).astimezone(UTC).date()})
        try:
            found = [slot for utc_day in utc_days for slot in self.client.slots(service, utc_day)]
        except CentralError as err:
            raise SlotsUnavailable(str(err)) from None
        return sorted((slot for slot in found if start <= slot.starts_at < end), key=lambda s: s.starts_at)

    def book(self, *, slot_id: str, booking_id: str, reference: str) -> None:
        from kiosk.central_client import CentralError, Refused

        try:
            self.client.book(slot_id=slot_id, booking_id=booking_id, reference=reference)
        except Refused as err:
            # The slot is full or gone (or the id books another one): the person chooses again.
            raise SlotTaken(str(err)) from None
        except CentralError as err:
            raise SlotsUnavailable(str(err)) from None


@dataclass
class FakeSlots:
    """In memory, for tests, screenshots and demos: slots every half hour from 09:00, ``online`` toggles."""

    online: bool = True
    capacity: int = 2
    booked: dict[str, str] = field(default_factory=dict)  # booking id -> slot id

    def _day_slots(self, service: str, day: date) -> list[Slot]:
        out = []
        for i in range(6):
            start = datetime.combine(day, time(9, 0)).astimezone() + timedelta(minutes=30 * i)
            slot_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{service}/{start.isoformat()}"))
            taken = sum(1 for s in self.booked.values() if s == slot_id)
            out.append(Slot(slot_id, start, start + timedelta(minutes=30), self.capacity - taken))
        return out

    def slots(self, service: str, day: date) -> list[Slot]:
        if not self.online:
            raise SlotsUnavailable("central API unreachable")
        return self._day_slots(service, day)

    def book(self, *, slot_id: str, booking_id: str, reference: str) -> None:
        if not self.online:
            raise SlotsUnavailable("central API unreachable")
        if booking_id in self.booked:
            return
        if sum(1 for s in self.booked.values() if s == slot_id) >= self.capacity:
            raise SlotTaken("slot full")
        self.booked[booking_id] = slot_id


def slot_source_for(secrets_dir: Path) -> SlotSource:
    """The central API for an enrolled kiosk, else a source that says it is offline."""
    from kiosk.central_client import DEVICE_KEY_FILE, HttpCentral, load_credentials
    from kiosk.fileio import FileProblem
    from kiosk.keystore import load_or_create_secret

    try:
        credentials = load_credentials(secrets_dir)
    except FileProblem as err:
        log.error("enrolment unreadable, appointments offline: %s", err)
        return OfflineSlots()
    if credentials is None:
        return OfflineSlots()
    # Short timeouts: a person is waiting at the screen, and the fallback (a queue ticket) is always there.
    client = HttpCentral(
        credentials, load_or_create_secret(secrets_dir / DEVICE_KEY_FILE), timeout=(3.0, 5.0)
    )
    return CentralSlots(client)

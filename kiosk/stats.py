"""A checkpoint's day in figures: inspections (人次) and unique persons (人数), by verdict and by hour.

Read from the inspections table the checkpoint writes (``at`` in UTC, ``local_day`` in the kiosk's zone).
Hours are the kiosk's local hours. A person inspected in two different hours counts once in each of them but
once for the day, so the hourly 人数 add up to at least the day's, not exactly to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from kiosk.codes.registry import Verdict
from kiosk.store import Store

HOURS = 24


@dataclass(frozen=True)
class HourFigures:
    hour: int  # 0–23, local
    inspections: int
    persons: int


@dataclass(frozen=True)
class DayStats:
    day: date
    inspections: int
    persons: int
    by_verdict: dict[str, int]  # every verdict, zero included, in Verdict order
    by_hour: tuple[HourFigures, ...]  # all 24 hours, empty ones included

    @property
    def busiest(self) -> HourFigures | None:
        """The hour with the most inspections (the earliest of equals), if there was any."""
        if not self.inspections:
            return None
        return max(self.by_hour, key=lambda h: (h.inspections, -h.hour))


def day_stats(store: Store, checkpoint_id: str, day: date, tz: tzinfo | None = None) -> DayStats:
    """The figures of ``day`` at ``checkpoint_id``; ``tz`` is the zone of the hours (None: the system's)."""
    rows = store.query(
        "SELECT at, verdict, subject_hash FROM inspections WHERE checkpoint_id = ? AND local_day = ?",
        (checkpoint_id, day.isoformat()),
    )
    by_verdict = {v.value: 0 for v in Verdict}
    hour_inspections = [0] * HOURS
    hour_persons: list[set[str]] = [set() for _ in range(HOURS)]
    persons: set[str] = set()
    for row in rows:
        hour = datetime.fromisoformat(row["at"]).astimezone(tz).hour
        by_verdict[row["verdict"]] = by_verdict.get(row["verdict"], 0) + 1
        hour_inspections[hour] += 1
        hour_persons[hour].add(row["subject_hash"])
        persons.add(row["subject_hash"])
    hours = tuple(HourFigures(h, hour_inspections[h], len(hour_persons[h])) for h in range(HOURS))
    return DayStats(day, len(rows), len(persons), by_verdict, hours)

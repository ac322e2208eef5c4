"""Today's checkpoint statistics: the queries (by verdict, by hour, 人次 and 人数) against rows put in the
store, and the screen reached from the checkpoint screen."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from kiosk.stats import day_stats
from kiosk.store import Store
from tools.synth_frames import valid_id_number, wrong_check_digit
from ui.screens.stats import INSPECTIONS_COLOUR, PERSONS_COLOUR

BEIJING = timezone(timedelta(hours=8))
DAY = date(2026, 11, 26)


def _insert(store: Store, local: datetime, verdict: str, person: str, checkpoint: str = "CP-1") -> None:
    row = {
        "id": str(uuid.uuid4()),
        "at": local.astimezone(UTC).isoformat(timespec="milliseconds"),
        "local_day": local.date().isoformat(),
        "checkpoint_id": checkpoint,
        "source": "camera",
        "kind": "id-number",
        "code_hash": uuid.uuid4().hex,
        "subject_hash": person,
        "verdict": verdict,
        "reason": "id.valid",
    }
    columns, marks = ", ".join(row), ", ".join("?" * len(row))
    with store.transaction() as conn:
        conn.execute(f"INSERT INTO inspections ({columns}) VALUES ({marks})", tuple(row.values()))


def test_day_stats_count_inspections_and_persons_by_verdict_and_local_hour(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    at = lambda h, m=0: datetime(2026, 11, 26, h, m, tzinfo=BEIJING)  # noqa: E731
    _insert(store, at(0, 30), "green", "a")  # 00:30 Beijing is the previous day in UTC: still today
    _insert(store, at(8, 5), "green", "a")
    _insert(store, at(8, 50), "green", "a")  # the same person again: 人次 +1, 人数 not
    _insert(store, at(8, 59), "red", "b")
    _insert(store, at(9, 0), "yellow", "a")  # 09:00 is the next hour
    _insert(store, at(23, 59), "green", "c")
    _insert(store, at(10), "green", "x", checkpoint="CP-2")  # another checkpoint
    _insert(store, at(10) + timedelta(days=1), "green", "y")  # another day
    stats = day_stats(store, "CP-1", DAY, BEIJING)
    store.close()

    assert (stats.inspections, stats.persons) == (6, 3)
    assert stats.by_verdict == {"green": 4, "yellow": 1, "red": 1}
    by_hour = {h.hour: (h.inspections, h.persons) for h in stats.by_hour if h.inspections}
    assert by_hour == {0: (1, 1), 8: (3, 2), 9: (1, 1), 23: (1, 1)}
    assert len(stats.by_hour) == 24
    assert stats.busiest is not None and stats.busiest.hour == 8


def test_an_empty_day_has_zeros_everywhere(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    stats = day_stats(store, "CP-1", DAY)
    store.close()
    assert (stats.inspections, stats.persons, stats.busiest) == (0, 0, None)
    assert stats.by_verdict == {"green": 0, "yellow": 0, "red": 0}


def test_the_stats_screen_opens_from_the_checkpoint_and_follows_new_inspections(
    make_window: Any, qtbot: Any
) -> None:
    window = make_window(screen="checkpoint", duplicate_window_s=0)
    checkpoint = window.core.checkpoint
    for text in (valid_id_number(), valid_id_number(), wrong_check_digit()):
        checkpoint.inspect(text, source="manual")
    qtbot.mouseClick(window.checkpoint_screen.stats_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.stats_screen
    screen = window.stats_screen
    qtbot.waitUntil(lambda: screen.stats is not None, timeout=5000)
    shown = {name: label.text() for name, label in screen.values.items()}
    assert shown == {"inspections": "3", "persons": "2", "green": "2", "yellow": "0", "red": "1"}
    hour = checkpoint.clock().hour
    assert screen.chart.stats is screen.stats and hour in screen.chart.hours()
    assert (screen.stats.by_hour[hour].inspections, screen.stats.by_hour[hour].persons) == (3, 2)

    window.manual_screen.submitted.emit(valid_id_number())  # a new inspection while the screen is up
    qtbot.waitUntil(lambda: screen.values["inspections"].text() == "4", timeout=5000)
    image = screen.chart.grab().toImage()
    bars = {
        colour.name(): sum(
            image.pixelColor(x, y) == colour
            for x in range(0, image.width(), 2)
            for y in range(image.height())
        )
        for colour in (INSPECTIONS_COLOUR, PERSONS_COLOUR)
    }
    assert all(bars.values()), bars  # both bars of the hour are drawn

    qtbot.mouseClick(screen.back_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.checkpoint_screen

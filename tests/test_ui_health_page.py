"""The admin health page's own text: each row from its own field of the report."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from kiosk.admin.health import HealthReport
from ui.admin.health import HealthPage


def test_the_camera_and_id_reader_rows_each_show_their_own_time(qapp: Any) -> None:
    read_at = time.time() - 30
    report = HealthReport(
        version="test",
        camera_state="running",
        camera_fps=25.0,
        camera_size=(1280, 720),
        last_frame_age_s=0.4,
        id_reader_state="ready",
        id_reader_last_read=read_at,
    )
    page = HealthPage("en")
    page.show_report(report, [])
    assert page.value_text("camera_detail") == "1280×720 at 25.0 fps, last frame 0.4 s ago"
    # The card read 30 s ago, at its local time: not the camera's frame age, not "never".
    local = datetime.fromtimestamp(read_at).strftime("%m-%d %H:%M")
    reader = page.value_text("id_reader")
    assert reader.startswith(f"ready; last card read {local} (")
    assert " s ago); 0 errors" in reader
    seconds = int(reader.split("(")[1].split(" s ago")[0])
    assert 30 <= seconds < 60


def test_a_reader_that_never_read_a_card_says_never(qapp: Any) -> None:
    page = HealthPage("en")
    page.show_report(HealthReport(version="test", id_reader_state="ready"), [])
    assert page.value_text("id_reader") == "ready; last card read Never; 0 errors"
    assert page.value_text("camera_detail") == "No picture yet"

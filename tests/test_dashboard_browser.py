"""The dashboard in headless Chromium (Debian's), against a real server filled by simulated kiosks through the
kiosk's own core, outbox and sync client. The figures the browser shows are compared with SQL counts made
directly on the server's database file, and with the kiosks' own counters; a screenshot is taken.

Chromium is driven by its command line only (``--dump-dom``, ``--screenshot``): the page has no script, so
the DOM Chromium built from it once loaded is what a manager sees. Set KIOSK_SAVE_SCREENSHOTS=1 to write the
screenshot to docs/screenshots/dashboard.png (otherwise it stays in the test's temporary folder).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from central_helpers import LiveServer, running_server
from dashboard_dom import DashboardPage, parse_dashboard
from PIL import Image

from central.cli import main as central_main
from central.dashboard import DashboardSettings
from central.db import make_engine, session_factory
from central.managers import set_manager
from kiosk.checkpoint import local_now
from kiosk.config import Settings
from kiosk.core import KioskCore, open_core
from kiosk.paths import PROJECT_ROOT
from kiosk.sync import open_sync
from tools.synth_frames import valid_id_number, wrong_check_digit

MANAGER, PASSWORD = "zhang.wei", "correct horse battery"
CHROMIUM_MISSING = (
    "CHROMIUM NOT INSTALLED: the dashboard was NOT tested in a browser. `bash .ci/chromium.sh` installs "
    "Debian's chromium (.ci/run does so before the tests)."
)
# Without the background-networking switches Chromium dials out at start, which a closed network refuses.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
SCREEN_WIDTH, SCREEN_HEIGHT = 1280, 2400
SERVICES = [
    {"id": "vehicle-pass", "title": {"zh-CN": "车辆通行证", "en": "Vehicle pass"}},
    {"id": "health-declaration", "title": {"zh-CN": "健康申报", "en": "Health declaration"}},
]


def person(n: int) -> str:
    return valid_id_number(f"110105199001{n:02d}002")


def bad_number(n: int) -> str:
    return wrong_check_digit(f"110105198502{n:02d}003")


@dataclass
class SimulatedKiosk:
    site: str
    checkpoint_id: str
    codes: list[str]
    submissions: dict[str, int]
    # Items queued after the last sync, so that the heartbeat reports a queue.
    left_queued: int
    health: dict[str, Any] | None  # None: enrolled, never synced


FRESH = (datetime.now(UTC) - timedelta(hours=5)).isoformat()
FLEET = [
    SimulatedKiosk(
        "东湖收费站",
        "CP-014",
        # One person three times, one once; a text code twice (one "person"); one bad ID number.
        [person(1), person(1), person(1), person(2), "车牌 鄂A12345", "车牌 鄂A12345", bad_number(1)],
        {},
        0,
        {"printer": "none", "trust_store_refreshed_at": FRESH},
    ),
    SimulatedKiosk(
        "西山林场检查站",
        "CP-021",
        [person(3), person(4), person(5), "https://example.gov.cn/pass", bad_number(2), bad_number(3)],
        {},
        0,
        {"printer": "paper_low", "trust_store_refreshed_at": FRESH},
    ),
    SimulatedKiosk(
        "市民服务中心",
        "CP-001",
        [],
        {"vehicle-pass": 4, "health-declaration": 2},
        3,
        {
            "printer": "ready",
            "trust_store_refreshed_at": (datetime.now(UTC) - timedelta(days=10)).isoformat(),
        },
    ),
    SimulatedKiosk("南门检查站", "CP-030", [], {}, 0, None),
]


def submission(service: str) -> dict[str, Any]:
    now = local_now()
    return {
        "id": str(uuid.uuid4()),
        "service_id": service,
        "submitted_at": now.isoformat(),
        "local_day": now.date().isoformat(),
        "fields": {"copies": 1},
    }


def run_kiosk(server: LiveServer, core: KioskCore, spec: SimulatedKiosk) -> str:
    """Enrol, record, sync and report like a kiosk in the field; returns the device id."""
    folder = core.settings.data_dir
    credentials, _ = server.enrol(folder, site=spec.site, checkpoints=(spec.checkpoint_id,))
    for code in spec.codes:
        core.checkpoint.inspect(code, source="manual")
    for service, count in spec.submissions.items():
        for _ in range(count):
            item = submission(service)
            core.outbox.enqueue(kind="submission", item_id=item["id"], payload=item)
    if spec.health is None:
        return credentials.device_id
    engine = open_sync(core)
    assert engine is not None
    status, result = engine.run_once()
    assert status.online and status.pending == 0 and result.rejected == 0, status
    for _ in range(spec.left_queued):
        item = submission("vehicle-pass")
        core.outbox.enqueue(kind="submission", item_id=item["id"], payload=item)
    counts = core.outbox.counts()
    engine.client.heartbeat(
        {
            "version": engine.version,
            "queue_depth": counts.pending,
            "quarantined": counts.quarantined,
            "health": spec.health,
        }
    )
    return credentials.device_id


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    pytest.skip(CHROMIUM_MISSING)


class Browser:
    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.runs = 0

    def run(self, url: str, *args: str) -> str:
        self.runs += 1
        # A fresh profile every time: nothing cached or remembered from an earlier load.
        profile = self.folder / f"profile-{self.runs}"
        done = subprocess.run(
            [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def dom(self, url: str) -> DashboardPage:
        return parse_dashboard(self.run(url, "--dump-dom"))

    def screenshot(self, url: str, out: Path) -> None:
        self.run(url, f"--screenshot={out}", f"--window-size={SCREEN_WIDTH},{SCREEN_HEIGHT}")


@pytest.fixture
def cores(tmp_path: Path) -> Iterator[dict[str, KioskCore]]:
    """One kiosk core per simulated kiosk, by checkpoint id."""
    # duplicate_window_s=0: the same person passing again counts again, as on a busy day.
    opened = {
        spec.checkpoint_id: open_core(
            Settings(
                data_dir=tmp_path / spec.checkpoint_id, checkpoint_id=spec.checkpoint_id, duplicate_window_s=0
            )
        )
        for spec in FLEET
    }
    yield opened
    for core in opened.values():
        core.close()


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    return Browser(chromium(), tmp_path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with running_server(
        tmp_path, device_rate=(1000.0, 1000.0), dashboard=DashboardSettings(timezone="Asia/Shanghai")
    ) as live:
        engine = make_engine(live.database_url)
        with session_factory(engine)() as session:
            set_manager(session, MANAGER, PASSWORD)
        engine.dispose()
        services = live.key_dir.parent / "services.json"
        services.write_text(json.dumps(SERVICES, ensure_ascii=False), "utf-8")
        assert central_main(["bundle-set", "services", str(services), "--database", live.database_url]) == 0
        yield live


def sql_figures(database: Path, day: str, checkpoint: str | None = None) -> dict[str, Any]:
    """The dashboard's figures, counted straight from the server's tables."""
    where, args = "local_day = ?", [day]
    if checkpoint is not None:
        where, args = where + " AND checkpoint_id = ?", [*args, checkpoint]
    db = sqlite3.connect(database)
    try:
        per_checkpoint = {
            cp: {"inspections": n, "persons": p, "green": g, "yellow": y, "red": r}
            for cp, n, p, g, y, r in db.execute(
                "SELECT checkpoint_id, COUNT(*), COUNT(DISTINCT subject_hash), SUM(verdict = 'green'),"
                f" SUM(verdict = 'yellow'), SUM(verdict = 'red') FROM inspections WHERE {where}"
                " GROUP BY checkpoint_id",
                args,
            )
        }
        [(inspections, persons)] = db.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT subject_hash) FROM inspections WHERE {where}", args
        )
        services = dict(
            db.execute("SELECT service_id, COUNT(*) FROM submissions WHERE local_day = ? GROUP BY 1", [day])
        )
        devices = {
            device_id: json.loads(beat) if beat else None
            for device_id, beat in db.execute("SELECT id, heartbeat FROM devices WHERE revoked_at IS NULL")
        }
    finally:
        db.close()
    return {
        "checkpoints": per_checkpoint,
        "inspections": inspections,
        "persons": persons,
        "services": services,
        "devices": devices,
    }


def crop_to_content(shot: Path, margin: int = 24) -> Image.Image:
    """The window is taller than the page; cut the empty page colour off below the content."""
    image = Image.open(shot).convert("RGB")
    background = image.getpixel((image.width - 1, image.height - 1))
    rows = [
        y
        for y in range(image.height)
        if any(image.getpixel((x, y)) != background for x in range(0, image.width, 4))
    ]
    return image.crop((0, 0, image.width, min(image.height, rows[-1] + margin)))


def test_dashboard_in_chromium_matches_the_database(
    browser: Browser, server: LiveServer, cores: dict[str, KioskCore], tmp_path: Path
) -> None:
    ids = {spec.checkpoint_id: run_kiosk(server, cores[spec.checkpoint_id], spec) for spec in FLEET}
    database = Path(server.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(database) as db:
        [(day,)] = db.execute("SELECT MIN(local_day) FROM inspections")
    expected = sql_figures(database, day)
    # Not a trivial data set: repeat visits make 人次 and 人数 differ, and every verdict occurs.
    assert expected["checkpoints"]["CP-014"]["inspections"] > expected["checkpoints"]["CP-014"]["persons"]
    assert all(sum(row[v] for row in expected["checkpoints"].values()) for v in ("green", "yellow", "red"))

    base = server.url.replace("http://", f"http://{MANAGER}:{PASSWORD.replace(' ', '%20')}@")
    page = browser.dom(f"{base}/dashboard?day={day}")

    assert page.ids["summary"].attrs["data-day"] == day
    assert {cp: row for cp, row in page.checkpoints.items() if cp} == expected["checkpoints"]
    totals = {"inspections": expected["inspections"], "persons": expected["persons"]}
    assert {k: page.checkpoints[""][k] for k in totals} == totals
    assert (page.number("total-inspections"), page.number("total-persons")) == tuple(totals.values())
    assert page.services == expected["services"] == {"vehicle-pass": 4, "health-declaration": 2}
    assert page.number("total-submissions") == sum(expected["services"].values())
    # The kiosks' own counters (what their screens showed) agree with the central figures.
    for checkpoint_id in ("CP-014", "CP-021"):
        counters = cores[checkpoint_id].checkpoint.counters()
        row = page.checkpoints[checkpoint_id]
        assert (row["inspections"], row["persons"]) == (counters.inspections, counters.persons)
        assert {v: row[v] for v in counters.by_verdict} == counters.by_verdict

    assert set(page.devices) == set(expected["devices"])
    for device_id, beat in expected["devices"].items():
        shown = page.devices[device_id]
        assert shown["data-online"] == ("true" if beat else "false")
        assert shown["queue_depth"] == (str(beat["queue_depth"]) if beat else "—")
    assert page.devices[ids["CP-001"]]["queue_depth"] == "3"
    problems = {cp: page.devices[device_id]["problems"] for cp, device_id in ids.items()}
    assert problems == {"CP-014": "—", "CP-021": "纸张将尽", "CP-001": "信任库过旧", "CP-030": "从未上报"}
    assert (page.number("devices-online"), page.number("devices-problems")) == (3, 3)

    one = browser.dom(f"{base}/dashboard?day={day}&checkpoint=CP-021")
    only = sql_figures(database, day, "CP-021")
    assert one.checkpoints == only["checkpoints"]
    assert (one.number("total-inspections"), one.number("total-persons")) == (
        only["inspections"],
        only["persons"],
    )

    shot = tmp_path / "dashboard.png"
    browser.screenshot(f"{base}/dashboard?day={day}", shot)
    image = crop_to_content(shot)
    # The page filled the window's width and reached below the fleet table: it rendered, styled.
    assert image.width == SCREEN_WIDTH and 900 < image.height < SCREEN_HEIGHT
    if os.environ.get("KIOSK_SAVE_SCREENSHOTS") == "1":
        image.save(PROJECT_ROOT / "docs" / "screenshots" / "dashboard.png", optimize=True)

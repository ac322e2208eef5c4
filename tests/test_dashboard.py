"""The managers' dashboard against a real server on 127.0.0.1: sign-in, figures, fleet health, escaping."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from central_helpers import BACKENDS, LiveServer, backend_database, running_server
from dashboard_dom import DashboardPage, parse_dashboard
from sqlalchemy import text

from central.cli import main as central_main
from central.dashboard import CheckpointRow, DashboardSettings, bar_chart, day_label, device_row
from central.db import make_engine, session_factory
from central.managers import check_manager, verify_password
from central.models import Device
from kiosk.central_client import DEVICE_KEY_FILE, Credentials, HttpCentral, enrol
from kiosk.keystore import load_or_create_secret

MANAGER, PASSWORD = "zhang.wei", "correct horse battery"
NOW = datetime.now(UTC).replace(microsecond=0)
DAY = NOW.date()


class Clock:
    """The dashboard's clock, moved by the test (heartbeats keep the server's real time)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def add_manager(server: LiveServer, name: str = MANAGER, password: str = PASSWORD) -> int:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdin", io.StringIO(password + "\n"))
        return central_main(["manager-add", name, "--password-stdin", "--database", server.database_url])


def inspection(checkpoint: str, subject: str, verdict: str = "green", day: date = DAY) -> dict[str, Any]:
    at = datetime.combine(day, NOW.time(), tzinfo=UTC)
    return {
        "id": str(uuid.uuid4()),
        "at": at.isoformat(),
        "local_day": day.isoformat(),
        "checkpoint_id": checkpoint,
        "source": "camera",
        "kind": "id-number",
        "code_hash": uuid.uuid4().hex * 2,
        "subject_hash": subject * 64,
        "verdict": verdict,
        "reason": "test",
    }


def submission(service: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "service_id": service,
        "submitted_at": NOW.isoformat(),
        "local_day": DAY.isoformat(),
        "fields": {},
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[LiveServer]:
    """A server on SQLite, and one on PostgreSQL where one is configured: the figures are SQL of both."""
    settings = DashboardSettings(
        timezone="UTC", online_within=timedelta(minutes=10), clock=clock, queue_alert=5
    )
    with (
        backend_database(request.param, tmp_path) as url,
        running_server(tmp_path, url, device_rate=(1000.0, 1000.0), dashboard=settings) as live,
    ):
        assert add_manager(live) == 0
        yield live


@dataclass
class Kiosk:
    client: HttpCentral
    credentials: Credentials


def kiosk(
    server: LiveServer,
    folder: Path,
    site: str = "default",
    name: str = "test kiosk",
    checkpoints: tuple[str, ...] = (),
) -> Kiosk:
    """An enrolled device that talks through the kiosk's own client (no kiosk core behind it)."""
    seed = load_or_create_secret(folder / "secrets" / DEVICE_KEY_FILE)
    credentials = enrol(server.url, server.new_code(site, checkpoints=checkpoints), seed, name, "0.1.0")
    return Kiosk(HttpCentral(credentials, seed), credentials)


def page(server: LiveServer, **params: str) -> DashboardPage:
    response = requests.get(server.url + "/dashboard", params=params, auth=(MANAGER, PASSWORD))
    assert response.status_code == 200, response.text
    return parse_dashboard(response.text)


def test_only_managers_get_in(server: LiveServer, tmp_path: Path) -> None:
    url = server.url + "/dashboard"
    bare = requests.get(url)
    assert bare.status_code == 401 and bare.headers["WWW-Authenticate"].startswith("Basic ")
    assert "需要管理员登录" in bare.text and "设备状态" not in bare.text
    assert requests.get(url, auth=(MANAGER, "wrong password")).status_code == 401
    assert requests.get(url, auth=("nobody", PASSWORD)).status_code == 401
    assert requests.get(url, headers={"Authorization": "Basic !!not base64!!"}).status_code == 401
    assert requests.get(url, headers={"Authorization": "Basic bm9jb2xvbg=="}).status_code == 401  # no colon
    # A kiosk's credentials are not a manager's.
    credentials = kiosk(server, tmp_path / "k").credentials
    assert requests.get(url, headers={"Authorization": f"Bearer {credentials.token}"}).status_code == 401
    signed_in = requests.get(url, auth=(MANAGER, PASSWORD))
    assert signed_in.status_code == 200 and "设备状态" in signed_in.text
    # No script may run, nothing may be fetched: styles are inline.
    assert signed_in.headers["Content-Security-Policy"].startswith(
        "default-src 'none'; style-src 'unsafe-inline';"
    )
    assert signed_in.headers["Cache-Control"] == "no-store"


def test_dashboard_stays_out_of_the_api_document(server: LiveServer) -> None:
    assert server.app is not None
    assert not [path for path in server.app.openapi()["paths"] if "dashboard" in path]


def test_manager_accounts_from_the_command_line(server: LiveServer) -> None:
    url = server.url + "/dashboard"
    assert add_manager(server, "li.na", "short") == 2
    assert add_manager(server, "<li>", "long enough password") == 2
    assert add_manager(server, "li.na", "first password!") == 0
    assert requests.get(url, auth=("li.na", "first password!")).status_code == 200
    assert add_manager(server, "li.na", "second password") == 0  # a new password replaces the old one
    assert requests.get(url, auth=("li.na", "first password!")).status_code == 401
    assert requests.get(url, auth=("li.na", "second password")).status_code == 200
    remove = ["manager-remove", "li.na", "--database", server.database_url]
    assert central_main(remove) == 0
    assert requests.get(url, auth=("li.na", "second password")).status_code == 401
    assert central_main(remove) == 2


def test_only_a_slow_salted_hash_is_stored(server: LiveServer) -> None:
    assert add_manager(server, "wang.fang", PASSWORD) == 0
    engine = make_engine(server.database_url)
    with engine.connect() as db:
        hashes = {
            name: digest for name, digest in db.execute(text("SELECT name, password_hash FROM managers"))
        }
    assert hashes[MANAGER].startswith("scrypt$32768$8$1$") and PASSWORD not in hashes[MANAGER]
    assert hashes[MANAGER] != hashes["wang.fang"]  # same password, different salt
    assert verify_password(hashes[MANAGER], PASSWORD) and not verify_password(hashes[MANAGER], PASSWORD + "!")
    assert not verify_password("md5$abc", PASSWORD) and not verify_password("scrypt$x$y", PASSWORD)
    with session_factory(engine)() as session:
        assert check_manager(session, MANAGER, PASSWORD) and not check_manager(session, "ghost", PASSWORD)
    engine.dispose()


def test_sign_in_attempts_are_rate_limited(tmp_path: Path) -> None:
    settings = DashboardSettings(login_rate=(0.001, 3.0))
    with running_server(tmp_path, dashboard=settings) as live:
        answers = [
            requests.get(live.url + "/dashboard", auth=("a", "wrong password")).status_code for _ in range(4)
        ]
    assert answers == [401, 401, 401, 429]


def test_figures_per_checkpoint_day_and_service(server: LiveServer, tmp_path: Path) -> None:
    # Two kiosks of one site; CP-2 has one of each (a checkpoint id belongs to one site).
    north, south = (
        kiosk(server, tmp_path / "n", "north", checkpoints=("CP-1", "CP-2")).client,
        kiosk(server, tmp_path / "s", "north", checkpoints=("CP-2",)).client,
    )
    yesterday = DAY - timedelta(days=1)
    # Person "a" twice at CP-1 and once at CP-2 (same kiosk key, so the same hash): three inspections, one
    # person over the day, but one person at each checkpoint.
    north.upload(
        "inspection",
        [
            inspection("CP-1", "a"),
            inspection("CP-1", "a", "yellow"),
            inspection("CP-1", "b", "red"),
            inspection("CP-2", "a"),
            inspection("CP-1", "c", day=yesterday),
        ],
    )
    south.upload("inspection", [inspection("CP-2", "d", "red")])
    south.upload("submission", [submission("vehicle-pass"), submission("vehicle-pass"), submission("queue")])

    today = page(server, day=DAY.isoformat())
    assert today.checkpoints["CP-1"] == {"inspections": 3, "persons": 2, "green": 1, "yellow": 1, "red": 1}
    assert today.checkpoints["CP-2"] == {"inspections": 2, "persons": 2, "green": 1, "yellow": 0, "red": 1}
    # Over the day person "a" counts once: 3 persons (a, b, d), not 2 + 2.
    assert today.checkpoints[""] == {"inspections": 5, "persons": 3, "green": 2, "yellow": 1, "red": 2}
    assert (today.number("total-inspections"), today.number("total-persons")) == (5, 3)
    assert today.services == {"vehicle-pass": 2, "queue": 1} and today.number("total-submissions") == 3

    only_two = page(server, day=DAY.isoformat(), checkpoint="CP-2")
    assert set(only_two.checkpoints) == {"CP-2"} and only_two.number("total-persons") == 2

    before = page(server, day=yesterday.isoformat())
    assert before.checkpoints == {"CP-1": {"inspections": 1, "persons": 1, "green": 1, "yellow": 0, "red": 0}}
    assert before.services == {}
    for bad in ("2025-13-40", "yesterday", "0001-01-01", "9999-12-31"):
        answer = requests.get(server.url + "/dashboard", params={"day": bad}, auth=(MANAGER, PASSWORD))
        assert answer.status_code == 400, bad


def test_service_titles_come_from_the_bundle(server: LiveServer, tmp_path: Path) -> None:
    services = tmp_path / "services.json"
    services.write_text('[{"id": "vehicle-pass", "title": {"zh-CN": "车辆通行证", "en": "Vehicle pass"}}]')
    assert central_main(["bundle-set", "services", str(services), "--database", server.database_url]) == 0
    kiosk(server, tmp_path / "k").client.upload("submission", [submission("vehicle-pass")])
    html = requests.get(server.url + "/dashboard", auth=(MANAGER, PASSWORD)).text
    assert "车辆通行证" in html and parse_dashboard(html).services == {"vehicle-pass": 1}


def test_default_day_is_today_in_the_configured_zone(tmp_path: Path) -> None:
    # 17:30 UTC is already the next day in Shanghai (UTC+8).
    late = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    for zone, expected in (("Asia/Shanghai", "2026-03-02"), ("UTC", "2026-03-01")):
        settings = DashboardSettings(timezone=zone, clock=lambda: late)
        folder = tmp_path / zone.replace("/", "-")
        folder.mkdir()
        with running_server(folder, dashboard=settings) as live:
            assert add_manager(live) == 0
            assert page(live).ids["summary"].attrs["data-day"] == expected
    with pytest.raises(ValueError, match="time zone"):
        DashboardSettings(timezone="Mars/Olympus")


def test_fleet_health_from_heartbeats(server: LiveServer, clock: Clock, tmp_path: Path) -> None:
    kiosks = {name: kiosk(server, tmp_path / name) for name in ("healthy", "worn", "silent")}
    ids = {name: k.credentials.device_id for name, k in kiosks.items()}
    refreshed = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    stale = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    kiosks["healthy"].client.heartbeat(
        {
            "version": "1.2.0",
            "queue_depth": 0,
            "health": {"printer": "ready", "trust_store_refreshed_at": refreshed},
        }
    )
    kiosks["worn"].client.heartbeat(
        {
            "version": "1.1.0",
            "queue_depth": 7,
            "quarantined": 2,
            "health": {"printer": "paper_low", "trust_store_refreshed_at": stale},
        }
    )

    fleet = page(server).devices
    good = fleet[ids["healthy"]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d\S+", good.pop("last_sync"))
    assert good == {
        "data-online": "true",
        "data-problem": "false",
        "online": "在线",
        "queue_depth": "0",
        "printer": "正常",
        "paper": "充足",
        "trust_store_age": "3 小时",
        "problems": "—",
    }
    bad = fleet[ids["worn"]]
    assert (bad["data-online"], bad["data-problem"], bad["queue_depth"]) == ("true", "true", "7")
    assert (bad["printer"], bad["paper"]) == ("正常", "将尽")
    assert bad["problems"] == "上传积压，2 条被拒，纸张将尽，信任库过旧"
    never = fleet[ids["silent"]]
    assert (never["data-online"], never["data-problem"], never["last_sync"], never["problems"]) == (
        "false",
        "true",
        "—",
        "从未上报",
    )

    clock.offset = timedelta(minutes=11)  # no heartbeat for longer than the online window
    later = page(server)
    assert (later.devices[ids["healthy"]]["data-online"], later.devices[ids["healthy"]]["problems"]) == (
        "false",
        "离线",
    )
    assert [later.number(n) for n in ("devices-online", "devices-total", "devices-problems")] == [0, 3, 3]


def test_everything_shown_is_escaped(server: LiveServer, tmp_path: Path) -> None:
    nasty = '<script>alert("x")</script>'
    client = kiosk(server, tmp_path / "k", site="<b>site</b>", name=nasty).client
    client.heartbeat(
        {
            "version": "<i>1</i>",
            "queue_depth": 0,
            "health": {"printer": nasty, "trust_store_refreshed_at": "<u>"},
        }
    )
    client.upload("inspection", [inspection("CP-1", "a")])
    response = requests.get(
        server.url + "/dashboard", params={"checkpoint": '"><script>x()</script>'}, auth=(MANAGER, PASSWORD)
    )
    assert response.status_code == 200
    html = response.text
    assert "<script" not in html and "<b>site" not in html and "<i>1" not in html and "<u>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and "&lt;b&gt;site&lt;/b&gt;" in html


def test_bar_chart_scales_to_the_largest_figure() -> None:
    chart = bar_chart(
        [
            CheckpointRow("CP-1", 40, 10, {}),
            CheckpointRow("CP-2", 20, 20, {}),
            CheckpointRow("CP-3", 0, 0, {}),
        ]
    )
    widths = [(row.inspections_width, row.persons_width) for row in chart.rows]
    span = widths[0][0]
    assert span > 0 and widths == [(span, span / 4), (span / 2, span / 2), (0, 0)]
    assert chart.rows[1].y > chart.rows[0].y and chart.height > chart.rows[-1].y + 2 * chart.bar_height
    assert bar_chart([]).rows == []


def test_day_is_spelled_out_in_chinese() -> None:
    today = date(2026, 11, 26)
    assert day_label(today, today) == "2026年11月26日 星期四（今天）"
    assert day_label(date(2026, 11, 25), today) == "2026年11月25日 星期三（昨天）"
    assert day_label(date(2026, 3, 1), today) == "2026年3月1日 星期日"


@pytest.mark.parametrize(
    ("health", "printer", "paper", "problems"),
    [
        ({"printer": "error"}, "故障", "—", ["打印机故障"]),
        ({"printer": "paper_out"}, "无法打印", "缺纸", ["缺纸"]),
        ({"printer": "none"}, "未配备", "—", []),
        ({"printer": "on fire"}, "on fire", "—", ["打印机状态 on fire"]),
        ({}, "—", "—", []),
        ({"trust_store_refreshed_at": "last week"}, "—", "—", ["信任库时间无效"]),
    ],
)
def test_printer_and_trust_store_health(
    health: dict[str, Any], printer: str, paper: str, problems: list[str]
) -> None:
    now = datetime.now(UTC)
    beat = {"version": "1", "queue_depth": 0, "health": health, "at": now.isoformat()}
    row = device_row(Device(id="d", site="s", name="n", heartbeat=beat), DashboardSettings(), now)
    assert (row.online, row.printer, row.paper, row.problems) == (True, printer, paper, problems)

"""The dashboard's decision view (智慧批) against a real server on 127.0.0.1: counts by service and outcome,
the reasons of rejections, the manual queue with its answers masked (never a whole ID number on the page), a
manager deciding one there (audited, by name), and every way a request that is not the signed-in manager's
own form is refused. In headless Chromium too, with a screenshot (KIOSK_SAVE_SCREENSHOTS=1 writes it to
docs/screenshots/dashboard-decisions.png)."""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip(
    "fastapi", reason="the central server's packages are missing: pip install -e '.[central]'"
)

import requests
from central_helpers import BACKENDS, LiveServer, backend_database, running_server
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.bundle import set_part
from central.dashboard import DashboardSettings, form_token, form_token_ok
from central.dashboard_decisions import decision_view, explain, scrub
from central.db import make_engine, migrate, session_factory
from central.decisions import record
from central.keys import CentralKeys, load_keys
from central.managers import set_manager
from central.models import Decision, DecisionAudit, Submission
from kiosk.forms.definition import SERVICES_DIR
from kiosk.paths import PROJECT_ROOT
from protocol.sealing import seal

MANAGER, PASSWORD = "zhang.wei", "correct horse battery"
OTHER, OTHER_PASSWORD = "li.na", "another long password"
NOW = datetime.now(UTC).replace(microsecond=0)
DAY = NOW.date()
# ID numbers of the applicants: none may appear whole on any page.
ELDER, ELDER_2, DISABLED, DRIVER = (
    "440305194103120020",
    "440305195001010036",
    "440305197205150013",
    "440305198811020037",
)
TYPED_INTO_ORIGIN = "440305194606070010"  # a driver who typed an ID number into the free-text origin
UNDER_80 = {"zh-CN": "申请人未满80周岁", "en": "The applicant is under 80 years of age"}
ALREADY = {
    "zh-CN": "申请人已在领取高龄老人津贴",
    "en": "The applicant already receives the elderly allowance",
}
BLOCKED = {
    "zh-CN": "该车辆在车辆登记的禁止通行名单中",
    "en": "The vehicle is on the vehicle register's blocked list",
}


_ORDER = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Filled:
    manual_disability: str
    manual_vehicle: str
    expected: dict[str, dict[str, int]]  # service -> outcome -> count, on DAY


def _submission(
    session: Session,
    keys: CentralKeys,
    service: str,
    clear: dict[str, Any],
    personal: dict[str, Any],
    day: date = DAY,
) -> Submission:
    # A minute apart, in the order made: the queue shows the oldest first.
    at = datetime.combine(day, time(8, 0), tzinfo=UTC) + timedelta(minutes=next(_ORDER))
    row = Submission(
        id=str(uuid.uuid4()),
        device_id=str(uuid.uuid4()),
        site="市民服务中心",
        service_id=service,
        submitted_at=at,
        local_day=day,
        fields={"number": f"SS01-{day:%m%d}-{uuid.uuid4().int % 10000:04d}", "service_version": 1} | clear,
        sealed_personal=seal(keys.seal_public, json.dumps(personal, ensure_ascii=False).encode()),
        content_hash="0" * 64,
        received_at=at,
        via="api",
    )
    session.add(row)
    session.commit()
    return row


def _decide(
    session: Session, submission: Submission, outcome: str, reasons: list[dict[str, str]], note: str = ""
) -> None:
    record(
        session,
        submission,
        outcome=outcome,  # type: ignore[arg-type]
        reasons=reasons,
        rule=f"{submission.service_id}@1",
        datasets={"household-extract": "2026-12-07.1"},
        note=note,
        code="KP1:TEST" if outcome == "approved" else None,
        decided_at=submission.submitted_at,
    )
    session.commit()


def fill(session: Session, keys: CentralKeys) -> Filled:
    """A day of decisions on the three shipped services, one approval the day before, two waiting."""
    set_part(
        session,
        "services",
        [
            json.loads((SERVICES_DIR / f"{s}.json").read_text("utf-8"))
            for s in ("vehicle-pass", "elderly-allowance", "disability-subsidy")
        ],
    )
    vehicle = {"plate": "粤B12345", "vehicle_type": "car", "origin": "广州市天河区", "destination": "韶关市"}
    driver = {"driver_name": "王小明", "driver_id": DRIVER, "phone": "13800138000", "passengers": []}
    elder = {"name": "赵桂兰", "id_number": ELDER, "phone": "13900139000"}
    for _ in range(2):
        _decide(session, _submission(session, keys, "vehicle-pass", vehicle, driver), "approved", [])
    _decide(session, _submission(session, keys, "vehicle-pass", vehicle, driver), "rejected", [BLOCKED])
    waiting_vehicle = _submission(
        session, keys, "vehicle-pass", vehicle | {"origin": f"{TYPED_INTO_ORIGIN}号"}, driver
    )
    _decide(session, waiting_vehicle, "manual", [], "data set 'risk-areas' version 2026-12-01.1 is stale")
    _decide(session, _submission(session, keys, "elderly-allowance", {}, elder), "approved", [])
    younger = elder | {"id_number": ELDER_2}
    _decide(session, _submission(session, keys, "elderly-allowance", {}, younger), "rejected", [UNDER_80])
    _decide(
        session, _submission(session, keys, "elderly-allowance", {}, younger), "rejected", [UNDER_80, ALREADY]
    )
    waiting_disability = _submission(
        session,
        keys,
        "disability-subsidy",
        {"subsidy": "nursing"},
        {"name": "陈建华", "id_number": DISABLED, "phone": "13700137000"},
    )
    _decide(session, waiting_disability, "manual", [], "the rule said so")
    yesterday = _submission(session, keys, "elderly-allowance", {}, elder, day=DAY - timedelta(days=1))
    _decide(session, yesterday, "approved", [])
    return Filled(
        waiting_disability.id,
        waiting_vehicle.id,
        {
            "vehicle-pass": {"approved": 2, "rejected": 1, "manual": 1, "total": 4},
            "elderly-allowance": {"approved": 1, "rejected": 2, "manual": 0, "total": 3},
            "disability-subsidy": {"approved": 0, "rejected": 0, "manual": 1, "total": 1},
        },
    )


@dataclass
class Live:
    server: LiveServer
    keys: CentralKeys
    sessions: Any
    filled: Filled
    clock: Clock

    def session(self) -> Session:
        session: Session = self.sessions()
        return session


@pytest.fixture(params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """A filled server on SQLite, and one on PostgreSQL where one is configured."""
    clock = Clock()
    settings = DashboardSettings(timezone="UTC", clock=clock)
    with (
        backend_database(request.param, tmp_path) as url,
        running_server(tmp_path, url, device_rate=(1000.0, 1000.0), dashboard=settings) as server,
    ):
        engine = make_engine(server.database_url)
        sessions = session_factory(engine)
        keys = load_keys(server.key_dir)
        with sessions() as session:
            set_manager(session, MANAGER, PASSWORD)
            set_manager(session, OTHER, OTHER_PASSWORD)
            filled = fill(session, keys)
        yield Live(server, keys, sessions, filled, clock)
        engine.dispose()


@dataclass
class DecisionPage:
    html: str
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> attrs
    by_service: dict[str, dict[str, int]] = field(default_factory=dict)
    trend: dict[str, dict[str, int]] = field(default_factory=dict)
    reasons: list[tuple[str, str, str, int]] = field(default_factory=list)  # service, zh, en, count
    # submission id -> {"text": the case's text, "token": its forms' token}
    queue: dict[str, dict[str, str]] = field(default_factory=dict)


class _Parser(HTMLParser):
    def __init__(self, page: DecisionPage) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[tuple[str, dict[str, str], list[str]]] = []
        self.reason: dict[str, str] = {}

    def _nearest(self, attr: str) -> str | None:
        return next((a[attr] for _, a, _ in reversed(self.stack) if attr in a), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.page.ids[values["id"]] = values
        case = self._nearest("data-submission")
        if tag == "input" and values.get("name") == "token" and case is not None:
            self.page.queue[case]["token"] = values["value"]
        if "data-submission" in values:
            self.page.queue[values["data-submission"]] = {"text": ""}
        if tag not in ("input", "br", "meta"):
            self.stack.append((tag, values, []))

    def handle_data(self, data: str) -> None:
        for _, _, text in self.stack:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            name, attrs, text = self.stack.pop()
            content = "".join(text).strip()
            table = self._nearest("id")
            if "data-figure" in attrs:
                if table == "by-service":
                    service = self._nearest("data-service") or ""
                    self.page.by_service.setdefault(service, {})[attrs["data-figure"]] = int(content)
                elif table == "trend":
                    on = self._nearest("data-day") or ""
                    self.page.trend.setdefault(on, {})[attrs["data-figure"]] = int(content)
            if "data-field" in attrs and self._nearest("data-count") is not None:
                self.reason[attrs["data-field"]] = content
            if "data-count" in attrs:
                row = (attrs["data-service"], self.reason["zh"], self.reason["en"], int(attrs["data-count"]))
                self.page.reasons.append(row)
            if "data-submission" in attrs:
                self.page.queue[attrs["data-submission"]]["text"] = content
            if name == tag:
                return


def parse(html: str) -> DecisionPage:
    page = DecisionPage(html)
    parser = _Parser(page)
    parser.feed(html)
    parser.close()
    return page


def get_page(live: Live, **params: str) -> DecisionPage:
    response = requests.get(
        live.server.url + "/dashboard/decisions", params=params, auth=(MANAGER, PASSWORD), timeout=30
    )
    assert response.status_code == 200, response.text
    return parse(response.text)


def post(
    live: Live, form: dict[str, str], auth: tuple[str, str] | None = (MANAGER, PASSWORD), **kw: Any
) -> requests.Response:
    return requests.post(
        live.server.url + "/dashboard/decisions/decide",
        data=form,
        auth=auth,
        allow_redirects=False,
        timeout=30,
        **kw,
    )


def state(live: Live, submission_id: str) -> tuple[str, str, int]:
    """The decision's outcome, who decided, and how many audit rows the submission has."""
    with live.session() as session:
        row = session.get(Decision, submission_id)
        assert row is not None
        audits = session.scalar(
            select(func.count())
            .select_from(DecisionAudit)
            .where(DecisionAudit.submission_id == submission_id)
        )
        return row.outcome, row.decided_by, int(audits or 0)


def test_counts_reasons_and_the_queue_with_answers_masked(live: Live) -> None:
    page = get_page(live, day=DAY.isoformat())
    expected = live.filled.expected
    assert page.by_service == expected
    # The same counts straight from the tables (the present outcome of the day's applications).
    with live.session() as session:
        counted = session.execute(
            select(Decision.service_id, Decision.outcome, func.count())
            .join(Submission, Submission.id == Decision.submission_id)
            .where(Submission.local_day == DAY)
            .group_by(Decision.service_id, Decision.outcome)
        ).all()
    assert {(s, o): n for s, o, n in counted} == {
        (s, o): n for s, row in expected.items() for o, n in row.items() if o != "total" and n
    }
    for outcome in ("approved", "rejected", "manual"):
        assert page.ids[f"total-{outcome}"]["data-value"] == str(sum(r[outcome] for r in expected.values()))
    # Seven days; the day before holds its one approval.
    assert len(page.trend) == 7
    assert page.trend[(DAY - timedelta(days=1)).isoformat()] == {"approved": 1, "rejected": 0, "manual": 0}
    assert page.trend[DAY.isoformat()] == {"approved": 3, "rejected": 3, "manual": 2}
    # Rejections' reasons, most often given first.
    assert [(s, zh, n) for s, zh, _, n in page.reasons] == [
        ("elderly-allowance", UNDER_80["zh-CN"], 2),
        ("elderly-allowance", ALREADY["zh-CN"], 1),
        ("vehicle-pass", BLOCKED["zh-CN"], 1),
    ]
    assert page.reasons[2][2] == BLOCKED["en"]

    # The queue: both waiting applications, oldest first, with why they wait.
    assert page.ids["queue-total"]["data-value"] == "2"
    assert list(page.queue) == [live.filled.manual_vehicle, live.filled.manual_disability]
    disability = page.queue[live.filled.manual_disability]["text"]
    assert "陈*华" in disability and "440***********0013" in disability and "137****7000" in disability
    assert "重度残疾人护理补贴" in disability  # the choice shown by its label
    assert "规则要求人工审批" in disability and "the rule said so" in disability
    vehicle = page.queue[live.filled.manual_vehicle]["text"]
    assert "王*明" in vehicle and "440***********0037" in vehicle and "粤B12345" in vehicle
    assert "数据集 risk-areas（版本 2026-12-01.1）已过期" in vehicle and "is stale" in vehicle
    # An ID number typed where the form did not expect one is masked too.
    assert "440***********0010号" in vehicle
    # No whole ID number anywhere on the page, nor a whole name of a waiting applicant.
    for number in (ELDER, ELDER_2, DISABLED, DRIVER, TYPED_INTO_ORIGIN):
        assert number not in page.html
    assert "陈建华" not in page.html and "王小明" not in page.html
    # Nothing decided today for the day after: an empty view, not an error.
    empty = get_page(live, day=(DAY + timedelta(days=1)).isoformat())
    assert empty.by_service == {} and empty.ids["queue-total"]["data-value"] == "2"


def test_a_manager_approves_and_rejects_from_the_queue_and_is_named_in_the_audit(live: Live) -> None:
    page = get_page(live, day=DAY.isoformat())
    disability, vehicle = live.filled.manual_disability, live.filled.manual_vehicle

    form = {"submission_id": disability, "token": page.queue[disability]["token"], "day": DAY.isoformat()}
    response = post(live, form | {"action": "approve"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/dashboard/decisions?day={DAY.isoformat()}&decided={disability}"
    assert state(live, disability) == ("approved", "manager", 2)
    with live.session() as session:
        audit = session.scalars(
            select(DecisionAudit).where(DecisionAudit.submission_id == disability).order_by(DecisionAudit.id)
        ).all()
        assert [(a.outcome, a.decided_by, a.manager) for a in audit] == [
            ("manual", "rules", None),
            ("approved", "manager", MANAGER),
        ]
        row = session.get(Decision, disability)
        assert row is not None and row.code and row.code.startswith("KP1:")

    after = get_page(live, day=DAY.isoformat(), decided=disability)
    assert "notice" in after.ids and "：批准" in after.html
    assert after.ids["queue-total"]["data-value"] == "1" and list(after.queue) == [vehicle]
    assert after.by_service["disability-subsidy"] == {"approved": 1, "rejected": 0, "manual": 0, "total": 1}

    # A rejection needs its reason in both languages: refused, said why, still waiting.
    form = {"submission_id": vehicle, "token": after.queue[vehicle]["token"], "day": DAY.isoformat()}
    refused = post(live, form | {"action": "reject", "reason_zh": "", "reason_en": ""})
    assert refused.status_code == 409 and "at least one reason" in refused.text
    assert "不予批准须写明理由" in refused.text  # in the managers' language first
    assert state(live, vehicle) == ("manual", "rules", 1)
    reason = {
        "reason_zh": "出发地填写有误，请重新申请",
        "reason_en": "The origin is not a place; apply again",
    }
    assert post(live, form | {"action": "reject"} | reason).status_code == 303
    assert state(live, vehicle) == ("rejected", "manager", 2)
    with live.session() as session:
        row = session.get(Decision, vehicle)
        assert row is not None and row.code is None
        assert row.reasons == [{"zh-CN": reason["reason_zh"], "en": reason["reason_en"]}]
    # Decided already: a second form (an old page, another manager's tab) changes nothing.
    again = post(live, form | {"action": "approve"})
    assert again.status_code == 409 and "该申请已有审批结果" in again.text and "already decided" in again.text
    assert state(live, vehicle) == ("rejected", "manager", 2)


def test_only_the_signed_in_managers_own_form_decides(live: Live) -> None:
    waiting = live.filled.manual_disability
    page = get_page(live, day=DAY.isoformat())
    good = {"submission_id": waiting, "token": page.queue[waiting]["token"], "action": "approve"}

    assert post(live, good, auth=None).status_code == 401  # not signed in
    assert post(live, good, auth=(MANAGER, "wrong password!")).status_code == 401
    assert post(live, good | {"token": ""}).status_code == 403  # no form token
    assert post(live, good | {"token": "9999999999.abc"}).status_code == 403  # a forged one
    # A token for the other waiting application does not decide this one.
    other = page.queue[live.filled.manual_vehicle]["token"]
    assert post(live, good | {"token": other}).status_code == 403
    # Another manager cannot use the token the page gave this one (nor this one a token of theirs).
    assert post(live, good, auth=(OTHER, OTHER_PASSWORD)).status_code == 403
    # Sent from a page elsewhere: the browser says so.
    assert post(live, good, headers={"Origin": "https://evil.example"}).status_code == 403
    assert post(live, good, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    # An expired token: the page was left open longer than a working day.
    live.clock.offset = timedelta(hours=13)
    assert post(live, good).status_code == 403
    live.clock.offset = timedelta(0)
    # Nothing of that decided anything or wrote an audit row.
    assert state(live, waiting) == ("manual", "rules", 1)
    # Reading the view needs signing in too.
    bare = requests.get(live.server.url + "/dashboard/decisions", timeout=30)
    assert bare.status_code == 401 and "WWW-Authenticate" in bare.headers
    assert DISABLED[-4:] not in bare.text
    # The same form, sent properly, decides.
    same_origin = {"Origin": live.server.url, "Sec-Fetch-Site": "same-origin"}
    assert post(live, good, headers=same_origin).status_code == 303
    assert state(live, waiting) == ("approved", "manager", 2)


def test_form_tokens_and_scrubbing() -> None:
    key, now = b"k" * 32, datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    token = form_token(key, MANAGER, "a", now)
    assert form_token_ok(key, token, MANAGER, "a", now + timedelta(hours=11))
    assert not form_token_ok(key, token, MANAGER, "a", now + timedelta(hours=13))
    assert not form_token_ok(key, token, OTHER, "a", now)
    assert not form_token_ok(key, token, MANAGER, "b", now)
    assert not form_token_ok(b"j" * 32, token, MANAGER, "a", now)
    assert scrub(f"到 {ELDER} 与 11010519491231002x，旧号 110105491231002") == (
        "到 440***********0020 与 110***********002x，旧号 110********1002"
    )
    # Digits that are not an ID number's shape stay: a phone, a count, a longer reference.
    assert scrub("13800138000 共 3 人 1234567890123456789") == "13800138000 共 3 人 1234567890123456789"


def test_why_a_case_waits_is_said_in_chinese_with_the_audit_note_kept() -> None:
    # Every kind of note the deciding side writes has its Chinese line; an unknown one is shown alone.
    assert explain("data set 'household-extract' is not loaded") == "数据集 household-extract 未载入"
    assert explain("the rule ran longer than 0.5 s") == "规则运行超时"
    assert explain("the rule raised: no such function") == "规则运行出错"
    assert explain("personal answers cannot be opened: bad box") == "个人信息无法解密"
    assert explain("deciding failed: OperationalError: locked") == "自动审批出错"
    assert explain("decided by manager zhang.wei") == ""


def test_the_decision_view_in_chromium(live: Live, tmp_path: Path) -> None:
    from test_dashboard_browser import SCREEN_WIDTH, Browser, chromium, crop_to_content

    browser = Browser(chromium(), tmp_path)
    base = live.server.url.replace("http://", f"http://{MANAGER}:{PASSWORD.replace(' ', '%20')}@")
    url = f"{base}/dashboard/decisions?day={DAY.isoformat()}"
    page = parse(browser.run(url, "--dump-dom"))
    assert page.by_service == live.filled.expected
    assert list(page.queue) == [live.filled.manual_vehicle, live.filled.manual_disability]
    for number in (ELDER, ELDER_2, DISABLED, DRIVER, TYPED_INTO_ORIGIN):
        assert number not in page.html
    shot = tmp_path / "decisions.png"
    browser.screenshot(url, shot)
    image = crop_to_content(shot)
    # Styled and complete: the full width, down past the queue's two cases.
    assert image.width == SCREEN_WIDTH and 900 < image.height < 2400
    if os.environ.get("KIOSK_SAVE_SCREENSHOTS") == "1":
        image.save(PROJECT_ROOT / "docs" / "screenshots" / "dashboard-decisions.png", optimize=True)


def test_a_service_without_a_definition_and_a_seal_that_does_not_open(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}")
    migrate(engine)
    keys = load_keys(tmp_path / "keys")
    with session_factory(engine)() as session:
        # A service the server has no definition of: its clear answers shown, its personal ones hidden.
        unknown = _submission(
            session, keys, "library-card", {"branch": "东湖分馆"}, {"name": "赵桂兰", "id_number": ELDER}
        )
        _decide(session, unknown, "manual", [], "the rule said so")
        # A personal part sealed to another key: the case is still listed, without what it cannot open.
        broken = _submission(session, keys, "elderly-allowance", {}, {})
        broken.sealed_personal = seal(load_keys(tmp_path / "other-keys").seal_public, b'{"name": "x"}')
        session.commit()
        _decide(session, broken, "manual", [], "the rule said so")
        view = decision_view(session, keys, DAY, ZoneInfo("UTC"), NOW, {})
    engine.dispose()
    assert [item.submission_id for item in view.queue] == [unknown.id, broken.id]
    shown = {a.label: a.value for a in view.queue[0].answers}
    assert shown == {"branch": "东湖分馆", "id_number": "（已隐藏）", "name": "（已隐藏）"}
    assert view.queue[0].service == "library-card"
    assert view.queue[1].service == "高龄老人津贴申请" and view.queue[1].answers == []

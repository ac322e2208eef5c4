"""The managers' web dashboard at ``/dashboard``: server-rendered pages (Jinja2, autoescaped), no JavaScript.

For one day: per checkpoint, inspections (人次) and unique persons (人数) by verdict, with an inline SVG bar
chart; per service, submissions (提交数); and the fleet (设备状态) from the kiosks' last heartbeats.

The day is the kiosks' own ``local_day`` as they recorded it; "today", the default, is today in the server's
configured time zone (``--timezone``, default Asia/Shanghai), which is also the zone times are shown in.

Heartbeats carry ``version``, ``queue_depth`` and ``quarantined``; the fleet table also reads these optional
keys of their ``health`` object, and shows "—" for a kiosk that does not report them:

- ``printer``: the receipt printer's state as the kiosk's printer drivers name it (``ready``, ``paper_low``,
  ``paper_out``, ``cover_open``, ``offline``, ``timeout``, ``error``), or ``none`` where no printer is fitted
- ``trust_store_refreshed_at``: ISO 8601 time the kiosk's trust store was last refreshed

Managers sign in with HTTP Basic against the accounts ``kiosk-central manager-add`` creates; devices'
credentials do not open it.

``/dashboard/decisions`` is the decision view (智慧批, :mod:`central.dashboard_decisions`): counts by service
and outcome, the reasons of rejections, and the queue of applications the rules left to a person, which a
manager approves or rejects there. That is the dashboard's one action: a POST that must carry the manager's
credentials, come from the dashboard's own origin and carry a form token the page issued to that manager for
that application (an HMAC with a server-held key, valid for a working day), so that a page elsewhere cannot
make a signed-in manager's browser decide; the decision and its audit row naming the manager are written by
:func:`central.decisions.decide_manually`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.api_v1 import CentralState
from central.auth import RateLimiter, enforce
from central.dashboard_decisions import OUTCOME_LABELS, OUTCOMES, decision_view
from central.db import as_utc, utcnow
from central.decisions import DecisionError, decide_manually
from central.managers import stored_hash
from central.models import BundlePart, Decision, Device, Submission
from central.signin import (
    COOKIE_NAME,
    AccountThrottle,
    DeviceCookies,
    PasswordChecker,
    SignInBusy,
    cookie_key,
)
from central.stats import VERDICTS, statistics, unique_persons

DEFAULT_TIMEZONE = "Asia/Shanghai"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
VERDICT_LABELS = {"green": "通过", "yellow": "人工核验", "red": "禁止通行"}
# Printer state -> (打印机 column, 纸张 column, problem or None). Paper low still prints: a problem to act on
# soon, not a fault.
PRINTER_STATES = {
    "ready": ("正常", "充足", None),
    "paper_low": ("正常", "将尽", "纸张将尽"),
    "paper_out": ("无法打印", "缺纸", "缺纸"),
    "cover_open": ("纸仓盖打开", "—", "打印机纸仓盖打开"),
    "offline": ("离线", "—", "打印机离线"),
    "timeout": ("无响应", "—", "打印机无响应"),
    "error": ("故障", "—", "打印机故障"),
    "none": ("未配备", "—", None),
}
_REALM = 'Basic realm="kiosk-central dashboard", charset="UTF-8"'
# No script may run and nothing may be fetched: the page is one self-contained document.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# A form token lasts a working day: a manager may leave the queue open between decisions.
FORM_TOKEN_LIFETIME_S = 12 * 3600
# A decision form: an id, a token and two reasons of at most 500 characters each (UTF-8, percent-encoded).
MAX_FORM_BYTES = 16 * 1024


@dataclass(frozen=True)
class DashboardSettings:
    timezone: str = DEFAULT_TIMEZONE
    online_within: timedelta = timedelta(minutes=10)
    # A queue this long means the kiosk has not been able to deliver for a while.
    queue_alert: int = 200
    trust_store_max_age: timedelta = timedelta(days=7)
    # Sign-in attempts per client address: (per second, burst). Each costs a slow hash.
    login_rate: tuple[float, float] = (0.5, 20.0)
    # Failures on one account: that many free, then a delay from the first figure doubling up to the second
    # (seconds); see central.signin.
    account_free_failures: int = 5
    account_delay: tuple[float, float] = (1.0, 300.0)
    # Password checks waiting their turn beyond this are refused with 503 (a flood); one starts at most every
    # so many seconds (see central.signin).
    max_waiting_checks: int = 64
    check_interval_s: float = 0.5
    clock: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}; e.g. {DEFAULT_TIMEZONE}") from None
        if self.online_within <= timedelta(0):
            raise ValueError("the online window must be positive")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DashboardSettings:
        """KIOSK_CENTRAL_TIMEZONE and KIOSK_CENTRAL_ONLINE_MINUTES, as ``kiosk-central serve`` sets them."""
        return cls(
            timezone=environ.get("KIOSK_CENTRAL_TIMEZONE", DEFAULT_TIMEZONE),
            online_within=timedelta(minutes=float(environ.get("KIOSK_CENTRAL_ONLINE_MINUTES", "10"))),
        )


@dataclass
class DashboardState:
    settings: DashboardSettings
    login_limiter: RateLimiter
    accounts: AccountThrottle
    checker: PasswordChecker
    cookies: DeviceCookies
    form_key: bytes
    templates: Environment = field(
        default_factory=lambda: Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )


def install_dashboard(app: FastAPI, settings: DashboardSettings, server_secret: bytes) -> None:
    base, cap = settings.account_delay
    checker = PasswordChecker(settings.max_waiting_checks, settings.check_interval_s)
    app.state.dashboard = DashboardState(
        settings,
        RateLimiter(*settings.login_rate),
        AccountThrottle(settings.account_free_failures, base, cap),
        checker,
        DeviceCookies(cookie_key(server_secret)),
        hmac.new(server_secret, b"kiosk-central dashboard form token", hashlib.sha256).digest(),
    )
    app.router.on_shutdown.append(checker.close)
    app.include_router(router)


def _dashboard_state(request: Request) -> DashboardState:
    state: DashboardState = request.app.state.dashboard
    return state


router = APIRouter(include_in_schema=False)


# --- what the templates show -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointRow:
    checkpoint_id: str
    inspections: int
    persons: int
    by_verdict: dict[str, int]


@dataclass(frozen=True)
class ServiceRow:
    service_id: str
    name: str
    submissions: int


@dataclass(frozen=True)
class DeviceRow:
    id: str
    name: str
    site: str
    online: bool
    version: str
    queue_depth: int | None
    quarantined: int | None
    printer: str
    paper: str
    last_sync: str
    last_sync_ago: str
    trust_store_age: str
    problems: list[str]


@dataclass(frozen=True)
class ChartRow:
    label: str
    y: int
    inspections: int
    persons: int
    inspections_width: float
    persons_width: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    label_width: int
    bar_height: int
    rows: list[ChartRow]


_CHART_WIDTH, _CHART_LABEL, _CHART_VALUE, _CHART_BAR, _CHART_ROW, _CHART_TOP = 760, 130, 60, 16, 48, 34


def bar_chart(rows: list[CheckpointRow]) -> Chart:
    """Geometry of the 人次/人数 chart: two bars per checkpoint, scaled to the largest figure."""
    span = _CHART_WIDTH - _CHART_LABEL - _CHART_VALUE
    top = max((max(r.inspections, r.persons) for r in rows), default=0) or 1
    chart_rows = [
        ChartRow(
            label=r.checkpoint_id,
            y=_CHART_TOP + i * _CHART_ROW,
            inspections=r.inspections,
            persons=r.persons,
            inspections_width=round(span * r.inspections / top, 1),
            persons_width=round(span * r.persons / top, 1),
        )
        for i, r in enumerate(rows)
    ]
    height = _CHART_TOP + max(1, len(rows)) * _CHART_ROW
    return Chart(_CHART_WIDTH, height, _CHART_LABEL, _CHART_BAR, chart_rows)


def day_label(day: date, today: date) -> str:
    # Spelled out, because the date picker shows the browser's locale format, which may not be Chinese.
    label = f"{day.year}年{day.month}月{day.day}日 星期{'一二三四五六日'[day.weekday()]}"
    return label + {0: "（今天）", -1: "（昨天）"}.get((day - today).days, "")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _ago(delta: timedelta) -> str:
    minutes = max(0, math.floor(delta.total_seconds() / 60))
    if minutes < 1:
        return "刚刚"
    if minutes < 60:
        return f"{minutes} 分钟前"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时前"
    return f"{minutes // (24 * 60)} 天前"


def _age(delta: timedelta) -> str:
    hours = max(0, math.floor(delta.total_seconds() / 3600))
    if hours < 1:
        return "不到 1 小时"
    if hours < 48:
        return f"{hours} 小时"
    return f"{hours // 24} 天"


def _count(value: Any) -> int | None:
    # bool is an int in Python, but a heartbeat saying "queue_depth": true is not a count.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def device_row(device: Device, settings: DashboardSettings, now: datetime) -> DeviceRow:
    beat: dict[str, Any] = device.heartbeat or {}
    sent = beat.get("health")
    health: dict[str, Any] = sent if isinstance(sent, dict) else {}
    at = _parse_time(beat.get("at"))
    online = at is not None and now - at <= settings.online_within
    problems = []
    if at is None:
        problems.append("从未上报")
    elif not online:
        problems.append("离线")
    queue, quarantined = _count(beat.get("queue_depth")), _count(beat.get("quarantined"))
    if queue is not None and queue >= settings.queue_alert:
        problems.append("上传积压")
    if quarantined:
        problems.append(f"{quarantined} 条被拒")
    printer, paper = "—", "—"
    if "printer" in health:
        state = str(health["printer"])
        # A state this server does not know is shown as sent, and counts as a problem until someone looks.
        printer, paper, problem = PRINTER_STATES.get(state, (state, "—", f"打印机状态 {state}"))
        if problem:
            problems.append(problem)
    trust_age = "—"
    if "trust_store_refreshed_at" in health:
        refreshed = _parse_time(health["trust_store_refreshed_at"])
        if refreshed is None:
            trust_age = "无效"
            problems.append("信任库时间无效")
        else:
            trust_age = _age(now - refreshed)
            if now - refreshed > settings.trust_store_max_age:
                problems.append("信任库过旧")
    return DeviceRow(
        id=device.id,
        name=device.name,
        site=device.site,
        online=online,
        version=str(beat.get("version", "—")),
        queue_depth=queue,
        quarantined=quarantined,
        printer=printer,
        paper=paper,
        last_sync="—" if at is None else at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M"),
        last_sync_ago="" if at is None else _ago(now - at),
        trust_store_age=trust_age,
        problems=problems,
    )


def service_names(session: Session) -> dict[str, str]:
    """Chinese titles of the services defined in the bundle, where there are any."""
    part = session.get(BundlePart, "services")
    names = {}
    for service in part.content if part is not None and isinstance(part.content, list) else []:
        if not isinstance(service, dict) or not isinstance(service.get("id"), str):
            continue
        title = service.get("title", service.get("name"))
        if isinstance(title, dict):
            title = title.get("zh-CN")
        if isinstance(title, str) and title:
            names[service["id"]] = title
    return names


# --- the page -----------------------------------------------------------------------------------------------


def _too_many(wait: float) -> HTTPException:
    return HTTPException(429, "too many requests", headers={"Retry-After": str(max(1, math.ceil(wait)))})


async def signed_in_manager(request: Request) -> str | None:
    """The manager's name when the request carries their valid Basic credentials, else None. Refuses with
    429 while the address or the account must wait, 503 while too many checks are waiting."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    state = _dashboard_state(request)
    try:
        name, sep, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not sep:
        return None
    cookie = request.cookies.get(COOKIE_NAME)
    known_browser = state.cookies.account(cookie) == name
    # Counted before the slow hash, so guessing costs the server no more than the limits allow. A browser
    # this account signed in from has an allowance of its own, which guessing elsewhere cannot use up.
    enforce(state.login_limiter, f"cookie:{cookie}" if known_browser else _client(request))
    if not known_browser and (wait := state.accounts.wait(name)):
        raise _too_many(wait)

    def read_hash() -> str | None:
        with _central(request).sessions() as session:
            return stored_hash(session, name)

    stored = await run_in_threadpool(read_hash)
    try:
        ok = await state.checker.check(stored, password, known=known_browser)
    except SignInBusy:
        raise HTTPException(503, "sign-in busy, retry later", headers={"Retry-After": "5"}) from None
    if not known_browser:
        state.accounts.record(name, ok)
    return name if ok else None


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _central(request: Request) -> CentralState:
    state: CentralState = request.app.state.central
    return state


def _page(state: DashboardState, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = state.templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


async def _manager_page(
    request: Request, render: Callable[[Session, DashboardState, str], HTMLResponse]
) -> HTMLResponse:
    """A page for a signed-in manager (the sign-in page otherwise), rendered off the event loop with a
    session of its own; the browser is remembered as the manager's."""
    state = _dashboard_state(request)
    manager = await signed_in_manager(request)
    if manager is None:
        return _sign_in_page(state)

    def run() -> HTMLResponse:
        with _central(request).sessions() as session:
            return render(session, state, manager)

    return _remember_browser(request, state, manager, await run_in_threadpool(run))


@router.get("/dashboard")
async def dashboard(
    request: Request, day: str = "", checkpoint: str = Query("", max_length=64)
) -> HTMLResponse:
    return await _manager_page(
        request, lambda session, state, manager: _dashboard_page(session, state, manager, day, checkpoint)
    )


def _remember_browser(
    request: Request, state: DashboardState, manager: str, response: HTMLResponse
) -> HTMLResponse:
    response.set_cookie(
        COOKIE_NAME,
        state.cookies.issue(manager),
        max_age=int(state.cookies.lifetime_s),
        path="/dashboard",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


def _sign_in_page(state: DashboardState) -> HTMLResponse:
    response = _page(state, "signin.html", status=401)
    response.headers["WWW-Authenticate"] = _REALM
    return response


def _shown_day(day: str, today: date) -> date:
    try:
        shown = date.fromisoformat(day) if day else today
    except ValueError:
        shown = date.min
    # The first and last representable days are refused too: the page links to the day before and after.
    if not date.min < shown < date.max:
        raise HTTPException(400, "day must be a date, YYYY-MM-DD")
    return shown


def _dashboard_page(
    session: Session, state: DashboardState, manager: str, day: str, checkpoint: str
) -> HTMLResponse:
    settings = state.settings
    now = settings.clock()
    today = now.astimezone(settings.zone).date()
    shown = _shown_day(day, today)

    stats = statistics(session, since=shown, until=shown)
    all_rows = [
        CheckpointRow(r.checkpoint_id, r.inspections, r.persons, dict(r.by_verdict))
        for r in stats.inspections
    ]
    rows = [r for r in all_rows if not checkpoint or r.checkpoint_id == checkpoint]
    names = service_names(session)
    services = [
        ServiceRow(s.service_id, names.get(s.service_id, ""), s.submissions) for s in stats.submissions
    ]
    devices = [
        device_row(d, settings, now)
        for d in session.scalars(
            select(Device).where(Device.revoked_at.is_(None)).order_by(Device.site, Device.name, Device.id)
        )
    ]

    def link(to: date) -> str:
        return "?" + urlencode({"day": to.isoformat()} | ({"checkpoint": checkpoint} if checkpoint else {}))

    return _page(
        state,
        "dashboard.html",
        manager=manager,
        day=shown,
        day_label=day_label(shown, today),
        today=today,
        previous_link=link(shown - timedelta(days=1)),
        next_link=link(shown + timedelta(days=1)),
        timezone=settings.timezone,
        online_minutes=round(settings.online_within.total_seconds() / 60),
        generated=now.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M"),
        checkpoint=checkpoint,
        checkpoint_options=sorted({r.checkpoint_id for r in all_rows} | {checkpoint} - {""}),
        rows=rows,
        verdicts=[(v, VERDICT_LABELS[v]) for v in VERDICTS],
        totals={
            "inspections": sum(r.inspections for r in rows),
            "persons": unique_persons(session, shown, checkpoint or None),
            "by_verdict": {v: sum(r.by_verdict[v] for r in rows) for v in VERDICTS},
            "submissions": sum(s.submissions for s in services),
        },
        chart=bar_chart(rows),
        services=services,
        devices=devices,
        online_count=sum(d.online for d in devices),
        problem_count=sum(bool(d.problems) for d in devices),
    )


# --- the decision view (智慧批) -----------------------------------------------------------------------


def form_token(key: bytes, manager: str, submission_id: str, now: datetime) -> str:
    """The token a decision form carries: good for this manager and this application until it expires."""
    expires = int(now.timestamp()) + FORM_TOKEN_LIFETIME_S
    return f"{expires}.{_form_mac(key, manager, submission_id, expires)}"


def form_token_ok(key: bytes, token: str, manager: str, submission_id: str, now: datetime) -> bool:
    expires, _, mac = token.partition(".")
    if not expires.isdigit() or int(expires) < now.timestamp():
        return False
    return hmac.compare_digest(mac, _form_mac(key, manager, submission_id, int(expires)))


def _form_mac(key: bytes, manager: str, submission_id: str, expires: int) -> str:
    body = f"decide|{manager}|{submission_id}|{expires}".encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _same_origin(request: Request) -> bool:
    """A browser says where a form was sent from (Origin, Sec-Fetch-Site); when it does, it must be here.
    The host is compared, not the scheme: behind a TLS proxy the server itself is reached over HTTP."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


@router.get("/dashboard/decisions")
async def decisions(request: Request, day: str = "", decided: str = Query("", max_length=36)) -> HTMLResponse:
    return await _manager_page(
        request,
        lambda session, state, manager: _decisions_page(
            request, session, state, manager, day, decided=decided
        ),
    )


@router.post("/dashboard/decisions/decide", response_model=None)
async def decide(request: Request) -> HTMLResponse | RedirectResponse:
    state = _dashboard_state(request)
    manager = await signed_in_manager(request)
    if manager is None:
        return _sign_in_page(state)
    if not _same_origin(request):
        raise HTTPException(403, "the form was not sent from this dashboard")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "form too large")
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        raise HTTPException(400, "the form is not UTF-8") from None
    submission_id, day = form.get("submission_id", ""), form.get("day", "")
    now = state.settings.clock()
    if not form_token_ok(state.form_key, form.get("token", ""), manager, submission_id, now):
        raise HTTPException(403, "the form has expired or is not this dashboard's; reload the page")
    action = form.get("action")
    if action not in ("approve", "reject"):
        raise HTTPException(400, "action must be approve or reject")
    zh, en = form.get("reason_zh", "").strip(), form.get("reason_en", "").strip()
    reasons = [{"zh-CN": zh, "en": en}] if action == "reject" and (zh or en) else []
    outcome = "approved" if action == "approve" else "rejected"

    def apply() -> HTMLResponse | RedirectResponse:
        with _central(request).sessions() as session:
            try:
                decide_manually(session, submission_id, outcome, reasons, manager, _central(request).keys)
            except DecisionError as err:
                session.rollback()
                error = f"{err.zh}（{err}）"
                return _decisions_page(request, session, state, manager, day, error=error, status=409)
        query = urlencode({"day": day, "decided": submission_id} if day else {"decided": submission_id})
        return RedirectResponse(f"/dashboard/decisions?{query}", status_code=303, headers=_HEADERS)

    return await run_in_threadpool(apply)


def _decisions_page(
    request: Request,
    session: Session,
    state: DashboardState,
    manager: str,
    day: str,
    decided: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    settings = state.settings
    now = settings.clock()
    today = now.astimezone(settings.zone).date()
    shown = _shown_day(day, today)
    view = decision_view(session, _central(request).keys, shown, settings.zone, now, service_names(session))
    key = state.form_key
    notice = ""
    if decided:
        row = session.get(Decision, decided)
        if row is not None and row.decided_by == "manager":
            submission = session.get(Submission, decided)
            fields = submission.fields if submission and isinstance(submission.fields, dict) else {}
            notice = f"已审批 {fields.get('number') or decided[:8]}：{OUTCOME_LABELS[row.outcome]}"

    def link(to: date) -> str:
        return "?" + urlencode({"day": to.isoformat()})

    return _page(
        state,
        "decisions.html",
        status=status,
        manager=manager,
        day=shown,
        day_label=day_label(shown, today),
        today=today,
        previous_link=link(shown - timedelta(days=1)),
        next_link=link(shown + timedelta(days=1)),
        timezone=settings.timezone,
        generated=now.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M"),
        outcomes=[(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        view=view,
        tokens={q.submission_id: form_token(key, manager, q.submission_id, now) for q in view.queue},
        notice=notice,
        error=error,
    )

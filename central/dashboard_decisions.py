"""What the dashboard's decision view (智慧批, ``/dashboard/decisions``) shows, read from the decision tables.

- Counts by service and outcome of the applications made on one day (the kiosks' ``local_day``, as the main
  page counts submissions), each in its present state: one the rules left to a person counts as ``manual``
  until a manager decides it, then as what the manager decided. Beside it, the same counts for the seven days
  up to that day.
- The reasons of that day's rejections, with how often each was given.
- The ``manual`` queue (every day, oldest first) with the answers masked as the kiosk masks them on screen
  and on receipts (the service definition's ``mask`` rules); the personal answers are opened from their seal
  only to be masked. Whatever the definitions say, no text on the page may carry a whole ID number: every
  run of digits shaped like one is masked before it is shown.

Only reads; a manager's decision goes through :func:`central.decisions.decide_manually`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db import as_utc
from central.decisions import personal_answers
from central.keys import CentralKeys
from central.models import BundlePart, Decision, DecisionAudit, Submission
from kiosk.forms.answers import display_value, mask_answers
from kiosk.forms.definition import SERVICES_DIR, FieldDef, ServiceDefinition, load_catalogue
from kiosk.masking import mask_id_number

log = logging.getLogger(__name__)

OUTCOMES = ("approved", "rejected", "manual")
OUTCOME_LABELS = {"approved": "批准", "rejected": "不予批准", "manual": "待人工审批"}
TREND_DAYS = 7
QUEUE_LIMIT = 100
# What the kiosk adds to a submission's fields beside the answers (kiosk.forms.submissions).
_META_FIELDS = frozenset({"number", "service_version", "device", "identity_source", "ticket"})
# An ID number (15 or 18 characters) anywhere in a text; digits around it make it something else.
_ID_SHAPED = re.compile(r"(?<![0-9])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


# Why a case fell to a person, in the managers' language. The audit note is written for the log (English,
# with versions and error names); the dashboard leads with what it means and keeps the note beneath it.
_WHY: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (r"^the rule said so", "规则要求人工审批"),
        (r"^data set '(?P<set>[^']+)' is not loaded", "数据集 {set} 未载入"),
        (
            r"^data set '(?P<set>[^']+)' version (?P<version>\S+) is stale",
            "数据集 {set}（版本 {version}）已过期",
        ),
        (r"^lookup in data set '(?P<set>[^']+)' failed", "数据集 {set} 查询失败"),
        (r"^the rule ran longer than", "规则运行超时"),
        (r"^the rule raised", "规则运行出错"),
        (r"^the rule returned", "规则未给出有效结果"),
        (r"^identity field", "身份证号无法识别"),
        (r"^personal answers cannot be opened", "个人信息无法解密"),
        (r"^decision file unusable", "规则文件不可用"),
        (r"^deciding failed", "自动审批出错"),
    )
)


def explain(note: str) -> str:
    """What an audit note means, in Chinese; empty for a note of no known kind (the note is shown alone)."""
    for pattern, text in _WHY:
        found = pattern.match(note)
        if found:
            return text.format(**found.groupdict())
    return ""


def scrub(text: str) -> str:
    """``text`` with every ID-number-shaped run masked (first three, last four kept)."""
    return _ID_SHAPED.sub(lambda m: mask_id_number(m.group(0)), text)


@dataclass(frozen=True)
class OutcomeRow:
    key: str  # a service id, or a day (ISO)
    label: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ReasonRow:
    service_id: str
    service: str
    zh: str
    en: str
    count: int


@dataclass(frozen=True)
class Answer:
    label: str
    value: str


@dataclass(frozen=True)
class QueueItem:
    submission_id: str
    number: str
    service_id: str
    service: str
    site: str
    submitted: str
    waiting: str
    rule: str
    note: str
    why: str  # the note explained in Chinese, or empty
    answers: list[Answer]


@dataclass(frozen=True)
class DecisionView:
    by_service: list[OutcomeRow]
    totals: dict[str, int]
    trend: list[OutcomeRow]
    reasons: list[ReasonRow]
    queue: list[QueueItem]
    queue_total: int


def definitions(session: Session) -> dict[str, ServiceDefinition]:
    """The service definitions the kiosks have: the shipped ones and the bundle's (a newer version wins)."""
    part = session.get(BundlePart, "services")
    delivered = [
        s
        for s in (part.content if part is not None and isinstance(part.content, list) else [])
        if isinstance(s, dict) and "steps" in s
    ]
    return dict(load_catalogue((SERVICES_DIR,), delivered).services)


def _title(service_id: str, known: Mapping[str, ServiceDefinition], names: Mapping[str, str]) -> str:
    if service_id in names:
        return names[service_id]
    definition = known.get(service_id)
    return definition.title["zh-CN"] if definition is not None else service_id


def _counts(session: Session, since: date, until: date) -> list[tuple[date, str, str, int]]:
    query = (
        select(Submission.local_day, Decision.service_id, Decision.outcome, func.count())
        .join(Submission, Submission.id == Decision.submission_id)
        .where(Submission.local_day >= since, Submission.local_day <= until)
        .group_by(Submission.local_day, Decision.service_id, Decision.outcome)
    )
    return [(d, s, o, n) for d, s, o, n in session.execute(query)]


def _shown_answers(
    definition: ServiceDefinition | None, clear: Mapping[str, Any], personal: Mapping[str, Any]
) -> list[Answer]:
    answers = {k: v for k, v in clear.items() if k not in _META_FIELDS}
    shown: list[Answer] = []
    if definition is None:
        # No definition to say how to mask: the clear answers only (the kiosk never sends personal ones in
        # clear), and the personal ones hidden.
        shown = [Answer(key, str(value)) for key, value in sorted(answers.items())]
        shown += [Answer(key, "（已隐藏）") for key in sorted(personal)]
    else:
        masked = mask_answers(definition.fields, personal)
        fields: dict[str, FieldDef] = {f.id: f for f in definition.fields}
        for fdef in definition.fields:
            if fdef.id in masked:
                value = display_value(fdef, masked[fdef.id], "zh-CN")
            elif fdef.id in answers:
                value = display_value(fdef, answers[fdef.id], "zh-CN")
            elif fdef.type == "group" and f"{fdef.id}_count" in answers:
                value = f"{answers[f'{fdef.id}_count']} 项"
            else:
                continue
            shown.append(Answer(fdef.label["zh-CN"], value))
        known = set(fields) | {f"{f}_count" for f in fields}
        shown += [Answer(key, str(value)) for key, value in sorted(answers.items()) if key not in known]
    return [Answer(scrub(a.label), scrub(a.value)) for a in shown]


def _waiting(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} 分钟"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时"
    return f"{minutes // (24 * 60)} 天"


def _queue(
    session: Session,
    keys: CentralKeys,
    zone: ZoneInfo,
    now: datetime,
    known: Mapping[str, ServiceDefinition],
    names: Mapping[str, str],
) -> tuple[list[QueueItem], int]:
    waiting = (
        select(Decision, Submission)
        .join(Submission, Submission.id == Decision.submission_id)
        .where(Decision.outcome == "manual")
    )
    total = session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
    rows = session.execute(waiting.order_by(Submission.submitted_at, Submission.id).limit(QUEUE_LIMIT)).all()
    last_note = {
        submission_id: note
        for submission_id, note in session.execute(
            select(DecisionAudit.submission_id, DecisionAudit.note)
            .where(DecisionAudit.submission_id.in_([d.submission_id for d, _ in rows]))
            .order_by(DecisionAudit.id)
        )
    }
    items = []
    for decision, submission in rows:
        try:
            personal = personal_answers(keys, submission)
        except Exception as err:  # a seal that does not open: the rest of the queue is still shown
            log.warning("personal answers of %s do not open: %s", submission.id, type(err).__name__)
            personal = {}
        clear = submission.fields if isinstance(submission.fields, dict) else {}
        submitted = as_utc(submission.submitted_at)
        items.append(
            QueueItem(
                submission_id=submission.id,
                number=scrub(str(clear.get("number") or submission.id[:8])),
                service_id=submission.service_id,
                service=_title(submission.service_id, known, names),
                site=submission.site,
                submitted=submitted.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                waiting=_waiting(as_utc(decision.decided_at), now),
                rule=decision.rule,
                note=scrub(last_note.get(submission.id, "")),
                why=explain(last_note.get(submission.id, "")),
                answers=_shown_answers(known.get(submission.service_id), clear, personal),
            )
        )
    return items, total


def decision_view(
    session: Session,
    keys: CentralKeys,
    day: date,
    zone: ZoneInfo,
    now: datetime,
    names: Mapping[str, str],
) -> DecisionView:
    """The view for ``day``; ``names`` are the services' titles as the bundle gives them."""
    known = definitions(session)
    counted = _counts(session, day - timedelta(days=TREND_DAYS - 1), day)
    per_service: dict[str, Counter[str]] = {}
    per_day: dict[date, Counter[str]] = {day - timedelta(days=i): Counter() for i in range(TREND_DAYS)}
    for on, service_id, outcome, n in counted:
        per_day[on][outcome] += n
        if on == day:
            per_service.setdefault(service_id, Counter())[outcome] += n
    by_service = [
        OutcomeRow(s, _title(s, known, names), {o: per_service[s][o] for o in OUTCOMES})
        for s in sorted(per_service, key=lambda s: (-sum(per_service[s].values()), s))
    ]
    trend = [
        OutcomeRow(d.isoformat(), f"{d.month}月{d.day}日", {o: per_day[d][o] for o in OUTCOMES})
        for d in sorted(per_day)
    ]
    reasons: Counter[tuple[str, str, str]] = Counter()
    for service_id, given in session.execute(
        select(Decision.service_id, Decision.reasons)
        .join(Submission, Submission.id == Decision.submission_id)
        .where(Submission.local_day == day, Decision.outcome == "rejected")
    ):
        for reason in given if isinstance(given, list) else []:
            if isinstance(reason, dict):
                reasons[(service_id, str(reason.get("zh-CN", "")), str(reason.get("en", "")))] += 1
    queue, queue_total = _queue(session, keys, zone, now, known, names)
    return DecisionView(
        by_service=by_service,
        totals={o: sum(r.counts[o] for r in by_service) for o in OUTCOMES},
        trend=trend,
        reasons=[
            ReasonRow(s, _title(s, known, names), scrub(zh), scrub(en), n)
            for (s, zh, en), n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
        queue=queue,
        queue_total=queue_total,
    )

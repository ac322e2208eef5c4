"""智慧批 on the server: the decision about each submission, its audit trail and its signed code.

This module alone writes the ``decisions`` and ``decision_audit`` tables. A decision is made once per
submission, by the rules when the submission arrives (``central.deciding``) or, for one the rules left to a
person (``manual``), by a manager (:func:`decide_manually`); every decision event adds an audit row with the
rule version, the data-set versions and, when it fell to a person, why. An approval carries a decision code
(``KP1:``, type ``decision``) signed with the server's decision key, which the bundle's trust store publishes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Table
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from central.db import as_utc, utcnow
from central.keys import CentralKeys
from central.models import BundlePart, Decision, DecisionAudit, Submission
from kiosk.codes.claims import ID_FIELD, ClaimsError
from kiosk.codes.keys import SigningKey, key_id
from kiosk.codes.signed import issue
from kiosk.codes.truststore import TrustedKey
from protocol.decisions import Outcome, WireDecision, wire_time
from protocol.sealing import open_sealed

log = logging.getLogger(__name__)

DECISION_KEY_LABEL = "central decisions"
_NOTE_MAX = 500


class DecisionError(ValueError):
    """A manager's decision that cannot be made: the message says why for the log and the API, ``zh`` for
    the dashboard, which managers read in Chinese."""

    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


def signing_key(keys: CentralKeys) -> SigningKey:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(keys.decision_seed)
    return SigningKey(private, key_id(private.public_key()))


def trust_entry(keys: CentralKeys) -> dict[str, Any]:
    """The decision key as a trust-store entry: it may sign decision codes, nothing else."""
    public = signing_key(keys).public
    return TrustedKey(key_id(public), public, frozenset({"decision"}), label=DECISION_KEY_LABEL).to_json()


def personal_answers(keys: CentralKeys, submission: Submission) -> dict[str, Any]:
    """The answers the kiosk sealed to the central key (ID number, name …), opened for deciding only."""
    if submission.sealed_personal is None:
        return {}
    opened = json.loads(open_sealed(keys.seal_private, submission.sealed_personal))
    if not isinstance(opened, dict):
        raise ValueError("the sealed personal answers are not an object")
    return opened


def service_title(session: Session, service_id: str) -> str:
    """The service's zh-CN title as the bundle's services give it (what a checkpoint shows), else its id."""
    part = session.get(BundlePart, "services")
    for service in part.content if part and isinstance(part.content, list) else []:
        if isinstance(service, dict) and service.get("id") == service_id:
            title = service.get("title")
            if isinstance(title, dict) and isinstance(title.get("zh-CN"), str) and title["zh-CN"].strip():
                return str(title["zh-CN"])[:32]
    return service_id[:32]


def decision_code(
    key: SigningKey, submission: Submission, title: str, id_number: str | None, decided_at: datetime
) -> str:
    """The signed code of an approval: the submission's number (as its receipt shows it), the service, the
    day. With the applicant's ID number at hand the code also carries the signer's pseudonym of it (never
    the number), so checkpoints count the person once."""
    number = submission.fields.get("number") if isinstance(submission.fields, dict) else None
    claims: dict[str, Any] = {
        "number": str(number)[:16] if number else submission.id.replace("-", "")[:16],
        "service": title,
        "outcome": "approved",
        "date": decided_at.date().isoformat(),
    }
    if id_number:
        try:
            return issue("decision", claims | {ID_FIELD: id_number}, key, decided_at)
        except ClaimsError as err:
            if err.field != ID_FIELD:
                raise
            log.warning("decision code of %s without a subject: the ID number does not parse", submission.id)
    return issue("decision", claims, key, decided_at)


def to_wire(row: Decision) -> WireDecision:
    return {
        "submission_id": row.submission_id,
        "service_id": row.service_id,
        "outcome": row.outcome,  # type: ignore[typeddict-item]  # written only from Outcome values
        "reasons": [{"zh-CN": r["zh-CN"], "en": r["en"]} for r in row.reasons],
        "decided_at": wire_time(as_utc(row.decided_at)),
        "decided_by": row.decided_by,  # type: ignore[typeddict-item]
        "code": row.code,
    }


def record(
    session: Session,
    submission: Submission,
    *,
    outcome: Outcome,
    reasons: Sequence[Mapping[str, str]],
    rule: str,
    datasets: Mapping[str, str],
    note: str,
    code: str | None,
    decided_at: datetime,
    manager: str | None = None,
    replacing: Decision | None = None,
) -> Decision:
    """Write the submission's decision (a manager's overwrites ``replacing``, the one left to a person) and
    add its audit row. Does not commit: the caller's transaction holds both or neither."""
    reasons_json = [{"zh-CN": r["zh-CN"], "en": r["en"]} for r in reasons]
    decided_by = "manager" if manager is not None else "rules"
    row = replacing
    if row is None:
        row = Decision(submission_id=submission.id, service_id=submission.service_id)
        session.add(row)
    row.outcome, row.reasons, row.rule, row.datasets = outcome, reasons_json, rule, dict(datasets)
    row.decided_at, row.decided_by, row.code = decided_at, decided_by, code
    session.add(
        DecisionAudit(
            submission_id=submission.id,
            at=decided_at,
            outcome=outcome,
            decided_by=decided_by,
            manager=manager,
            rule=rule,
            datasets=dict(datasets),
            reasons=reasons_json,
            note=note[:_NOTE_MAX],
        )
    )
    return row


def record_all(session: Session, decided: Sequence[Mapping[str, Any]]) -> None:
    """Store the rules' decisions, each ``{submission_id, service_id, outcome, reasons, rule, datasets, note,
    code, decided_at}``, with an audit row for each, in two statements. One another API process stored a
    moment ago for a copy of the same submission stands, and gets no second audit row. Does not commit."""
    if not decided:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, Decision.__table__)
    columns = ("submission_id", "service_id", "outcome", "reasons", "rule", "datasets", "decided_at", "code")
    rows = sorted(
        ({c: d[c] for c in columns} | {"decided_by": "rules"} for d in decided),
        key=lambda r: r["submission_id"],
    )
    # Many parameter sets for one statement (compiled once, cached): the rows of one VALUES clause would be
    # compiled anew for every batch.
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["submission_id"])
        .returning(table.c.submission_id)
    )
    stored = set(session.scalars(stmt, rows))
    audit = [
        {
            "submission_id": d["submission_id"],
            "at": d["decided_at"],
            "outcome": d["outcome"],
            "decided_by": "rules",
            "manager": None,
            "rule": d["rule"],
            "datasets": d["datasets"],
            "reasons": d["reasons"],
            "note": d["note"][:_NOTE_MAX],
        }
        for d in decided
        if d["submission_id"] in stored
    ]
    if audit:
        session.execute(sa_insert(DecisionAudit), audit)


def _checked_reasons(outcome: str, reasons: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    if outcome not in ("approved", "rejected"):
        raise DecisionError(f"a manager decides approved or rejected, not {outcome!r}", "只能批准或不予批准")
    checked: list[dict[str, str]] = []
    for reason in reasons:
        zh, en = reason.get("zh-CN", ""), reason.get("en", "")
        if not (isinstance(zh, str) and zh.strip() and isinstance(en, str) and en.strip()):
            raise DecisionError(
                "each reason needs its text in Chinese and in English", "每条理由都须写明中文和英文"
            )
        checked.append({"zh-CN": zh.strip()[:500], "en": en.strip()[:500]})
    if outcome == "rejected" and not checked:
        raise DecisionError("a rejection needs at least one reason", "不予批准须写明理由（中文和英文）")
    if outcome == "approved" and checked:
        raise DecisionError("an approval gives no reasons", "批准无需填写理由")
    return checked


def decide_manually(
    session: Session,
    submission_id: str,
    outcome: str,
    reasons: Sequence[Mapping[str, str]],
    manager: str,
    keys: CentralKeys,
) -> WireDecision:
    """A manager decides a submission the rules left to a person: the decision (and, for an approval, its
    signed code) replaces ``manual``, an audit row names the manager. Commits. Raises :class:`DecisionError`
    for a submission that is not waiting for a person, or an outcome/reasons that do not go together."""
    checked = _checked_reasons(outcome, reasons)
    row = session.get(Decision, submission_id, with_for_update=True)
    if row is None:
        raise DecisionError("this submission has no decision to make", "该申请没有待人工审批的决定")
    if row.outcome != "manual":
        raise DecisionError(
            f"this submission is already decided ({row.outcome})",
            "该申请已有审批结果（" + ("批准" if row.outcome == "approved" else "不予批准") + "），请刷新页面",
        )
    submission = session.get(Submission, submission_id)
    if submission is None:  # the foreign key keeps this from happening
        raise DecisionError("no such submission", "找不到该申请")
    now = utcnow()
    code = None
    if outcome == "approved":
        try:
            id_number = personal_answers(keys, submission).get("id_number")
        except ValueError as err:
            log.warning("decision code of %s without a subject: %s", submission_id, err)
            id_number = None
        code = decision_code(
            signing_key(keys),
            submission,
            service_title(session, submission.service_id),
            id_number if isinstance(id_number, str) else None,
            now,
        )
    decided = record(
        session,
        submission,
        outcome=outcome,  # type: ignore[arg-type]  # checked above
        reasons=checked,
        rule=row.rule,
        datasets=row.datasets,
        note=f"decided by manager {manager}",
        code=code,
        decided_at=now,
        manager=manager,
        replacing=row,
    )
    session.commit()
    return to_wire(decided)

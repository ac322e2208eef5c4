"""智慧批 on the central server: the decision objects on the wire, the decisions and their audit rows, a
manager's decision of one the rules left to a person, and the decision code a checkpoint verifies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "fastapi", reason="the central server's packages are missing: pip install -e '.[central]'"
)

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.bundle import build_bundle, set_part
from central.db import make_engine, migrate, session_factory
from central.decisions import DecisionError, decide_manually, record, to_wire
from central.keys import CentralKeys, load_keys
from central.models import Decision, DecisionAudit, Submission
from kiosk.codes.registry import Verdict
from kiosk.codes.signed import KioskCodeFormat
from kiosk.codes.truststore import TrustStore, from_bundle
from protocol.decisions import decision_query, item_decisions, parse_decision, query_answer
from protocol.items import ProtocolError
from protocol.sealing import seal

APPROVED_ID = "440305194103120020"
REASON = {"zh-CN": "申请人未满80周岁", "en": "The applicant is under 80 years of age"}


def wire(**overrides: Any) -> dict[str, Any]:
    return {
        "submission_id": str(uuid.uuid4()),
        "service_id": "elderly-allowance",
        "outcome": "rejected",
        "reasons": [REASON],
        "decided_at": "2026-12-07T08:00:00Z",
        "decided_by": "rules",
        "code": None,
    } | overrides


def test_a_decision_object_is_read_exactly_as_the_contract_has_it() -> None:
    good = wire()
    assert parse_decision(good) == good
    approved = wire(outcome="approved", reasons=[], code="KP1:ABC")
    assert parse_decision(approved)["code"] == "KP1:ABC"
    assert parse_decision(wire(outcome="manual", reasons=[]))["outcome"] == "manual"


@pytest.mark.parametrize(
    "bad",
    [
        wire(outcome="maybe"),
        wire(decided_by="kiosk"),
        wire(outcome="approved", code=None, reasons=[]),  # an approval carries its code
        wire(outcome="approved", code="KP1:ABC"),  # …and no reasons
        wire(code="KP1:ABC"),  # a rejection carries no code
        wire(reasons=[]),  # …and says why
        wire(reasons=[{"zh-CN": "不行"}]),
        wire(decided_at="2026-12-07T08:00:00"),  # no offset
        wire(extra=1),
        {k: v for k, v in wire().items() if k != "code"},
        "rejected",
    ],
)
def test_anything_else_is_a_protocol_error(bad: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_decision(bad)


def test_batch_answers_and_queries_carry_decisions() -> None:
    decided = wire()
    body = {
        "results": [
            {"id": decided["submission_id"], "status": "accepted", "reason": None, "decision": decided},
            {"id": str(uuid.uuid4()), "status": "accepted", "reason": None, "decision": None},
            {"id": str(uuid.uuid4()), "status": "duplicate", "reason": None},
        ]
    }
    assert item_decisions(body) == {decided["submission_id"]: decided}
    assert query_answer({"decisions": [decided]}) == [decided]
    with pytest.raises(ProtocolError):
        query_answer({"decisions": [wire(outcome="no")]})
    assert decision_query(["a", "b"]) == {"ids": ["a", "b"]}
    with pytest.raises(ProtocolError):
        decision_query([])
    with pytest.raises(ProtocolError):
        decision_query([str(i) for i in range(201)])


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Session, CentralKeys]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}")
    migrate(engine)
    keys = load_keys(tmp_path / "keys")
    with session_factory(engine)() as session:
        yield session, keys
    engine.dispose()


def stored_submission(session: Session, keys: CentralKeys, personal: dict[str, Any]) -> Submission:
    now = datetime.now(UTC)
    submission = Submission(
        id=str(uuid.uuid4()),
        device_id=str(uuid.uuid4()),
        site="default",
        service_id="elderly-allowance",
        submitted_at=now,
        local_day=now.date(),
        fields={"number": "SS01-1207-0001", "service_version": 1},
        sealed_personal=seal(keys.seal_public, json.dumps(personal).encode()),
        content_hash="0" * 64,
        received_at=now,
        via="api",
    )
    session.add(submission)
    session.commit()
    return submission


def left_to_a_person(session: Session, keys: CentralKeys) -> Submission:
    submission = stored_submission(session, keys, {"name": "赵桂兰", "id_number": APPROVED_ID})
    record(
        session,
        submission,
        outcome="manual",
        reasons=[],
        rule="elderly-allowance@1",
        datasets={"household-extract": "2026-12-01.1"},
        note="data set 'elderly-allowance-register' is not loaded",
        code=None,
        decided_at=datetime.now(UTC),
    )
    session.commit()
    return submission


def trust_from_bundle(session: Session, keys: CentralKeys) -> TrustStore:
    bundle = build_bundle(session, keys, "default")
    return from_bundle(bundle["trust_store"], bundle["revocations"], TrustStore(), datetime.now(UTC))


def test_a_manager_approves_one_left_to_a_person_and_its_code_verifies_green_at_a_checkpoint(
    db: tuple[Session, CentralKeys],
) -> None:
    session, keys = db
    # The centre distributes a trust store; the server adds its decision key to it in the bundle.
    set_part(session, "trust_store", TrustStore(refreshed_at=datetime.now(UTC)).to_json())
    set_part(session, "services", [{"id": "elderly-allowance", "title": {"zh-CN": "高龄老人津贴申请"}}])
    submission = left_to_a_person(session, keys)

    decided = decide_manually(session, submission.id, "approved", [], "wang", keys)

    assert parse_decision(decided) == decided
    assert (decided["outcome"], decided["decided_by"], decided["reasons"]) == ("approved", "manager", [])
    row = session.get(Decision, submission.id)
    assert row is not None and row.outcome == "approved" and row.code == decided["code"]
    assert row.rule == "elderly-allowance@1" and row.datasets == {"household-extract": "2026-12-01.1"}
    audit = session.scalars(select(DecisionAudit).order_by(DecisionAudit.id)).all()
    assert [(a.outcome, a.decided_by, a.manager) for a in audit] == [
        ("manual", "rules", None),
        ("approved", "manager", "wang"),
    ]
    assert "not loaded" in audit[0].note
    assert decided["code"] is not None
    result = KioskCodeFormat(trust_from_bundle(session, keys)).evaluate(decided["code"], datetime.now(UTC))
    assert (result.kind, result.verdict) == ("decision", Verdict.GREEN), result.reason
    assert result.claims["number"] == "SS01-1207-0001"
    assert result.claims["service"] == "高龄老人津贴申请"
    assert result.claims["outcome"] == "approved"
    assert APPROVED_ID not in json.dumps(result.claims)
    assert result.subject and result.subject.startswith("sub:")  # counted as a person, by pseudonym


def test_without_the_decision_key_in_its_trust_store_a_checkpoint_does_not_pass_the_code(
    db: tuple[Session, CentralKeys],
) -> None:
    session, keys = db
    submission = left_to_a_person(session, keys)
    decided = decide_manually(session, submission.id, "approved", [], "wang", keys)
    assert decided["code"] is not None
    other = TrustStore(refreshed_at=datetime.now(UTC) - timedelta(minutes=1))
    result = KioskCodeFormat(other).evaluate(decided["code"], datetime.now(UTC))
    assert result.verdict is not Verdict.GREEN


def test_a_manager_rejects_with_reasons_and_nothing_is_signed(db: tuple[Session, CentralKeys]) -> None:
    session, keys = db
    submission = left_to_a_person(session, keys)
    decided = decide_manually(session, submission.id, "rejected", [REASON], "wang", keys)
    assert (decided["outcome"], decided["reasons"], decided["code"]) == ("rejected", [REASON], None)
    row = session.get(Decision, submission.id)
    assert row is not None and to_wire(row) == decided


@pytest.mark.parametrize(
    ("outcome", "reasons", "problem"),
    [
        ("rejected", [], "at least one reason"),
        ("approved", [REASON], "no reasons"),
        ("manual", [], "approved or rejected"),
        ("rejected", [{"zh-CN": "不行", "en": " "}], "Chinese and in English"),
    ],
)
def test_a_manager_decision_that_does_not_hold_together_is_refused(
    db: tuple[Session, CentralKeys], outcome: str, reasons: list[dict[str, str]], problem: str
) -> None:
    session, keys = db
    submission = left_to_a_person(session, keys)
    with pytest.raises(DecisionError, match=problem):
        decide_manually(session, submission.id, outcome, reasons, "wang", keys)
    row = session.get(Decision, submission.id)
    assert row is not None and row.outcome == "manual"


def test_only_a_submission_waiting_for_a_person_is_decided_by_a_manager(
    db: tuple[Session, CentralKeys],
) -> None:
    session, keys = db
    submission = left_to_a_person(session, keys)
    decide_manually(session, submission.id, "rejected", [REASON], "wang", keys)
    with pytest.raises(DecisionError, match="already decided"):
        decide_manually(session, submission.id, "approved", [], "li", keys)
    undecided = stored_submission(session, keys, {"id_number": APPROVED_ID})
    with pytest.raises(DecisionError, match="no decision"):
        decide_manually(session, undecided.id, "approved", [], "li", keys)
    assert len(session.scalars(select(DecisionAudit)).all()) == 2

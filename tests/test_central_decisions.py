"""智慧批 on the central server: the decision objects on the wire, the decisions and their audit rows, a
manager's decision of one the rules left to a person, and the decision code a checkpoint verifies."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
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
from central.datasets import DataSets
from central.db import make_engine, migrate, session_factory
from central.decisions import DecisionError, decide_manually, record, record_all, to_wire
from central.keys import CentralKeys, load_keys
from central.models import DataSetVersion, Decision, DecisionAudit, Submission
from kiosk.codes.registry import Verdict
from kiosk.codes.signed import KioskCodeFormat
from kiosk.codes.truststore import TrustStore, from_bundle
from kiosk.decisions.datasets import build_reference_set
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


def _central(tmp_path: Path, *args: str) -> int:
    from central.cli import main as central_main

    database = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    return central_main([*args, "--database", database, "--key-dir", str(tmp_path / "keys")])


def test_a_csv_set_is_loaded_with_its_numbers_replaced_by_keyed_hashes(
    db: tuple[Session, CentralKeys], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session, keys = db
    csv_file = tmp_path / "household.csv"
    csv_file.write_text(f"id_number,status,district\n{APPROVED_ID},registered,440305\n", "utf-8")
    assert _central(tmp_path, "dataset-load", str(csv_file)) == 2  # a CSV does not name its set
    assert "--name and --version" in capsys.readouterr().err
    args = ("dataset-load", str(csv_file), "--name", "household-extract", "--version", "v1")
    assert _central(tmp_path, *args) == 0
    assert "household-extract version v1: 1 rows, in force" in capsys.readouterr().out
    stored = session.scalars(select(DataSetVersion)).one()
    assert stored.content is not None and APPROVED_ID.encode() not in gzip.decompress(stored.content)
    session.rollback()  # SQLite: the server's readers and the next load each take the database in turn

    sets = DataSets(keys.dataset_hash, session_factory(session.get_bind()))
    household = sets.current()["household-extract"]
    assert household.version == "v1" and household.lookup(APPROVED_ID) == {
        "status": "registered",
        "district": "440305",
    }
    assert household.lookup("11010519491231002X") is None

    csv_file.write_text(f"id_number,status,district\n{APPROVED_ID},moved_out,440305\n", "utf-8")
    assert (
        _central(tmp_path, "dataset-load", str(csv_file), "--name", "household-extract", "--version", "v2")
        == 0
    )
    assert "replaces version v1" in capsys.readouterr().out
    assert sets.current()["household-extract"].lookup(APPROVED_ID) == {
        "status": "moved_out",
        "district": "440305",
    }
    assert _central(tmp_path, "datasets") == 0
    listing = capsys.readouterr().out.splitlines()[1:]
    assert [[*line.split()[:2], line.split()[4], line[-8:]] for line in listing] == [
        ["household-extract", "v2", "1", "in force"],
        ["household-extract", "v1", "1", "replaced"],
    ]


def test_a_json_set_hashed_with_another_key_is_refused(
    db: tuple[Session, CentralKeys], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, keys = db
    people = {APPROVED_ID: {"since": "2024-06"}}
    other = build_reference_set("elderly-allowance-register", "v1", ("since",), people, b"another key")
    (tmp_path / "other.json").write_text(json.dumps(other), "utf-8")
    assert _central(tmp_path, "dataset-load", str(tmp_path / "other.json")) == 2
    assert "hashed with another key" in capsys.readouterr().err
    unchecked = {
        k: v
        for k, v in build_reference_set(
            "elderly-allowance-register", "v1", ("since",), people, keys.dataset_hash
        ).items()
        if k != "key_check"
    }
    (tmp_path / "unchecked.json").write_text(json.dumps(unchecked), "utf-8")
    assert _central(tmp_path, "dataset-load", str(tmp_path / "unchecked.json")) == 2
    assert "key_check missing" in capsys.readouterr().err
    good = build_reference_set("elderly-allowance-register", "v1", ("since",), people, keys.dataset_hash)
    (tmp_path / "good.json").write_text(json.dumps(good), "utf-8")
    assert _central(tmp_path, "dataset-load", str(tmp_path / "good.json")) == 0


def test_the_decision_key_is_printed_as_a_trust_entry_for_decision_codes_only(
    db: tuple[Session, CentralKeys], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session, keys = db
    assert _central(tmp_path, "decision-key") == 0
    entry = json.loads(capsys.readouterr().out)
    assert entry["types"] == ["decision"]
    store = TrustStore.from_json({"format": "kiosk-trust-store", "version": 1, "keys": [entry]})
    submission = left_to_a_person(session, keys)
    code = decide_manually(session, submission.id, "approved", [], "wang", keys)["code"]
    assert code is not None
    store = replace(store, refreshed_at=datetime.now(UTC))
    assert KioskCodeFormat(store).evaluate(code, datetime.now(UTC)).verdict is Verdict.GREEN


def test_a_decision_stored_a_moment_ago_by_another_process_stands_without_a_second_audit_row(
    db: tuple[Session, CentralKeys],
) -> None:
    session, keys = db
    submission = stored_submission(session, keys, {"id_number": APPROVED_ID})
    decided = {
        "submission_id": submission.id,
        "service_id": submission.service_id,
        "outcome": "rejected",
        "reasons": [REASON],
        "rule": "elderly-allowance@1",
        "datasets": {"household-extract": "v1"},
        "note": "",
        "code": None,
        "decided_at": datetime.now(UTC),
    }
    record_all(session, [decided])
    session.commit()
    record_all(session, [decided | {"outcome": "manual", "reasons": [], "note": "the other copy"}])
    session.commit()
    row = session.get(Decision, submission.id)
    assert row is not None and (row.outcome, row.decided_by) == ("rejected", "rules")
    assert [a.outcome for a in session.scalars(select(DecisionAudit))] == ["rejected"]


def test_while_a_new_version_is_read_the_one_before_goes_on_deciding(
    db: tuple[Session, CentralKeys], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from central.datasets import SWITCH_WAIT_S, store_set

    session, keys = db
    people = {APPROVED_ID: {"since": "2024-06"}}

    def version(label: str) -> dict[str, Any]:
        return build_reference_set("elderly-allowance-register", label, ("since",), people, keys.dataset_hash)

    store_set(session, version("v1"), "v1.json")
    sets = DataSets(keys.dataset_hash, session_factory(session.get_bind()))
    assert sets.current()["elderly-allowance-register"].version == "v1"
    real = DataSets._read

    def slow(self: DataSets, record_id: int) -> Any:
        time.sleep(SWITCH_WAIT_S + 1.0)  # as a million-row extract takes seconds
        return real(self, record_id)

    monkeypatch.setattr(DataSets, "_read", slow)
    store_set(session, version("v2"), "v2.json")
    started = time.monotonic()
    assert sets.current()["elderly-allowance-register"].version == "v1"
    assert time.monotonic() - started < SWITCH_WAIT_S + 0.8  # not held up by the read
    time.sleep(1.5)
    assert sets.current()["elderly-allowance-register"].version == "v2"

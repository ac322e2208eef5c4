"""The kiosk's side of 智慧批 without a GUI: the decisions table, decisions arriving with uploads and from
``POST /v1/decisions/query`` (against FakeCentral, which speaks the same wire), provisional decisions
worked out offline, the done page's bounded wait, and receipts that carry the outcome."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeCentral, wire_decision

from devices.qr import get_decoder
from kiosk.central_client import Credentials, Unavailable, save_credentials
from kiosk.config import Settings
from kiosk.decisions.outcomes import ASK_FOR, DecisionBook
from kiosk.decisions.rules import DECISIONS_DIR
from kiosk.forms.definition import SERVICES_DIR, load_definition
from kiosk.forms.slots import FakeSlots
from kiosk.forms.submissions import SubmissionDesk
from kiosk.outbox import Outbox
from kiosk.store import Store
from kiosk.sync import DECISIONS_PER_PASS, SyncEngine
from printing.receipt import render_pdf
from protocol.sealing import b64e
from tools.service_driver import pdf_text, render_page

DATA = Path(__file__).parent / "data" / "decisions"
OLD = "440305194103120020"  # born 1941: over 80
YOUNG = "110105199003070017"  # born 1990
REASON = ("申请人已在领取高龄老人津贴", "The applicant already receives the elderly allowance")


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = Store(tmp_path / "kiosk.sqlite3")
    yield store
    store.close()


def enrol(data: Path) -> None:
    """Enrolled, with a seal key of the right size: personal data is sealed to "the central key" at once
    (before enrolment it would wait in the outbox, under the local key)."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    seal = b64e(X25519PrivateKey.generate().public_key().public_bytes_raw())
    save_credentials(
        data / "secrets", Credentials("http://127.0.0.1:9", "dev-1", "t", "default", b64e(bytes(32)), seal)
    )


def decisions_dir(tmp_path: Path) -> Path:
    """The shipped decision files and the test's identity-only one (senior-card.json), side by side."""
    folder = tmp_path / "decisions"
    folder.mkdir()
    for source in (DECISIONS_DIR / "elderly-allowance.json", DATA / "senior-card.json"):
        shutil.copy(source, folder / source.name)
    return folder


@pytest.fixture
def desk(store: Store, tmp_path: Path) -> SubmissionDesk:
    settings = Settings(data_dir=tmp_path, checkpoint_id="CP-014", site_name="福田区政务服务中心")
    enrol(tmp_path)
    return SubmissionDesk(store, settings, FakeSlots(), decisions_dir=decisions_dir(tmp_path))


def answers(id_number: str = OLD) -> dict[str, Any]:
    return {"name": "赵桂兰", "id_number": id_number, "phone": "13800138000"}


def allowance() -> Any:
    return load_definition(SERVICES_DIR / "elderly-allowance.json")


def senior() -> Any:
    return load_definition(DATA / "senior-card.service.json")


def engine(store: Store, central: FakeCentral, desk: SubmissionDesk) -> SyncEngine:
    return SyncEngine(Outbox(store), central, decisions=desk.decisions)


def by_outcome(outcome: str, reasons: tuple[tuple[str, str], ...] = ()) -> Any:
    return lambda item: wire_decision(item, outcome, reasons)


def test_a_decided_service_gets_a_row_with_no_decision_and_no_id_number(desk: SubmissionDesk) -> None:
    sub = desk.submit(allowance(), answers(), "zh-CN")
    known = desk.decisions.get(sub.id)
    assert known is not None and known.outcome is None and not known.provisional
    dump = json.dumps([dict(r) for r in desk.store.query("SELECT * FROM decisions")], ensure_ascii=False)
    assert OLD not in dump and "赵桂兰" not in dump
    # The receipt says the result will follow.
    assert (
        sub.receipt.decision == "已受理，审批结果将通过短信/再次查询告知" and sub.receipt.decision_qr is None
    )
    # A service without a decision has no row.
    ticket = load_definition(SERVICES_DIR / "queue-ticket.json")
    from kiosk.forms.answers import example_answers

    other = desk.submit(ticket, example_answers(ticket), "zh-CN")
    assert desk.decisions.get(other.id) is None and other.receipt.decision is None


def test_find_needs_the_applicants_id_number(desk: SubmissionDesk) -> None:
    sub = desk.submit(allowance(), answers(), "zh-CN")
    assert desk.decisions.find(sub.number, OLD) is not None
    assert desk.decisions.find(sub.number.lower(), OLD.lower()) is not None  # typed in small letters
    assert desk.decisions.find(sub.number, YOUNG) is None
    assert desk.decisions.find("CP014-0101-9999", OLD) is None
    # The hash is keyed by this kiosk's secret: another key gives another hash.
    other = DecisionBook(desk.store, b"\x01" * 32)
    assert other.find(sub.number, OLD) is None


def test_decisions_arrive_with_the_upload(store: Store, desk: SubmissionDesk) -> None:
    approved = desk.submit(allowance(), answers(), "zh-CN")
    rejected = desk.submit(allowance(), answers(), "en")
    central = FakeCentral(
        decide=lambda item: wire_decision(
            item,
            "approved" if item["id"] == approved.id else "rejected",
            () if item["id"] == approved.id else (REASON,),
        )
    )
    _, result = engine(store, central, desk).run_once()
    assert result.decided == 2
    ok, no = desk.decisions.get(approved.id), desk.decisions.get(rejected.id)
    assert ok is not None and ok.final and ok.outcome == "approved" and ok.code == "KP1:FAKE-DECISION-CODE"
    assert no is not None and no.final and no.reasons_in("en") == [REASON[1]] and no.code is None
    # Nothing is asked about what is final.
    assert central.queries == []


def test_manual_then_a_manager_decides_and_the_next_pass_learns_it(
    store: Store, desk: SubmissionDesk
) -> None:
    sub = desk.submit(allowance(), answers(), "zh-CN")
    central = FakeCentral(decide=by_outcome("manual"))
    sync = engine(store, central, desk)
    sync.run_once()
    assert desk.decisions.get(sub.id).outcome == "manual"  # type: ignore[union-attr]
    central.decisions[sub.id] = wire_decision(central.stored[sub.id], "rejected", (REASON,), by="manager")
    _, result = sync.run_once()
    known = desk.decisions.get(sub.id)
    assert result.decided == 1 and known is not None and known.outcome == "rejected"
    assert known.decided_by == "manager" and known.final
    assert central.queries[-1] == [sub.id]


def test_queries_are_batched_bounded_and_take_turns(store: Store, desk: SubmissionDesk) -> None:
    central = FakeCentral()
    book = desk.decisions
    ids = [desk.submit(allowance(), answers(), "zh-CN").id for _ in range(5)]
    sync = engine(store, central, desk)
    sync.run_once()  # delivered; the server has no decision yet
    assert central.queries == [ids]
    # Many more waiting than a pass asks about: requests of at most 200, at most DECISIONS_PER_PASS a pass.
    with store.transaction() as conn:
        for n in range(DECISIONS_PER_PASS + 300):
            conn.execute(
                "INSERT INTO submissions (id, number, service_id, service_version, device_id, at,"
                " local_day, clear, code, code_type)"
                " VALUES (?, ?, 'elderly-allowance', 1, 'CP-014', '', '', '{}', '', '')",
                (f"x{n}", f"N{n}"),
            )
            conn.execute(
                "INSERT INTO decisions (submission_id, service_id, number, id_hash, submitted_at, updated_at)"
                " VALUES (?, 'elderly-allowance', ?, 'h', ?, ?)",
                (f"x{n}", f"N{n}", "2099-01-01T00:00:00.000+00:00", f"2000-01-01T00:00:{n % 60:02d}"),
            )
    del central.queries[:]
    sync.run_once()
    assert all(1 <= len(q) <= 200 for q in central.queries)
    first = [i for q in central.queries for i in q]
    assert len(first) == DECISIONS_PER_PASS
    del central.queries[:]
    sync.run_once()
    second = {i for q in central.queries for i in q}
    # The ones left out last time are asked about now.
    assert {f"x{n}" for n in range(DECISIONS_PER_PASS + 300)} | set(ids) <= set(first) | second
    # Old submissions are no longer asked about.
    assert ASK_FOR.days >= 30
    assert book.awaiting(10, now=__import__("datetime").datetime(2200, 1, 1).astimezone()) == []


def test_offline_nothing_breaks_and_the_decision_comes_at_a_later_sync(
    store: Store, desk: SubmissionDesk
) -> None:
    sub = desk.submit(allowance(), answers(), "zh-CN")
    central = FakeCentral(decide=by_outcome("approved"), failures=[Unavailable("down")] * 3)
    sync = engine(store, central, desk)
    status, _ = sync.run_once()
    assert not status.online and desk.decisions.get(sub.id).outcome is None  # type: ignore[union-attr]
    # Not yet delivered: not asked about.
    assert desk.decisions.awaiting(10) == []
    central.failures.clear()
    status, result = sync.run_once()
    assert status.online and result.decided == 1
    assert desk.decisions.find(sub.number, OLD).outcome == "approved"  # type: ignore[union-attr]


def test_a_server_that_decides_nothing_is_not_an_error(store: Store, desk: SubmissionDesk) -> None:
    from kiosk.central_client import Refused

    desk.submit(allowance(), answers(), "zh-CN")
    central = FakeCentral()
    sync = engine(store, central, desk)
    sync.run_once()
    central.failures = [Refused("HTTP 404: Not Found", 404)]
    status, _ = sync.run_once()
    assert status.online


def test_provisional_decision_offline_replaced_by_the_central_one(store: Store, desk: SubmissionDesk) -> None:
    old = desk.submit(senior(), answers(OLD), "zh-CN")
    young = desk.submit(senior(), answers(YOUNG), "en")
    ok, no = desk.decisions.get(old.id), desk.decisions.get(young.id)
    assert ok is not None and ok.provisional and ok.outcome == "approved" and ok.decided_by == "kiosk"
    assert (
        no is not None
        and no.provisional
        and no.reasons_in("en") == ["The applicant is under 65 years of age"]
    )
    # Labelled provisional, and never a decision code for a provisional approval.
    assert (
        old.receipt.decision == "临时结果：审批通过（以正式审批结果为准）" and old.receipt.decision_qr is None
    )
    assert young.receipt.decision is not None and young.receipt.decision.startswith("Provisional result: Not")
    # A data-set rule (the elderly allowance) is never decided on the kiosk.
    assert desk.decisions.get(desk.submit(allowance(), answers(), "zh-CN").id).outcome is None  # type: ignore[union-attr]
    # Provisional ones are still asked about; the central decision stands.
    central = FakeCentral(decide=by_outcome("manual"))
    engine(store, central, desk).run_once()
    replaced = desk.decisions.get(old.id)
    assert replaced is not None and replaced.outcome == "manual" and not replaced.provisional


def test_send_now_delivers_and_returns_the_decision(store: Store, desk: SubmissionDesk) -> None:
    sub = desk.submit(allowance(), answers(), "zh-CN")
    central = FakeCentral(decide=by_outcome("approved"))
    known = engine(store, central, desk).send_now(sub.id, 2.0)
    assert known is not None and known.outcome == "approved" and known.code
    assert Outbox(store).counts().pending == 0  # delivered, not left for the loop


def test_send_now_polls_then_gives_up_within_its_bound(store: Store, desk: SubmissionDesk) -> None:
    sub = desk.submit(allowance(), answers(), "zh-CN")
    central = FakeCentral()  # takes it, decides nothing
    started = time.monotonic()
    known = engine(store, central, desk).send_now(sub.id, 1.0)
    assert time.monotonic() - started < 1.5
    assert known is not None and known.outcome is None and len(central.queries) >= 2
    # Offline: at once, and the submission stays queued for the loop.
    other = desk.submit(allowance(), answers(), "zh-CN")
    central.failures = [Unavailable("down")]
    assert engine(store, central, desk).send_now(other.id, 2.0).outcome is None  # type: ignore[union-attr]
    assert Outbox(store).item(other.id) is not None


def test_receipt_prints_the_decision_code_and_the_reasons(desk: SubmissionDesk) -> None:
    from kiosk.decisions.outcomes import on_receipt

    sub = desk.submit(allowance(), answers(), "zh-CN")
    central = FakeCentral(
        decide=lambda item: wire_decision(item, "approved", code="KP1:DECISION-" + "7" * 60)
    )
    engine(desk.store, central, desk).run_once()
    receipt = on_receipt(sub.receipt, desk.decisions.get(sub.id))
    pdf = render_pdf(receipt, "80mm")
    texts = sorted(s.text for s in get_decoder("auto").decode(render_page(pdf, scale=2.0)))
    assert texts == sorted([sub.code, "KP1:DECISION-" + "7" * 60])
    assert "审批通过" in pdf_text(pdf)
    # Decided: the instruction on how to learn the result is gone, and so is the "result will follow" line.
    assert "查询办理结果" in sub.receipt.instruction and "查询办理结果" not in pdf_text(pdf)
    assert "短信" not in pdf_text(pdf)
    rejected = desk.submit(allowance(), answers(), "en")
    central.decide = by_outcome("rejected", (REASON,))
    engine(desk.store, central, desk).run_once()
    receipt = on_receipt(rejected.receipt, desk.decisions.get(rejected.id))
    text = pdf_text(render_pdf(receipt, "80mm")).replace("\n", " ")
    assert "Not approved" in text and "already receives" in text
    assert len(get_decoder("auto").decode(render_page(render_pdf(receipt, "80mm"), scale=2.0))) == 1

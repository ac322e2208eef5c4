"""智慧批 end to end: a kiosk's submissions decided by a real central server (the shipped elderly-allowance
rules, data sets loaded with `kiosk-central dataset-load`) and the decision back on the kiosk — online within
the done page's 2 s, and through an offline queue (submitted while the server is down, delivered and decided
at a later sync pass, a manager's decision learnt after that), shown on the check screen and printed on the
receipt, whose decision code a second kiosk's checkpoint verifies green through its synced bundle."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from central_helpers import running_server
from test_central_deciding import APPROVED, NOT_REGISTERED, UNDER_80, set_up
from test_decision_outcomes import OLD

from central.db import make_engine, session_factory
from central.decisions import decide_manually
from central.keys import load_keys
from devices.qr import get_decoder
from kiosk.codes.registry import Verdict
from kiosk.config import Settings
from kiosk.core import KioskCore, open_core
from kiosk.decisions.outcomes import on_receipt
from kiosk.forms.definition import SERVICES_DIR, load_definition
from kiosk.forms.slots import FakeSlots
from kiosk.forms.submissions import SubmissionDesk
from kiosk.sync import SyncEngine, open_sync
from printing.receipt import render_pdf
from tools.central_process import ServerProcess
from tools.service_driver import render_page
from ui.self_service import DECISION_WAIT_S

ALLOWANCE = load_definition(SERVICES_DIR / "elderly-allowance.json")


class Kiosk:
    """An enrolled kiosk data folder: its core, its sync engine and its submission desk."""

    def __init__(self, server: Any, data_dir: Path, mode: str = "self-service") -> None:
        server.enrol(data_dir)
        self.core: KioskCore = open_core(Settings(data_dir=data_dir, mode=mode, checkpoint_id="CP-001"))
        engine = open_sync(self.core)
        assert engine is not None
        self.sync: SyncEngine = engine
        self.desk = SubmissionDesk(self.core.store, self.core.current_settings, FakeSlots())

    def submit(self, id_number: str) -> Any:
        answers = {"name": "赵桂兰", "id_number": id_number, "phone": "13800138000"}
        return self.desk.submit(ALLOWANCE, answers, "zh-CN")

    def close(self) -> None:
        self.core.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Any]:
    with running_server(tmp_path, device_rate=(1000.0, 1000.0)) as server:
        set_up(server, tmp_path)
        yield server


def enrol_checkpoint(server: Any, data_dir: Path) -> Kiosk:
    """A second kiosk, a checkpoint, with the trust store of the bundle it synced."""
    checkpoint = Kiosk(server, data_dir, mode="checkpoint")
    status, result = checkpoint.sync.run_once()
    assert status.online and result.bundle_updated
    return checkpoint


def test_online_the_done_page_gets_the_decision_and_a_checkpoint_verifies_its_code(
    live: Any, tmp_path: Path
) -> None:
    kiosk = Kiosk(live, tmp_path / "kiosk")
    checkpoint = enrol_checkpoint(live, tmp_path / "checkpoint")
    try:
        approved, rejected = kiosk.submit(APPROVED), kiosk.submit(UNDER_80)
        started = time.monotonic()
        known = kiosk.sync.send_now(approved.id, DECISION_WAIT_S)
        waited = time.monotonic() - started
        assert known is not None and known.outcome == "approved" and known.final and known.code
        assert waited < DECISION_WAIT_S
        no = kiosk.sync.send_now(rejected.id, DECISION_WAIT_S)
        assert no is not None and no.reasons_in("en") == ["The applicant is under 80 years of age"]
        assert kiosk.core.outbox.counts().pending == 0  # both delivered by the done page, not the loop

        # The decision code, as printed on the receipt and read back off the paper.
        pdf = render_pdf(on_receipt(approved.receipt, known), "80mm")
        printed = {s.text for s in get_decoder("auto").decode(render_page(pdf, scale=2.0))}
        assert printed == {approved.code, known.code}
        code = (printed - {approved.code}).pop()
        inspection = checkpoint.core.checkpoint.inspect(code, source="camera")
        assert inspection.result.kind == "decision" and inspection.result.verdict == Verdict.GREEN
        assert inspection.result.claims["number"] == approved.number
        # The kiosk's own receipt code is only proof of a submission: yellow.
        receipt = checkpoint.core.checkpoint.inspect(approved.code, source="camera")
        assert receipt.result.verdict != Verdict.GREEN
    finally:
        kiosk.close()
        checkpoint.close()


def test_offline_queue_then_sync_decides_and_a_managers_decision_follows(tmp_path: Path, qtbot: Any) -> None:
    from ui.screens.check_application import CheckApplicationScreen

    server = ServerProcess(f"sqlite:///{tmp_path / 'central.sqlite3'}", tmp_path / "central-keys")
    server.start()
    try:
        from central_helpers import LiveServer

        handle = LiveServer(server.url, server.database_url, server.key_dir)
        set_up(handle, tmp_path, register=False)  # no allowance register: the rules leave it to a person
        kiosk = Kiosk(handle, tmp_path / "kiosk")
        server.kill()

        offline = kiosk.submit(OLD)
        stranger = kiosk.submit(NOT_REGISTERED)
        started = time.monotonic()
        known = kiosk.sync.send_now(offline.id, DECISION_WAIT_S)
        assert time.monotonic() - started < DECISION_WAIT_S + 0.5
        assert known is not None and known.outcome is None  # the done page says the result will follow
        status, _ = kiosk.sync.run_once()
        assert not status.online and kiosk.core.outbox.counts().pending == 2

        server.start()
        status, result = kiosk.sync.run_once()
        assert status.online and result.accepted == 2
        assert kiosk.desk.decisions.get(offline.id).outcome == "manual"  # type: ignore[union-attr]

        # A manager approves it on the server; the next pass asks and learns it, with its code.
        engine = make_engine(server.database_url)
        try:
            with session_factory(engine)() as db:
                decide_manually(db, offline.id, "approved", [], "manager-1", load_keys(server.key_dir))
        finally:
            engine.dispose()
        _, result = kiosk.sync.run_once()
        assert result.decided == 1

        # The check screen (offline now: what the kiosk holds) shows it for the applicant's card only.
        server.kill()
        screen = CheckApplicationScreen("zh-CN", kiosk.desk.decisions.find)
        qtbot.addWidget(screen)
        screen.number = offline.number.replace("-", "")[-8:]
        screen.id_number = OLD
        screen.search()
        qtbot.waitUntil(lambda: not screen.busy, timeout=5000)
        assert screen.known is not None and screen.known.decided_by == "manager"
        assert screen.outcome_label.text() == "审批通过" and screen.known.code
        screen.reset()
        screen.number, screen.id_number = stranger.number, OLD
        screen.search()
        qtbot.waitUntil(lambda: not screen.busy, timeout=5000)
        assert screen.known is None
        kiosk.close()
    finally:
        server.kill()

"""Self-service against a real central server on 127.0.0.1: personal data stored before enrolment reaches
the server sealed to its key, and appointment slots are listed and booked through the signed client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from central_helpers import LiveServer, running_server
from sqlalchemy import select

from central.db import make_engine, session_factory
from central.keys import load_keys
from central.models import Submission as CentralSubmission
from kiosk.central_client import DEVICE_KEY_FILE, HttpCentral, load_credentials
from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.forms.answers import example_answers, personal_answers
from kiosk.forms.definition import catalogue_for
from kiosk.forms.protect import LOCAL_MAGIC, LocalBoxError, PersonalDataLock
from kiosk.forms.slots import CentralSlots, SlotTaken
from kiosk.forms.submissions import SubmissionDesk
from kiosk.keystore import load_or_create_secret
from kiosk.sync import open_sync
from main import main as kiosk_main
from protocol.sealing import SEAL_MAGIC, open_sealed


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with running_server(tmp_path, device_rate=(1000.0, 1000.0)) as live:
        yield live


def submit_offline(data_dir: Path, service_id: str) -> tuple[str, dict[str, Any]]:
    """A submission made before the kiosk was ever enrolled: its id and the personal answers."""
    settings = Settings(data_dir=data_dir)
    core = open_core(settings)
    try:
        definition = catalogue_for(data_dir).get(service_id)
        assert definition is not None
        answers = example_answers(definition)
        submission = SubmissionDesk(core.store, settings).submit(definition, answers, "zh-CN")
        [row] = core.store.query("SELECT sealed_personal FROM submissions WHERE id = ?", (submission.id,))
        assert row["sealed_personal"].startswith(LOCAL_MAGIC)
    finally:
        core.close()
    return submission.id, personal_answers(definition.fields, answers)


def on_server(server: LiveServer, submission_id: str) -> bytes:
    engine = make_engine(server.database_url)
    with session_factory(engine)() as session:
        box = session.scalar(
            select(CentralSubmission.sealed_personal).where(CentralSubmission.id == submission_id)
        )
    engine.dispose()
    assert box is not None, "the submission did not reach the server with its personal data"
    return box


def device_client(data_dir: Path) -> HttpCentral:
    credentials = load_credentials(data_dir / "secrets")
    assert credentials is not None
    return HttpCentral(credentials, load_or_create_secret(data_dir / "secrets" / DEVICE_KEY_FILE))


def assert_sealed_to_the_server(server: LiveServer, data_dir: Path, item_id: str, personal: Any) -> None:
    box = on_server(server, item_id)
    assert json.loads(open_sealed(load_keys(server.key_dir).seal_private, box)) == personal
    with pytest.raises(LocalBoxError):
        PersonalDataLock(data_dir / "secrets").open_local(box, item_id)


def test_enrolling_reseals_what_was_stored_before_and_sync_delivers_it_sealed(
    server: LiveServer, tmp_path: Path, capsys: Any
) -> None:
    from central.cli import main as central_main

    data = tmp_path / "kiosk"
    item_id, personal = submit_offline(data, "health-declaration")
    assert personal, "the service should have personal fields"
    assert central_main(["enrol-code", "--database", server.database_url]) == 0
    code = capsys.readouterr().out.strip()
    assert kiosk_main(["enrol", server.url, code, "--data-dir", str(data)]) == 0
    assert "1 earlier submission" in capsys.readouterr().out
    core = open_core(Settings(data_dir=data))
    [item] = core.outbox.pending()
    [row] = core.store.query("SELECT sealed_personal FROM submissions")
    core.close()
    assert item.sealed_personal == row["sealed_personal"] and row["sealed_personal"].startswith(SEAL_MAGIC)

    assert kiosk_main(["sync", "--data-dir", str(data)]) == 0
    assert_sealed_to_the_server(server, data, item_id, personal)


def test_a_crash_between_enrolling_and_resealing_is_healed_by_the_next_sync(
    server: LiveServer, tmp_path: Path
) -> None:
    data = tmp_path / "kiosk"
    item_id, personal = submit_offline(data, "returning-person")
    server.enrol(data)  # credentials saved, nothing re-sealed: as if the kiosk stopped right there
    core = open_core(Settings(data_dir=data))
    try:
        engine = open_sync(core)
        assert engine is not None
        status, result = engine.run_once()
    finally:
        core.close()
    assert (status.online, status.pending, result.accepted, result.rejected) == (True, 0, 1, 0)
    assert_sealed_to_the_server(server, data, item_id, personal)


@pytest.fixture
def shanghai_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The kiosk's local zone 8 hours ahead of UTC, so that a local day spans two UTC days."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_slots_opened_on_the_server_are_listed_and_booked_once_each(
    server: LiveServer, tmp_path: Path, capsys: Any, shanghai_time: None
) -> None:
    from central.cli import main as central_main

    data = tmp_path / "kiosk"
    server.enrol(data)
    day = date.today() + timedelta(days=1)
    early = datetime.combine(day, datetime.min.time()).astimezone().replace(hour=7, minute=30)
    assert early.astimezone(UTC).date() < day  # 07:30 in Shanghai is the evening before in UTC
    opened = []
    # The next morning's slot lies on the same UTC day as the later one: listed by the API, not for `day`.
    for start, capacity in ((early, 1), (early + timedelta(hours=2), 2), (early + timedelta(days=1), 1)):
        add = [
            "slot-add",
            "--service",
            "household",
            "--start",
            start.isoformat(),
            "--capacity",
            str(capacity),
        ]
        assert central_main([*add, "--database", server.database_url]) == 0
        opened.append(capsys.readouterr().out.strip())

    client = device_client(data)
    source = CentralSlots(client)
    listed = source.slots("household", day)
    assert [(s.id, s.remaining) for s in listed] == [(opened[0], 1), (opened[1], 2)]
    assert listed[0].starts_at == early
    assert source.slots("other-service", day) == []

    first, second = "6f1c1d0e-0000-4000-8000-000000000001", "6f1c1d0e-0000-4000-8000-000000000002"
    source.book(slot_id=opened[0], booking_id=first, reference=first)
    # The same booking again (an answer lost on the way back) takes no second place.
    assert client.book(slot_id=opened[0], booking_id=first, reference=first) == "duplicate"
    with pytest.raises(SlotTaken):  # capacity 1
        source.book(slot_id=opened[0], booking_id=second, reference=second)
    source.book(slot_id=opened[1], booking_id=second, reference=second)
    assert [(s.id, s.remaining) for s in source.slots("household", day)] == [(opened[0], 0), (opened[1], 1)]


def test_an_appointment_submission_takes_its_place_on_the_server(
    server: LiveServer, tmp_path: Path, capsys: Any
) -> None:
    from central.cli import main as central_main

    data = tmp_path / "kiosk"
    server.enrol(data)
    settings = Settings(data_dir=data)
    definition = catalogue_for(data).get("appointment")
    assert definition is not None
    answers = example_answers(definition)
    starts_at = answers["slot"]["starts_at"]
    add = ["slot-add", "--service", answers["business"], "--start", starts_at, "--capacity", "1"]
    assert central_main([*add, "--database", server.database_url]) == 0
    slot_id = capsys.readouterr().out.strip()
    source = CentralSlots(device_client(data))
    [slot] = source.slots(answers["business"], date.fromisoformat(answers["day"]))
    assert slot.id == slot_id and slot.remaining == 1
    core = open_core(settings)
    try:
        desk = SubmissionDesk(core.store, settings, source)
        submission = desk.submit(definition, answers | {"slot": slot.answer()}, "zh-CN")
        with pytest.raises(SlotTaken):  # capacity 1: the next person must choose another slot
            desk.submit(definition, answers | {"slot": slot.answer()}, "zh-CN")
        assert [r["id"] for r in core.store.query("SELECT id FROM submissions")] == [submission.id]
    finally:
        core.close()
    assert source.slots(answers["business"], date.fromisoformat(answers["day"]))[0].remaining == 0

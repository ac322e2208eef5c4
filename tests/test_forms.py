"""Service definitions, answers, submissions (one transaction, numbering, encryption at rest, re-sealing)
and the `kiosk services` / `kiosk submit` / `kiosk receipt` commands."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.central_client import Credentials, save_credentials
from kiosk.config import Settings
from kiosk.forms.answers import AnswerError, check_field, example_answers, validate_answers
from kiosk.forms.definition import (
    SERVICES_DIR,
    DefinitionError,
    catalogue_for,
    load_definition,
    parse_definition,
)
from kiosk.forms.protect import LOCAL_MAGIC, reseal_pending
from kiosk.forms.slots import FakeSlots, SlotsUnavailable
from kiosk.forms.submissions import SubmissionDesk
from kiosk.store import Store
from main import main
from protocol.sealing import b64e, open_sealed, seal_public_key

TODAY = date(2026, 11, 26)
SHIPPED = (
    "appointment",
    "disability-subsidy",
    "elderly-allowance",
    "forest-entry",
    "health-declaration",
    "queue-ticket",
    "returning-person",
    "vehicle-pass",
)


def _raw(service: str) -> dict[str, Any]:
    return json.loads((SERVICES_DIR / f"{service}.json").read_text("utf-8"))


@pytest.fixture
def desk(tmp_path: Path) -> Any:
    settings = Settings(data_dir=tmp_path, checkpoint_id="CP-014", site_name="石门收费站")
    store = Store(settings.store_path)
    yield SubmissionDesk(store, settings, FakeSlots())
    store.close()


def test_the_shipped_services_load_and_their_examples_are_valid() -> None:
    catalogue = catalogue_for(Path("/nonexistent"))
    assert catalogue.refused == []
    assert sorted(catalogue.services) == list(SHIPPED)
    for definition in catalogue.ordered():
        validate_answers(definition, example_answers(definition, TODAY), TODAY)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["steps"][1]["fields"][0].update(type="colour"),
            "vehicle-pass.json: steps[1].fields[0].type: ",
        ),
        (lambda d: d["title"].pop("en"), "vehicle-pass.json: title: 'en' is a required property"),
        (
            lambda d: d["steps"][1]["fields"].append(dict(d["steps"][1]["fields"][0])),
            "vehicle-pass.json: steps[1].fields[2].id: field id 'plate' is already used in vehicle",
        ),
        (
            lambda d: d["code"]["claims"].update(plate="licence"),
            "vehicle-pass.json: code.claims.plate: no field 'licence' in this service",
        ),
        (
            lambda d: d["code"]["claims"].update(colour="plate"),
            "vehicle-pass.json: code.claims.colour: vehicle-pass codes have no claim 'colour'",
        ),
        (lambda d: d["steps"].pop(), "vehicle-pass.json: steps[4].kind: the last step must be a review step"),
        (
            lambda d: d["receipt"]["fields"].append("colour"),
            "vehicle-pass.json: receipt.fields[7]: no field 'colour' in this service",
        ),
    ],
)
def test_a_bad_definition_is_refused_naming_the_file_and_field(change: Any, message: str) -> None:
    raw = _raw("vehicle-pass")
    change(raw)
    with pytest.raises(DefinitionError) as err:
        parse_definition(raw, "vehicle-pass.json")
    assert str(err.value).startswith(message)


def test_unreadable_files_are_refused_and_the_rest_still_load(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "half.json").write_text('{"id": "half", ', "utf-8")
    (tmp_path / "services" / "forest-v2.yaml").write_text(
        json.dumps(_raw("forest-entry") | {"version": 2}, ensure_ascii=False), "utf-8"
    )
    catalogue = catalogue_for(tmp_path)
    assert [e.source for e in catalogue.refused] == ["half.json"]
    assert catalogue.services["forest-entry"].version == 2  # YAML is a superset of JSON
    assert len(catalogue.services) == len(SHIPPED)


@pytest.mark.parametrize(
    ("field", "value", "path", "key"),
    [
        ("plate", "粤B1234", "plate", "form.error.plate"),
        ("plate", "粤BI2345", "plate", "form.error.plate"),  # no I on plates
        ("phone", "1380013800", "phone", "form.error.phone"),
        ("driver_id", "110105194912310021", "driver_id", "id.bad_checksum"),
        ("vehicle_type", "tank", "vehicle_type", "form.error.choice"),
        ("symptoms", "no", "symptoms", "form.error.yesno"),
        ("origin", "", "origin", "form.error.required"),
        ("passengers", [{"name": "李四", "id_number": "1234"}], "passengers[0].id_number", "id.bad_shape"),
        ("colour", "red", "colour", "form.error.unknown_field"),
    ],
)
def test_bad_answers_name_the_field(field: str, value: Any, path: str, key: str) -> None:
    definition = load_definition(SERVICES_DIR / "vehicle-pass.json")
    answers = example_answers(definition, TODAY) | {field: value}
    with pytest.raises(AnswerError) as err:
        validate_answers(definition, answers, TODAY)
    assert (err.value.path, err.value.key) == (path, key)
    assert str(err.value).startswith(f"field {path!r}: ")


def test_plates_new_energy_and_suffixes_and_normalising() -> None:
    plate = load_definition(SERVICES_DIR / "vehicle-pass.json").field("plate")
    assert check_field(plate, "粤b 12345") == "粤B12345"
    assert check_field(plate, "粤BD12345") == "粤BD12345"  # new energy, small car
    assert check_field(plate, "粤B12345D") == "粤B12345D"  # new energy, large vehicle
    assert check_field(plate, "粤B1234挂") == "粤B1234挂"
    with pytest.raises(AnswerError):
        check_field(plate, "AB12345")


def test_a_submission_is_numbered_stored_queued_and_encrypted_in_one_go(desk: Any, tmp_path: Path) -> None:
    definition = load_definition(SERVICES_DIR / "vehicle-pass.json")
    first = desk.submit(definition, example_answers(definition), "zh-CN")
    second = desk.submit(definition, example_answers(definition), "en")
    day = datetime.now().strftime("%m%d")
    assert (first.number, second.number) == (f"CP014-{day}-0001", f"CP014-{day}-0002")
    rows = desk.store.query("SELECT * FROM submissions ORDER BY number")
    assert [r["id"] for r in rows] == [first.id, second.id]
    clear = json.loads(rows[0]["clear"])
    assert clear["driver_id"] == "110***********002X" and clear["driver_name"] == "王*明"
    assert clear["plate"] == "粤B12345"
    assert rows[0]["sealed_personal"].startswith(LOCAL_MAGIC)
    item = desk.store.query("SELECT payload FROM outbox WHERE item_id = ?", (first.id,))[0]
    payload = json.loads(item["payload"])
    assert payload["fields"]["number"] == first.number and "driver_name" not in payload["fields"]
    assert set(payload) == {"id", "service_id", "submitted_at", "local_day", "fields"}
    assert [tuple(r) for r in desk.store.query("SELECT status FROM print_jobs")] == [
        ("pending",),
        ("pending",),
    ]
    assert second.receipt.title == "Vehicle passage registration"


def test_bad_answers_store_nothing_and_a_failing_transaction_leaves_nothing(
    desk: Any, monkeypatch: Any
) -> None:
    definition = load_definition(SERVICES_DIR / "vehicle-pass.json")
    with pytest.raises(AnswerError):
        desk.submit(definition, example_answers(definition) | {"plate": "x"}, "zh-CN")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("kiosk.forms.submissions.enqueue", broken)
    with pytest.raises(OSError):
        desk.submit(definition, example_answers(definition), "zh-CN")
    for table in ("submissions", "outbox", "print_jobs", "sequences"):
        assert desk.store.query(f"SELECT COUNT(*) FROM {table}")[0][0] == 0, table


def test_queue_numbers_count_per_category_and_day(desk: Any) -> None:
    definition = load_definition(SERVICES_DIR / "queue-ticket.json")
    tickets = [
        desk.submit(definition, {"category": c}, "zh-CN").ticket
        for c in ("household", "traffic", "household")
    ]
    assert tickets == ["A001", "C001", "A002"]


def test_appointments_are_booked_and_refused_offline(desk: Any) -> None:
    definition = load_definition(SERVICES_DIR / "appointment.json")
    answers = example_answers(definition)
    slot = desk.slots.slots("household", date.fromisoformat(answers["day"]))[0]
    submission = desk.submit(definition, answers | {"slot": slot.answer()}, "zh-CN")
    assert desk.slots.booked == {submission.id: slot.id}
    desk.slots.online = False
    with pytest.raises(SlotsUnavailable):
        desk.submit(definition, answers | {"slot": slot.answer()}, "zh-CN")
    assert desk.store.query("SELECT COUNT(*) FROM submissions")[0][0] == 1


def test_local_encryption_is_resealed_to_the_central_key_after_enrolment(desk: Any, tmp_path: Path) -> None:
    definition = load_definition(SERVICES_DIR / "health-declaration.json")
    submission = desk.submit(definition, example_answers(definition), "zh-CN")
    assert reseal_pending(desk.store, desk.settings.secrets_dir) == 0  # not enrolled: nothing to seal to
    central_private = bytes(range(32))
    save_credentials(
        desk.settings.secrets_dir,
        Credentials(
            "https://central.invalid",
            "dev",
            "tok",
            "site",
            b64e(bytes(32)),
            b64e(seal_public_key(central_private)),
        ),
    )
    assert reseal_pending(desk.store, desk.settings.secrets_dir) == 1
    assert reseal_pending(desk.store, desk.settings.secrets_dir) == 0
    sealed = desk.store.query("SELECT sealed_personal FROM submissions")[0][0]
    queued = desk.store.query("SELECT sealed_personal FROM outbox WHERE item_id = ?", (submission.id,))[0][0]
    assert sealed == queued and not sealed.startswith(LOCAL_MAGIC)
    personal = json.loads(open_sealed(central_private, sealed))
    assert personal == {"name": "张三", "id_number": "11010519491231002X", "phone": "13800138000"}
    # Once enrolled, new submissions are sealed to the central key at once.
    later = desk.submit(definition, example_answers(definition), "zh-CN")
    box = desk.store.query("SELECT sealed_personal FROM submissions WHERE id = ?", (later.id,))[0][0]
    assert json.loads(open_sealed(central_private, box))["name"] == "张三"


def test_cli_services_submit_and_receipt(tmp_path: Path, capsys: Any) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["services", "list", *data]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [
        "vehicle-pass",
        "health-declaration",
        "returning-person",
        "forest-entry",
        "queue-ticket",
        "appointment",
        "elderly-allowance",
        "disability-subsidy",
    ]
    assert main(["services", "example", "vehicle-pass", *data]) == 0
    answers = json.loads(capsys.readouterr().out)
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(answers, ensure_ascii=False), "utf-8")
    bad.write_text(json.dumps(answers | {"phone": "12"}, ensure_ascii=False), "utf-8")

    assert main(["submit", "--service", "vehicle-pass", "--answers", str(bad), *data]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("field 'phone': Must be an 11-digit mobile number, or a landline with its area code")
    )
    store = Store(tmp_path / "kiosk.sqlite3")
    assert store.query("SELECT COUNT(*) FROM submissions")[0][0] == 0
    store.close()

    assert main(["submit", "--service", "vehicle-pass", "--answers", str(good), *data]) == 0
    number = capsys.readouterr().out.strip()
    store = Store(tmp_path / "kiosk.sqlite3")
    assert [r[0] for r in store.query("SELECT number FROM submissions")] == [number]
    store.close()
    assert main(["submit", "--service", "nope", "--answers", str(good), *data]) == 2

    out = tmp_path / "r.pdf"
    assert (
        main(["receipt", "--service", "queue-ticket", "--demo", "--out", str(out), "--paper", "58mm", *data])
        == 0
    )
    assert out.read_bytes().startswith(b"%PDF")
    assert (
        main(["receipt", "--service", "queue-ticket", "--demo", "--printer", f"pdf:{tmp_path / 'p'}", *data])
        == 0
    )
    assert len(list((tmp_path / "p").glob("*.pdf"))) == 1


def test_central_slots_ask_the_client_for_each_utc_day_and_book_by_submission_id() -> None:
    from fakes import FakeCentral

    from kiosk.central_client import Unavailable
    from kiosk.forms.slots import CentralSlots, SlotTaken

    central = FakeCentral()
    day = date(2026, 12, 1)
    nine = datetime(2026, 12, 1, 9, 0).astimezone()
    full = central.add_slot("household", nine, capacity=1)
    roomy = central.add_slot("household", nine + timedelta(hours=1), capacity=2)
    central.add_slot("household", nine + timedelta(days=1))
    central.add_slot("exit-entry", nine)
    source = CentralSlots(central)
    assert [(s.id, s.remaining) for s in source.slots("household", day)] == [(full, 1), (roomy, 2)]
    source.book(slot_id=full, booking_id="booking-1", reference="booking-1")
    # The same booking again takes no second place.
    source.book(slot_id=full, booking_id="booking-1", reference="booking-1")
    with pytest.raises(SlotTaken):
        source.book(slot_id=full, booking_id="booking-2", reference="booking-2")
    with pytest.raises(SlotTaken):
        source.book(slot_id="no-such-slot", booking_id="booking-2", reference="booking-2")
    source.book(slot_id=roomy, booking_id="booking-2", reference="booking-2")
    assert [(s.id, s.remaining) for s in source.slots("household", day)] == [(full, 0), (roomy, 1)]
    central.failures.append(Unavailable("link down"))
    with pytest.raises(SlotsUnavailable):
        source.slots("household", day)
    central.failures.append(Unavailable("link down"))
    with pytest.raises(SlotsUnavailable):
        source.book(slot_id=roomy, booking_id="booking-3", reference="booking-3")

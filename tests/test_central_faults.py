"""Bad values and abusive requests against a real server, on SQLite and on PostgreSQL: each is refused with a
4xx that names what was wrong, never a 500, and one bad item never holds back the others of its batch."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from central_helpers import NOW, LiveServer, inspection, submission

from central.db import make_engine, session_factory
from central.models import Device, Inspection, Submission
from kiosk.central_client import DeviceAuth, HttpCentral
from protocol.sealing import b64e

# "1" followed by 400 zeros and ".5": a number JSON allows and a float cannot hold (it parses as Infinity).
HUGE = "1" + "0" * 400 + ".5"


@pytest.fixture
def session(server: LiveServer, tmp_path: Path) -> requests.Session:
    credentials, seed = server.enrol(tmp_path / "kiosk", checkpoints=("CP-001",))
    signed = requests.Session()
    signed.auth = DeviceAuth(credentials.token, seed)
    return signed


def _post_raw(session: requests.Session, url: str, body: str) -> requests.Response:
    return session.post(url, data=body.encode("utf-8"), headers={"Content-Type": "application/json"})


def _stored(server: LiveServer, model: type[Inspection] | type[Submission], item_id: str) -> bool:
    engine = make_engine(server.database_url)
    try:
        with session_factory(engine)() as db:
            return db.get(model, item_id) is not None
    finally:
        engine.dispose()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", HUGE])
def test_a_number_no_float_can_hold_is_refused_for_that_item_only(
    server: LiveServer, session: requests.Session, literal: str
) -> None:
    good, bad, after = submission(), submission(fields={"copies": 0}), submission()
    body = json.dumps({"items": [good, bad, after]}).replace('"copies": 0', f'"copies": {literal}')
    response = _post_raw(session, server.url + "/v1/submissions/batch", body)
    assert response.status_code == 200, response.text
    results = {r["id"]: r for r in response.json()["results"]}
    assert results[good["id"]]["status"] == results[after["id"]]["status"] == "accepted"
    assert results[bad["id"]]["status"] == "rejected"
    assert "fields.copies" in results[bad["id"]]["reason"] and "finite" in results[bad["id"]]["reason"]
    assert not _stored(server, Submission, bad["id"])
    assert _stored(server, Submission, after["id"])


def test_nul_in_a_stored_string_is_refused_for_that_item_only(
    server: LiveServer, session: requests.Session
) -> None:
    good, bad = inspection(), inspection(reason="code\x00valid")
    response = session.post(server.url + "/v1/inspections/batch", json={"items": [bad, good]})
    assert response.status_code == 200, response.text
    results = {r["id"]: r for r in response.json()["results"]}
    assert results[good["id"]]["status"] == "accepted"
    assert results[bad["id"]]["status"] == "rejected" and "reason" in results[bad["id"]]["reason"]
    nul_key = submission(fields={"co\x00pies": 1})
    answer = session.post(server.url + "/v1/submissions/batch", json={"items": [nul_key]}).json()
    assert answer["results"][0]["status"] == "rejected"


def test_the_kiosk_client_reads_a_per_item_refusal(server: LiveServer, tmp_path: Path) -> None:
    credentials, seed = server.enrol(tmp_path / "other")
    client = HttpCentral(credentials, seed)
    # (The kiosk's client refuses NaN itself before sending; a NUL it sends as it is.)
    good, bad = submission(), submission(fields={"note": "a\x00b"})
    answers = client.upload("submission", [good, bad])
    assert answers[good["id"]] == ("accepted", None)
    assert answers[bad["id"]][0] == "rejected" and "fields.note" in str(answers[bad["id"]][1])


def test_an_item_without_a_usable_id_refuses_the_batch_naming_it(
    server: LiveServer, session: requests.Session
) -> None:
    response = session.post(
        server.url + "/v1/inspections/batch", json={"items": [inspection(), inspection(id="nope")]}
    )
    assert response.status_code == 422
    assert any(error["loc"][:4] == ["body", "items", 1, "id"] for error in response.json()["detail"])


@pytest.mark.parametrize("literal", ["NaN", "Infinity", HUGE])
def test_heartbeat_health_with_a_number_no_float_can_hold_is_refused(
    server: LiveServer, session: requests.Session, literal: str
) -> None:
    body = json.dumps({"version": "1", "queue_depth": 0, "health": {"disk_free_mb": 0}})
    response = _post_raw(session, server.url + "/v1/heartbeat", body.replace(": 0}", f": {literal}}}"))
    assert response.status_code == 422, response.text
    assert any(error["loc"][:3] == ["body", "health", "disk_free_mb"] for error in response.json()["detail"])


def test_heartbeat_with_nul_is_refused(server: LiveServer, session: requests.Session) -> None:
    for body in (
        {"version": "1\x00", "queue_depth": 0},
        {"version": "1", "queue_depth": 0, "health": {"printer": "re\x00ady"}},
        {"version": "1", "queue_depth": 0, "health": {"prin\x00ter": "ready"}},
    ):
        assert session.post(server.url + "/v1/heartbeat", json=body).status_code == 422


def test_enrolment_name_with_nul_is_refused(server: LiveServer) -> None:
    body = {"code": server.new_code(), "public_key": b64e(b"k" * 32), "name": "gate\x00one", "version": "1"}
    response = requests.post(server.url + "/v1/enrol", json=body)
    assert response.status_code == 422
    assert any(error["loc"] == ["body", "name"] for error in response.json()["detail"])


@pytest.mark.parametrize("day", ["9999-12-31", "0", "20250101", "2025-02-30"])
def test_slots_of_an_impossible_or_unwritten_day_are_refused(
    server: LiveServer, session: requests.Session, day: str
) -> None:
    response = session.get(server.url + "/v1/slots", params={"service_id": "passport", "day": day})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("query", [{"until": "0"}, {"since": "1"}, {"until": "9999-12-31"}])
def test_stats_refuse_what_is_not_a_date(server: LiveServer, session: requests.Session, query: Any) -> None:
    assert session.get(server.url + "/v1/stats", params=query).status_code == 422


def test_a_day_written_as_a_number_is_refused_in_a_body(
    server: LiveServer, session: requests.Session
) -> None:
    item = inspection(local_day=0)
    answer = session.post(server.url + "/v1/inspections/batch", json={"items": [item]}).json()
    assert answer["results"][0]["status"] == "rejected" and "local_day" in answer["results"][0]["reason"]


def test_chunked_oversized_body_is_refused_with_413(server: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * (1024 * 1024)

    # No length declared: the limit is found while the body streams in, before anything reads it.
    response = requests.post(server.url + "/v1/inspections/batch", data=chunks())
    assert response.status_code == 413


def test_chunked_body_under_the_limit_is_read_whole(server: LiveServer, session: requests.Session) -> None:
    item = inspection()
    raw = json.dumps({"items": [item]}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 7):
            yield raw[start : start + 7]

    # A signed request over a streamed body: the signature covers the whole body the server reassembles.
    prepared = session.prepare_request(
        requests.Request(
            "POST",
            server.url + "/v1/inspections/batch",
            data=raw,
            headers={"Content-Type": "application/json"},
        )
    )
    prepared.body = chunks()
    del prepared.headers["Content-Length"]
    prepared.headers["Transfer-Encoding"] = "chunked"
    response = requests.Session().send(prepared)
    assert response.status_code == 200 and response.json()["results"][0]["status"] == "accepted"


def test_a_revoked_token_without_a_signature_looks_like_any_bad_token(
    server: LiveServer, tmp_path: Path
) -> None:
    from central.cli import main as central_main

    credentials, _seed = server.enrol(tmp_path / "revoked")
    assert central_main(["revoke", credentials.device_id, "--database", server.database_url]) == 0
    url = server.url + "/v1/heartbeat"
    body = {"version": "1", "queue_depth": 0}
    bare = requests.post(url, json=body, headers={"Authorization": f"Bearer {credentials.token}"})
    unknown = requests.post(url, json=body, headers={"Authorization": "Bearer " + "z" * 43})
    assert bare.status_code == unknown.status_code == 401
    assert bare.json() == unknown.json()


def test_inspections_only_under_the_devices_own_checkpoints(server: LiveServer, tmp_path: Path) -> None:
    east, east_seed = server.enrol(tmp_path / "east", site="east", checkpoints=("CP-EAST",))
    client = HttpCentral(east, east_seed)
    own, other_site, made_up = (
        inspection(checkpoint_id="CP-EAST"),
        inspection(checkpoint_id="CP-WEST"),
        inspection(checkpoint_id="CP-999"),
    )
    server.new_code("west", checkpoints=("CP-WEST",))
    answers = client.upload("inspection", [own, other_site, made_up])
    assert answers[own["id"]] == ("accepted", None)
    for item in (other_site, made_up):
        status, reason = answers[item["id"]]
        assert status == "rejected" and item["checkpoint_id"] in str(reason)
        assert not _stored(server, Inspection, item["id"])


def test_a_checkpoint_belongs_to_one_site(server: LiveServer) -> None:
    server.new_code("east", checkpoints=("CP-GATE",))
    with pytest.raises(ValueError, match="CP-GATE"):
        server.new_code("west", checkpoints=("CP-GATE",))


def test_enrolment_binds_the_codes_checkpoints(server: LiveServer, tmp_path: Path) -> None:
    credentials, _ = server.enrol(tmp_path / "k", site="east", checkpoints=("CP-A", "CP-B"))
    engine = make_engine(server.database_url)
    with session_factory(engine)() as db:
        device = db.get(Device, credentials.device_id)
        assert device is not None and sorted(device.checkpoints or []) == ["CP-A", "CP-B"]
    engine.dispose()


def test_stats_still_take_a_real_day(server: LiveServer, session: requests.Session) -> None:
    session.post(server.url + "/v1/inspections/batch", json={"items": [inspection()]})
    day = NOW.date().isoformat()
    answer = session.get(server.url + "/v1/stats", params={"since": day, "until": day})
    assert answer.status_code == 200 and answer.json()["inspections"][0]["inspections"] == 1
    tomorrow = (NOW + timedelta(days=1)).date().isoformat()
    assert session.get(server.url + "/v1/stats", params={"since": tomorrow}).json()["inspections"] == []


def test_migration_binds_existing_devices_to_the_checkpoints_they_used(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from central.db import MIGRATIONS_DIR, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        now = NOW.isoformat()
        for device_id in ("gate", "counter"):
            conn.execute(
                text(
                    "INSERT INTO devices (id, site, name, public_key, token_hash, created_at)"
                    " VALUES (:id, 's', 'n', x'00', :token, :now)"
                ),
                {"id": device_id, "token": device_id, "now": now},
            )
        for checkpoint in ("CP-2", "CP-1", "CP-2"):
            conn.execute(
                text(
                    "INSERT INTO inspections (id, device_id, site, checkpoint_id, at, local_day, source,"
                    " kind, code_hash, subject_hash, verdict, reason, content_hash, received_at, via) VALUES"
                    " (:id, 'gate', 's', :cp, :now, '2026-01-01', 'camera', 'k', 'h', 'h', 'green', 'r',"
                    " 'c', :now, 'api')"
                ),
                {"id": str(uuid.uuid4()), "cp": checkpoint, "now": now},
            )
    migrate(engine)
    with session_factory(engine)() as db:
        gate, counter = db.get(Device, "gate"), db.get(Device, "counter")
        assert gate is not None and gate.checkpoints == ["CP-1", "CP-2"]
        assert counter is not None and counter.checkpoints == []
    engine.dispose()

"""The central API against a real server on 127.0.0.1, on a real SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
import os
import stat
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from central_helpers import NOW, LiveServer, inspection, running_server, submission

from central.db import make_engine, session_factory
from central.keys import load_keys
from central.models import Submission
from kiosk.central_client import DeviceAuth, HttpCentral, Refused, Unauthorised, Unavailable
from kiosk.paths import PROJECT_ROOT
from protocol.sealing import b64e, open_sealed, seal


@pytest.fixture
def device(server: LiveServer, tmp_path: Path) -> tuple[HttpCentral, requests.Session]:
    credentials, seed = server.enrol(tmp_path / "kiosk")
    session = requests.Session()
    session.auth = DeviceAuth(credentials.token, seed)
    return HttpCentral(credentials, seed), session


def test_batch_upload_is_idempotent_by_id(device: tuple[HttpCentral, requests.Session]) -> None:
    client, _ = device
    first = [inspection() for _ in range(5)]
    assert set(client.upload("inspection", first).values()) == {("accepted", None)}
    again = [*first[:3], inspection()]
    answers = client.upload("inspection", again)
    assert [answers[i["id"]][0] for i in again] == ["duplicate"] * 3 + ["accepted"]
    # Same id, different content: refused, and the stored row is not overwritten.
    changed = first[0] | {"verdict": "red"}
    assert client.upload("inspection", [changed])[changed["id"]] == (
        "rejected",
        "id already used for different content",
    )


def test_semantic_problems_are_rejected_per_item(device: tuple[HttpCentral, requests.Session]) -> None:
    client, _ = device
    good = inspection()
    bad = inspection(local_day=(NOW - timedelta(days=5)).date().isoformat())
    answers = client.upload("inspection", [good, bad])
    assert answers[good["id"]] == ("accepted", None)
    assert answers[bad["id"]][0] == "rejected" and "local_day" in str(answers[bad["id"]][1])


def test_schema_violations_are_refused_per_item_or_with_422(
    server: LiveServer, device: tuple[HttpCentral, requests.Session]
) -> None:
    client, session = device
    # An item that breaks the schema is rejected by id, naming the field; the others of its batch go ahead.
    for kind, bad, field in (
        ("inspection", inspection(verdict="purple"), "verdict"),
        ("inspection", inspection(extra="field"), "extra"),
        ("submission", submission(sealed_personal=b64e(b"not sealed at all, too short")), "sealed_personal"),
    ):
        good = inspection() if kind == "inspection" else submission()
        answers = client.upload(kind, [bad, good])
        assert answers[good["id"]] == ("accepted", None)
        assert answers[bad["id"]][0] == "rejected" and field in str(answers[bad["id"]][1])
    with session_factory(make_engine(server.database_url))() as db:
        assert db.get(Submission, bad["id"]) is None
    # The envelope itself wrong: nothing to answer per item, the whole request is refused.
    with pytest.raises(Refused, match="422"):
        client._request("POST", "/v1/inspections/batch", json={"items": [inspection()], "extra": 1})
    assert session.post(server.url + "/v1/inspections/batch", json={"items": []}).status_code == 422


def test_personal_fields_rest_sealed_and_open_only_with_the_server_key(
    server: LiveServer, device: tuple[HttpCentral, requests.Session]
) -> None:
    client, _ = device
    keys = load_keys(server.key_dir)
    secret = json.dumps({"name": "张三", "id_number": "110101199003074578"}).encode()
    item = submission(seal(keys.seal_public, secret))
    assert client.upload("submission", [item])[item["id"]] == ("accepted", None)
    with session_factory(make_engine(server.database_url))() as db:
        stored = db.get(Submission, item["id"])
        assert stored is not None and stored.sealed_personal is not None
        assert "张三".encode() not in stored.sealed_personal
        assert open_sealed(keys.seal_private, stored.sealed_personal) == secret


def test_enrolment_code_works_once(server: LiveServer, tmp_path: Path) -> None:
    code = server.new_code()
    body = {"code": code, "public_key": b64e(b"k" * 32), "name": "a", "version": "1"}
    assert requests.post(server.url + "/v1/enrol", json=body).status_code == 201
    replay = requests.post(server.url + "/v1/enrol", json=body)
    assert replay.status_code == 403
    expired = server.new_code(valid=timedelta(seconds=-1))
    assert requests.post(server.url + "/v1/enrol", json=body | {"code": expired}).status_code == 403
    assert requests.post(server.url + "/v1/enrol", json=body | {"public_key": "abc"}).status_code == 422


def test_every_enrolment_gets_the_one_person_hash_key(server: LiveServer, tmp_path: Path) -> None:
    first, _ = server.enrol(tmp_path / "a")
    second, _ = server.enrol(tmp_path / "b")
    key_file = server.key_dir / "person-hash.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert first.person_hash_key == second.person_hash_key == b64e(load_keys(server.key_dir).person_hash)
    assert len(key_file.read_bytes()) == 32


def test_requests_need_token_and_fresh_signature(server: LiveServer, device: Any) -> None:
    _, session = device
    url = server.url + "/v1/heartbeat"
    body = {"version": "1", "queue_depth": 0}
    assert requests.post(url, json=body).status_code == 401
    assert session.post(url, json=body).status_code == 200
    # Replay the exact signed request: same nonce, refused.
    prepared = session.prepare_request(requests.Request("POST", url, json=body))
    assert requests.Session().send(prepared).status_code == 200
    assert requests.Session().send(prepared).status_code == 401
    # A signature over another body does not carry over.
    tampered = prepared.copy()
    tampered.body = json.dumps({"version": "2", "queue_depth": 0}).encode()
    tampered.headers["X-Kiosk-Nonce"] = "f" * 32
    tampered.headers["Content-Length"] = str(len(tampered.body))
    assert requests.Session().send(tampered).status_code == 401


def test_revoked_device_is_refused(server: LiveServer, device: tuple[HttpCentral, requests.Session]) -> None:
    from central.cli import main as central_main

    client, _ = device
    device_id = json.loads((Path(server.key_dir).parent / "kiosk/secrets/central.json").read_text())[
        "device_id"
    ]
    assert central_main(["revoke", device_id, "--database", server.database_url]) == 0
    with pytest.raises(Unauthorised, match="403"):
        client.heartbeat({"version": "1", "queue_depth": 0})


def test_oversized_body_is_refused_with_413(server: LiveServer, device: Any) -> None:
    _, session = device
    blob = b"x" * (5 * 1024 * 1024)
    response = session.post(server.url + "/v1/inspections/batch", data=blob)
    assert response.status_code == 413
    too_many = {"items": [inspection() for _ in range(501)]}
    assert session.post(server.url + "/v1/inspections/batch", json=too_many).status_code == 422


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    with running_server(tmp_path, device_rate=(0.5, 3.0)) as live:
        credentials, seed = live.enrol(tmp_path / "kiosk")
        client = HttpCentral(credentials, seed)
        for _ in range(3):
            client.heartbeat({"version": "1", "queue_depth": 0})
        with pytest.raises(Unavailable) as err:
            client.heartbeat({"version": "1", "queue_depth": 0})
        assert "429" in str(err.value)
        assert err.value.retry_after is not None and err.value.retry_after >= 1


def test_bundle_is_signed_and_conditional(server: LiveServer, device: Any, tmp_path: Path) -> None:
    from central.cli import main as central_main

    client, session = device
    services = tmp_path / "services.json"
    services.write_text(json.dumps([{"id": "residence-permit", "name": "居住证"}]), "utf-8")
    assert central_main(["bundle-set", "services", str(services), "--database", server.database_url]) == 0
    first = session.get(server.url + "/v1/bundle")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert first.json()["services"][0]["id"] == "residence-permit"
    again = session.get(server.url + "/v1/bundle", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.fetch_bundle(first.json()["version"]) is None
    # With services defined, a submission for an unknown service is rejected per item.
    item = submission(service_id="no-such-service")
    assert client.upload("submission", [item])[item["id"]][0] == "rejected"


def test_slots_and_bookings(server: LiveServer, device: Any) -> None:
    from central.cli import main as central_main

    _, session = device
    start = (NOW + timedelta(days=1)).replace(hour=9, minute=0)
    assert (
        central_main(
            [
                "slot-add",
                "--service",
                "passport",
                "--start",
                start.isoformat(),
                "--capacity",
                "1",
                "--database",
                server.database_url,
            ]
        )
        == 0
    )
    slots = session.get(
        server.url + "/v1/slots", params={"service_id": "passport", "day": start.date()}
    ).json()
    assert len(slots) == 1 and slots[0]["remaining"] == 1
    booking = {"id": str(uuid.uuid4()), "slot_id": slots[0]["id"], "reference": "R1"}
    assert session.post(server.url + "/v1/bookings", json=booking).json()["status"] == "booked"
    assert session.post(server.url + "/v1/bookings", json=booking).json()["status"] == "duplicate"
    other = booking | {"id": str(uuid.uuid4())}
    assert session.post(server.url + "/v1/bookings", json=other).status_code == 409
    slots = session.get(
        server.url + "/v1/slots", params={"service_id": "passport", "day": start.date()}
    ).json()
    assert slots[0]["remaining"] == 0


def test_statistics_per_checkpoint_and_service(server: LiveServer, device: Any, capsys: Any) -> None:
    from central.cli import main as central_main

    client, session = device
    person = "b" * 64
    client.upload(
        "inspection",
        [inspection(subject_hash=person), inspection(subject_hash=person, verdict="red"), inspection()],
    )
    client.upload("submission", [submission(), submission()])
    stats = session.get(server.url + "/v1/stats").json()
    day = stats["inspections"][0]
    assert (day["inspections"], day["persons"]) == (3, 2)
    assert day["by_verdict"] == {"green": 2, "yellow": 0, "red": 1}
    assert stats["submissions"][0]["submissions"] == 2
    assert central_main(["stats", "--json", "--database", server.database_url]) == 0
    assert json.loads(capsys.readouterr().out) == stats


def test_committed_openapi_document_matches_the_app(server: LiveServer) -> None:
    committed = json.loads((PROJECT_ROOT / "docs/api/openapi.json").read_text("utf-8"))
    assert server.app is not None
    assert committed == server.app.openapi(), (
        "regenerate with: python -m central.openapi > docs/api/openapi.json"
    )
    assert all(path.startswith("/v1/") for path in committed["paths"])

"""Kiosk ↔ real central server on 127.0.0.1: CLI, sneakernet, network faults, server faults."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from central_helpers import LiveServer, running_server
from sqlalchemy import select

from central.db import make_engine, session_factory
from central.models import Inspection, Submission
from kiosk.central_client import HttpCentral
from kiosk.config import Settings
from kiosk.core import KioskCore, open_core
from kiosk.sync import SyncEngine, open_sync
from main import main as kiosk_main
from protocol.sealing import b64d, seal
from tools.central_process import ServerProcess
from tools.faultproxy import FAULTS, FaultProxy
from tools.synth_frames import valid_id_number


def submission(index: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": str(uuid.uuid4()),
        "service_id": "svc",
        "submitted_at": now.isoformat(),
        "local_day": now.date().isoformat(),
        "fields": {"n": index},
    }


def queue_submissions(core: KioskCore, n: int, seal_key: bytes | None = None) -> list[str]:
    ids = []
    for index in range(n):
        item = submission(index)
        sealed = seal(seal_key, f"person {index}".encode()) if seal_key else None
        core.outbox.enqueue(kind="submission", item_id=item["id"], payload=item, sealed_personal=sealed)
        ids.append(item["id"])
    return ids


def server_ids(database_url: str, model: Any = Submission) -> list[str]:
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        ids = list(session.scalars(select(model.id)))
    engine.dispose()
    return ids


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with running_server(tmp_path, device_rate=(1000.0, 1000.0)) as live:
        yield live


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[KioskCore]:
    core = open_core(Settings(data_dir=tmp_path / "kiosk"))
    yield core
    core.close()


def test_cli_enroll_sync_and_stats(server: LiveServer, tmp_path: Path, capsys: Any) -> None:
    from central.cli import main as central_main

    data = tmp_path / "kiosk"
    assert kiosk_main(["sync", "--data-dir", str(data)]) == 2  # not enrolled yet
    assert (
        central_main(
            ["enrol-code", "--site", "north", "--checkpoint", "CP-001", "--database", server.database_url]
        )
        == 0
    )
    code = capsys.readouterr().out.strip()
    assert kiosk_main(["enroll", server.url, code, "--data-dir", str(data)]) == 0
    assert kiosk_main(["enroll", server.url, code, "--data-dir", str(tmp_path / "other")]) == 1
    core = open_core(Settings(data_dir=data))
    core.checkpoint.inspect("first code", source="manual")
    core.checkpoint.inspect("second code", source="manual")
    core.close()
    capsys.readouterr()
    assert kiosk_main(["sync", "--data-dir", str(data)]) == 0
    assert "accepted 2" in capsys.readouterr().out
    assert central_main(["stats", "--json", "--database", server.database_url]) == 0
    [day] = json.loads(capsys.readouterr().out)["inspections"]
    assert (day["checkpoint_id"], day["inspections"], day["persons"]) == ("CP-001", 2, 2)


def test_two_kiosks_of_one_checkpoint_count_a_person_once(
    server: LiveServer, tmp_path: Path, capsys: Any
) -> None:
    """Both kiosks hash persons under the key the server issued at enrolment, so the same ID number scanned
    at each is one person (人数) centrally, though two inspections (人次)."""
    from central.cli import main as central_main

    person, other = valid_id_number(), valid_id_number("34052419800101001")
    # One kiosk enrolled while it runs (as from the admin page), the other before it starts.
    east = open_core(Settings(data_dir=tmp_path / "east", checkpoint_id="CP-GATE"))
    server.enrol(east.settings.data_dir, checkpoints=("CP-GATE",))
    server.enrol(tmp_path / "west", checkpoints=("CP-GATE",))
    west = open_core(Settings(data_dir=tmp_path / "west", checkpoint_id="CP-GATE"))
    east.checkpoint.inspect(person, source="manual")
    east.checkpoint.inspect(other, source="manual")
    west.checkpoint.inspect(person, source="manual")
    for core in (east, west):
        engine = open_sync(core)
        assert engine is not None
        status, _ = engine.run_once()
        assert status.online and status.pending == 0
        core.close()
    capsys.readouterr()
    assert central_main(["stats", "--json", "--database", server.database_url]) == 0
    [day] = json.loads(capsys.readouterr().out)["inspections"]
    assert (day["checkpoint_id"], day["inspections"], day["persons"]) == ("CP-GATE", 3, 2)


def test_sync_exits_nonzero_while_the_server_is_unreachable(server: LiveServer, tmp_path: Path) -> None:
    data = tmp_path / "kiosk"
    server.enrol(data, url="http://127.0.0.1:9")  # nothing listens on the discard port
    core = open_core(Settings(data_dir=data))
    queue_submissions(core, 1)
    core.close()
    assert kiosk_main(["sync", "--data-dir", str(data)]) == 1


def test_sneakernet_export_import_is_idempotent(server: LiveServer, kiosk: KioskCore, tmp_path: Path) -> None:
    from central.cli import main as central_main

    credentials, _ = server.enrol(kiosk.settings.data_dir)
    ids = queue_submissions(kiosk, 30, b64d(credentials.seal_key))
    kiosk.checkpoint.inspect("a code", source="manual")
    stick = tmp_path / "usb" / "export.json"
    stick.parent.mkdir()
    assert kiosk_main(["export", "--out", str(stick), "--data-dir", str(kiosk.settings.data_dir)]) == 0
    assert b"person" not in stick.read_bytes() and ids[0].encode() not in stick.read_bytes()
    db = ["--database", server.database_url, "--key-dir", str(server.key_dir)]
    assert central_main(["import", str(stick), *db]) == 0
    assert sorted(server_ids(server.database_url)) == sorted(ids)
    assert central_main(["import", str(stick), *db]) == 0  # twice: nothing changes
    assert (
        len(server_ids(server.database_url)) == 30 and len(server_ids(server.database_url, Inspection)) == 1
    )
    engine = open_sync(kiosk)
    assert engine is not None
    status, result = engine.run_once()
    assert (result.accepted, result.duplicate, status.pending) == (0, 31, 0)
    assert len(server_ids(server.database_url)) == 30
    tampered = json.loads(stick.read_text())
    tampered["count"] += 1
    stick.write_text(json.dumps(tampered))
    assert central_main(["import", str(stick), *db]) == 2


def test_every_item_arrives_once_through_network_faults(
    server: LiveServer, kiosk: KioskCore, tmp_path: Path
) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    proxy = FaultProxy.random(port, rate=0.6, seed=7)
    proxy.hold_s = 1.5
    credentials, seed = server.enrol(kiosk.settings.data_dir, url=proxy.url)
    ids = queue_submissions(kiosk, 400)
    for index in range(50):
        kiosk.checkpoint.inspect(f"code {index}", source="manual")
    engine = SyncEngine(kiosk.outbox, HttpCentral(credentials, seed, timeout=(1.0, 1.0)), batch_size=25)
    for _ in range(300):
        status, _ = engine.run_once()
        if status.online and status.pending == 0:
            break
    proxy.close()
    assert status.pending == 0 and status.quarantined == 0
    stored = server_ids(server.database_url)
    assert len(stored) == len(set(stored)) == 400 and set(stored) == set(ids)
    assert len(server_ids(server.database_url, Inspection)) == 50
    assert kiosk.checkpoint.pending_upload() == 0
    assert set(FAULTS) <= set(proxy.seen), proxy.seen


def test_a_stalled_upload_never_holds_the_store(server: LiveServer, kiosk: KioskCore) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    release = threading.Event()
    proxy = FaultProxy(port, choose=lambda: "timeout")
    proxy.hold_s = 30
    credentials, seed = server.enrol(kiosk.settings.data_dir, url=proxy.url)
    queue_submissions(kiosk, 5)
    engine = SyncEngine(kiosk.outbox, HttpCentral(credentials, seed, timeout=(5.0, 20.0)))
    worker = threading.Thread(target=lambda: (engine.run_once(), release.set()), daemon=True)
    worker.start()
    while sum(proxy.seen.values()) == 0:
        threading.Event().wait(0.01)
    # The upload is hanging on the network; the GUI's writes and reads go through regardless.
    kiosk.checkpoint.inspect("scanned meanwhile", source="manual")
    assert kiosk.outbox.counts().pending == 6
    assert not release.is_set(), "the upload should still be waiting on the network"
    proxy.close()
    # The pass ends (the link broke) before the kiosk fixture closes the store it writes its failure to.
    worker.join(30)
    assert release.is_set() and kiosk.outbox.counts().pending == 6


def test_server_restart_mid_batch_loses_and_doubles_nothing(kiosk: KioskCore, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    server = ServerProcess(database_url, tmp_path / "keys")
    server.start()
    try:
        live = LiveServer(server.url, database_url, tmp_path / "keys")
        credentials, seed = live.enrol(kiosk.settings.data_dir)
        ids = queue_submissions(kiosk, 3000)
        # The kiosk's own count (cheap to poll, unlike opening the server's database each time) shows the
        # first answered batch, so the kill lands with most of the 30 batches still to go; polling the
        # server's file was slow enough that under load the kill sometimes came after the last batch.
        engine = SyncEngine(kiosk.outbox, HttpCentral(credentials, seed, timeout=(1.0, 5.0)), batch_size=100)
        worker = threading.Thread(target=engine.run_once, daemon=True)
        worker.start()
        while kiosk.outbox.counts().pending == len(ids):
            threading.Event().wait(0.005)
        server.kill()
        worker.join(30)
        assert kiosk.outbox.counts().pending > 0, "the kill came too late to interrupt the drain"
        server.start()
        status, _ = engine.run_once()
        assert status.online and status.pending == 0
        stored = server_ids(database_url)
        assert len(stored) == len(set(stored)) == 3000 and set(stored) == set(ids)
    finally:
        server.kill()


def test_locked_database_means_retry_later(tmp_path: Path, kiosk: KioskCore) -> None:
    with running_server(tmp_path, sqlite_busy_timeout_s=0.2) as live:
        credentials, seed = live.enrol(kiosk.settings.data_dir)
        ids = queue_submissions(kiosk, 10)
        engine = SyncEngine(kiosk.outbox, HttpCentral(credentials, seed))
        lock = sqlite3.connect(tmp_path / "central.sqlite3", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        status, _ = engine.run_once()
        assert not status.online and status.pending == 10
        assert status.error and "503" in status.error
        lock.execute("ROLLBACK")
        lock.close()
        status, _ = engine.run_once()
        assert status.online and status.pending == 0
        assert sorted(server_ids(live.database_url)) == sorted(ids)

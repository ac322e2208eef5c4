"""Where SQLite and PostgreSQL behave differently: migrations, concurrent duplicate uploads, concurrent
bookings of the last places, and the import path. Every test runs on both, each on a database of its own."""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from central_helpers import BACKENDS, LiveServer, backend_database, running_server
from sqlalchemy import select

from central.db import make_engine, migrate, session_factory
from central.models import Base, Booking, Slot, Submission
from kiosk.central_client import DeviceAuth, HttpCentral, Unavailable
from kiosk.config import Settings
from kiosk.core import open_core
from main import main as kiosk_main

NOW = datetime.now(UTC).replace(microsecond=0)
THREADS = 8


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with backend_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with running_server(tmp_path, database_url, device_rate=(10_000.0, 10_000.0)) as live:
        yield live


def submission() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "service_id": "residence-permit",
        "submitted_at": NOW.isoformat(),
        "local_day": NOW.date().isoformat(),
        "fields": {"copies": 1},
    }


def all_at_once(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """``work(i)`` on ``n`` threads released together; their results, or the first error raised."""
    start = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = work(index)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


def until_answered(call: Callable[[], Any], tries: int = 50) -> Any:
    """What a kiosk does: a busy or raced answer (503, 409 conflict) means send it again."""
    for _ in range(tries):
        try:
            return call()
        except Unavailable:
            continue
    raise AssertionError("no answer after retries")


def test_migrations_build_exactly_the_tables_the_models_describe(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)  # a second start-up finds the schema current and changes nothing
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert differences == []


# PostgreSQL only: on SQLite `kiosk-central serve --workers` migrates once before it starts the workers.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_api_processes_starting_together_migrate_once(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(4)]
    all_at_once(lambda i: migrate(engines[i]), n=len(engines))
    with engines[0].connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    for engine in engines:
        engine.dispose()


def test_concurrent_duplicate_uploads_store_each_item_once(server: LiveServer, tmp_path: Path) -> None:
    items = [submission() for _ in range(120)]
    clients = [HttpCentral(*server.enrol(tmp_path / f"kiosk{i}")) for i in range(THREADS)]

    def upload_all(index: int) -> list[tuple[str, str]]:
        # Every kiosk sends every item, in its own order and batch size, so batches overlap in every way.
        mine = random.Random(index).sample(items, len(items))
        size = 10 + 15 * index
        seen = []
        for start in range(0, len(mine), size):
            batch = mine[start : start + size]
            answers = until_answered(lambda batch=batch: clients[index].upload("submission", batch))
            assert set(answers) == {item["id"] for item in batch}
            seen += [(item_id, status) for item_id, (status, _) in answers.items()]
        return seen

    answers = [answer for per_thread in all_at_once(upload_all) for answer in per_thread]
    accepted = Counter(item_id for item_id, status in answers if status == "accepted")
    assert {status for _, status in answers} <= {"accepted", "duplicate"}
    # Exactly one kiosk was told "accepted" for each item; all the others "duplicate".
    assert accepted == dict.fromkeys((item["id"] for item in items), 1)
    engine = make_engine(server.database_url)
    with session_factory(engine)() as session:
        stored = list(session.scalars(select(Submission.id)))
    engine.dispose()
    assert sorted(stored) == sorted(item["id"] for item in items)


def test_concurrent_bookings_never_overfill_a_slot(server: LiveServer, tmp_path: Path) -> None:
    capacity = 3
    engine = make_engine(server.database_url)
    slot_id = str(uuid.uuid4())
    starts = NOW + timedelta(days=1)
    with session_factory(engine)() as session:
        session.add(
            Slot(
                id=slot_id,
                site="default",
                service_id="passport",
                starts_at=starts,
                ends_at=starts + timedelta(minutes=30),
                capacity=capacity,
            )
        )
        session.commit()
    sessions = []
    for i in range(THREADS):
        credentials, seed = server.enrol(tmp_path / f"kiosk{i}")
        sessions.append(requests.Session())
        sessions[-1].auth = DeviceAuth(credentials.token, seed)

    def book(index: int) -> str:
        body = {"id": str(uuid.uuid4()), "slot_id": slot_id, "reference": f"R{index}"}
        for _ in range(50):
            response = sessions[index].post(server.url + "/v1/bookings", json=body, timeout=30)
            if response.status_code == 200:
                return str(response.json()["status"])
            if response.status_code == 409 and response.json()["detail"] == "slot full":
                return "full"
            # 503 (database busy) and 409 (raced write) say: send the same booking again.
            assert response.status_code in (409, 503), response.text
        raise AssertionError("no answer after retries")

    outcomes = Counter(all_at_once(book))
    assert outcomes == {"booked": capacity, "full": THREADS - capacity}
    with session_factory(engine)() as session:
        booked = session.scalars(select(Booking).where(Booking.slot_id == slot_id)).all()
    engine.dispose()
    assert len(booked) == capacity


def test_statistics_count_each_person_once_per_day(server: LiveServer, tmp_path: Path) -> None:
    client = HttpCentral(*server.enrol(tmp_path / "kiosk", checkpoints=("CP-1", "CP-2")))
    person = "c" * 64

    def inspection(checkpoint: str, verdict: str, subject: str, day: datetime = NOW) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "at": day.isoformat(),
            "local_day": day.date().isoformat(),
            "checkpoint_id": checkpoint,
            "source": "camera",
            "kind": "pass",
            "code_hash": "a" * 64,
            "subject_hash": subject,
            "verdict": verdict,
            "reason": "code.valid",
        }

    yesterday = NOW - timedelta(days=1)
    client.upload(
        "inspection",
        [
            inspection("CP-1", "green", person),
            inspection("CP-1", "yellow", person),
            inspection("CP-1", "red", "d" * 64),
            inspection("CP-2", "green", person),
            inspection("CP-1", "green", person, yesterday),
        ],
    )
    session = requests.Session()
    credentials, seed = server.enrol(tmp_path / "stats")
    session.auth = DeviceAuth(credentials.token, seed)
    days = session.get(server.url + "/v1/stats", params={"since": NOW.date().isoformat()}).json()
    rows = {(row["checkpoint_id"], row["day"]): row for row in days["inspections"]}
    assert set(rows) == {("CP-1", NOW.date().isoformat()), ("CP-2", NOW.date().isoformat())}
    today = rows[("CP-1", NOW.date().isoformat())]
    assert (today["inspections"], today["persons"]) == (3, 2)
    assert today["by_verdict"] == {"green": 1, "yellow": 1, "red": 1}


def test_import_of_an_export_file_is_idempotent(server: LiveServer, tmp_path: Path, capsys: Any) -> None:
    from central.cli import main as central_main

    data = tmp_path / "kiosk"
    server.enrol(data)
    core = open_core(Settings(data_dir=data))
    for index in range(25):
        core.checkpoint.inspect(f"code {index}", source="manual")
    core.close()
    stick = tmp_path / "export.json"
    assert kiosk_main(["export", "--out", str(stick), "--data-dir", str(data)]) == 0
    db = ["--database", server.database_url, "--key-dir", str(server.key_dir)]
    capsys.readouterr()
    assert central_main(["import", str(stick), *db]) == 0
    assert capsys.readouterr().out.strip() == "accepted 25, duplicate 0, rejected 0"
    assert central_main(["import", str(stick), *db]) == 0
    assert capsys.readouterr().out.strip() == "accepted 0, duplicate 25, rejected 0"
    assert central_main(["stats", "--json", *db]) == 0
    [day] = json.loads(capsys.readouterr().out)["inspections"]
    assert day["inspections"] == 25

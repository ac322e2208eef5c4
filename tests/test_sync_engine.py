"""The outbox and the sync engine against the in-memory FakeCentral: marking, quarantine, backoff."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeCentral, wire_item

from kiosk.bundle import BundleStore
from kiosk.central_client import Unauthorised, Unavailable, parse_retry_after
from kiosk.config import Settings
from kiosk.core import KioskCore, open_core
from kiosk.outbox import Outbox, enqueue
from kiosk.store import MIGRATIONS, Store
from kiosk.sync import SyncEngine, SyncLoop, SyncStatus, backoff_delay
from protocol.sealing import b64d, b64e, canonical_json, sign, signing_public_key


@pytest.fixture
def core(tmp_path: Path) -> Any:
    core = open_core(Settings(data_dir=tmp_path / "data"))
    yield core
    core.close()


def queue(outbox: Outbox, n: int, kind: str = "submission") -> list[str]:
    ids = []
    for _ in range(n):
        item_id = str(uuid.uuid4())
        outbox.enqueue(kind=kind, item_id=item_id, payload=wire_item(kind, item_id, len(ids)))
        ids.append(item_id)
    return ids


def test_inspection_is_queued_in_the_same_transaction(core: KioskCore) -> None:
    core.checkpoint.inspect("hello world", source="manual")
    pending = core.outbox.pending()
    assert [item.kind for item in pending] == ["inspection"]
    row = core.store.query("SELECT * FROM inspections")[0]
    assert pending[0].payload == {key: row[key] for key in pending[0].payload}
    # A failing transaction leaves neither the record nor its queue entry.
    with pytest.raises(sqlite3.IntegrityError), core.store.transaction() as conn:
        enqueue(conn, kind="submission", item_id="x", payload={"id": "x"})
        enqueue(conn, kind="submission", item_id="x", payload={"id": "x"})
    assert core.outbox.counts().pending == 1


def test_acknowledged_inspections_are_marked_uploaded(core: KioskCore) -> None:
    core.checkpoint.inspect("code one", source="manual")
    assert core.checkpoint.pending_upload() == 1
    status, result = SyncEngine(core.outbox, FakeCentral()).run_once()
    assert (status.online, status.pending, result.accepted) == (True, 0, 1)
    assert core.checkpoint.pending_upload() == 0


def test_migration_queues_inspections_recorded_before_the_outbox(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")
    conn.execute(
        "INSERT INTO inspections VALUES ('i1', '2025-01-01T00:00:00.000+00:00', '2025-01-01', 'CP', 'camera',"
        " 'pass', ?, ?, 'green', 'ok', NULL)",
        ("a" * 64, "b" * 64),
    )
    conn.commit()
    conn.close()
    store = Store(path)
    [item] = Outbox(store).pending()
    assert (
        item.item_id == "i1"
        and item.payload["verdict"] == "green"
        and item.payload["local_day"] == "2025-01-01"
    )
    store.close()


def test_batches_hold_one_kind_and_respect_the_size(core: KioskCore) -> None:
    queue(core.outbox, 5, "submission")
    queue(core.outbox, 3, "inspection")
    fake = FakeCentral()
    SyncEngine(core.outbox, fake, batch_size=2).run_once()
    assert fake.calls == [2, 2, 1, 2, 1]
    assert list(fake.kinds.values()).count("inspection") == 3


def test_nothing_is_marked_when_the_upload_fails(core: KioskCore) -> None:
    ids = queue(core.outbox, 3)
    fake = FakeCentral(failures=[Unavailable("link down", retry_after=7)])
    status, _ = SyncEngine(core.outbox, fake).run_once()
    assert (status.online, status.pending, status.retry_after) == (False, 3, 7)
    attempts = core.store.query("SELECT attempts, last_error FROM outbox")
    assert {(row[0], row[1]) for row in attempts} == {(1, "link down")}
    status, _ = SyncEngine(core.outbox, fake).run_once()
    assert status.pending == 0 and set(fake.stored) == set(ids)


def test_rejected_items_are_quarantined_with_the_reason(core: KioskCore) -> None:
    ids = queue(core.outbox, 3)
    fake = FakeCentral(reject={ids[1]: "unknown service 'x'"})
    status, result = SyncEngine(core.outbox, fake).run_once()
    assert (status.pending, status.quarantined, result.accepted, result.rejected) == (0, 1, 2, 1)
    [held] = core.outbox.quarantined()
    assert (held.item_id, held.reason) == (ids[1], "unknown service 'x'")
    # Quarantined items are not retried on their own...
    SyncEngine(core.outbox, fake).run_once()
    assert fake.calls == [3]
    # ...until the admin releases them.
    del fake.reject[ids[1]]
    assert core.outbox.release(ids[1])
    status, _ = SyncEngine(core.outbox, fake).run_once()
    assert status.quarantined == 0 and ids[1] in fake.stored


def test_an_invalid_item_is_found_by_halving_the_batch(core: KioskCore) -> None:
    ids = queue(core.outbox, 8)
    fake = FakeCentral(invalid={ids[5]})
    status, result = SyncEngine(core.outbox, fake).run_once()
    assert (result.accepted, result.rejected, status.quarantined) == (7, 1, 1)
    assert core.outbox.quarantined()[0].item_id == ids[5]
    assert "422" in core.outbox.quarantined()[0].reason


def test_unauthorised_stops_the_pass_without_quarantine(core: KioskCore) -> None:
    queue(core.outbox, 2)
    status, _ = SyncEngine(
        core.outbox, FakeCentral(failures=[Unauthorised("HTTP 403: device revoked")])
    ).run_once()
    assert (status.online, status.pending, status.quarantined) == (False, 2, 0)
    assert status.error == "HTTP 403: device revoked"


def test_answers_for_other_items_are_ignored(core: KioskCore) -> None:
    ids = queue(core.outbox, 2)

    class Partial(FakeCentral):
        def upload(self, kind: str, items: Any) -> Any:
            return {ids[0]: ("accepted", None), "someone-else": ("accepted", None)}

    status, _ = SyncEngine(core.outbox, Partial()).run_once()
    assert not status.online and [i.item_id for i in core.outbox.pending()] == [ids[1]]


def test_backoff_grows_is_jittered_capped_and_honours_retry_after() -> None:
    assert backoff_delay(1, rng=lambda: 0.0) == 0.5
    assert backoff_delay(4, rng=lambda: 1.0) == 8.0
    assert backoff_delay(30, cap=300, rng=lambda: 1.0) == 300
    assert backoff_delay(1, retry_after=120, rng=lambda: 1.0) == 120
    assert len({backoff_delay(5) for _ in range(20)}) > 1
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0) == 10
    assert parse_retry_after("soon") is None


def _bundle(seed: bytes, version: str) -> bytes:
    body = {
        "version": version,
        "issued_at": "2025-01-01T00:00:00+00:00",
        "site": {"name": "s"},
        "services": [{"id": version}],
        "trust_store": {},
        "revocations": [],
        "seal_key": b64e(b"k" * 32),
    }
    return json.dumps(body | {"signature": b64e(sign(seed, canonical_json(body)))}).encode()


@pytest.mark.parametrize(
    "bad",
    [b"<html>502 Bad Gateway</html>", b'{"version": "v2"', "forged", "tampered"],
)
def test_a_corrupt_bundle_never_replaces_the_last_good_one(core: KioskCore, bad: Any) -> None:
    seed = b"s" * 32
    store = BundleStore(core.settings.data_dir / "bundle", signing_public_key(seed))
    fake = FakeCentral(bundle=_bundle(seed, "v1"))
    engine = SyncEngine(core.outbox, fake, store)
    _, result = engine.run_once()
    assert result.bundle_updated and store.version() == "v1"
    if bad == "forged":
        bad = _bundle(b"x" * 32, "v2")
    elif bad == "tampered":
        bad = _bundle(seed, "v2").replace(b'"id": "v2"', b'"id": "v3"')
    fake.bundle = bad
    status, result = engine.run_once()
    assert not result.bundle_updated and status.error and "bundle refused" in status.error
    assert store.version() == "v1"
    assert json.loads((core.settings.data_dir / "bundle/services.json").read_text()) == [{"id": "v1"}]


def test_loop_delivers_in_the_background_and_reports_status(core: KioskCore) -> None:
    queue(core.outbox, 3)
    seen: list[SyncStatus] = []
    done = threading.Event()

    def on_status(status: SyncStatus) -> None:
        seen.append(status)
        if status.online and status.pending == 0:
            done.set()

    fake = FakeCentral(failures=[Unavailable("down")])
    loop = SyncLoop(SyncEngine(core.outbox, fake), interval_s=60, on_status=on_status, backoff_base_s=0.01)
    loop.start()
    assert done.wait(30)
    loop.stop()
    assert seen[0].online is False and seen[0].pending == 3
    assert seen[-1].online and len(fake.stored) == 3


def test_a_pass_still_on_the_network_at_shutdown_ends_quietly(core: KioskCore) -> None:
    queue(core.outbox, 2)
    answering = threading.Event()
    release = threading.Event()

    class Hanging(FakeCentral):
        def upload(self, kind: str, items: Any) -> Any:
            answering.set()
            release.wait(30)
            raise Unavailable("link lost")

    seen: list[SyncStatus] = []
    loop = SyncLoop(SyncEngine(core.outbox, Hanging()), on_status=seen.append)
    loop.start()
    assert answering.wait(30)
    thread = next(t for t in threading.enumerate() if t.name == "kiosk-sync")
    assert loop.stop(timeout=0.05) is False
    core.close()  # the kiosk shuts down while the pass waits; the pass then fails to write its failure
    release.set()
    thread.join(30)
    # It ended without an unhandled exception (an error under this suite's settings) and told nobody.
    assert not thread.is_alive() and seen == []


def test_personal_data_under_the_local_key_is_resealed_before_it_is_sent(core: KioskCore) -> None:
    from kiosk.central_client import Credentials, save_credentials
    from kiosk.forms.answers import example_answers, personal_answers
    from kiosk.forms.definition import SERVICES_DIR, load_definition
    from kiosk.forms.protect import LOCAL_MAGIC, reseal_pending
    from kiosk.forms.submissions import SubmissionDesk
    from protocol.sealing import open_sealed, seal_public_key

    definition = load_definition(SERVICES_DIR / "health-declaration.json")
    answers = example_answers(definition)
    submission = SubmissionDesk(core.store, core.settings).submit(definition, answers, "zh-CN")
    core.checkpoint.inspect("a code", source="manual")
    central_private = bytes(range(32))
    secrets = core.settings.secrets_dir
    save_credentials(
        secrets,
        Credentials(
            "https://central.invalid",
            "dev",
            "tok",
            "site",
            b64e(bytes(32)),
            b64e(seal_public_key(central_private)),
        ),
    )
    fake = FakeCentral()
    # Without re-sealing, the submission waits: the central server could never open its personal data.
    status, result = SyncEngine(core.outbox, fake).run_once()
    assert (status.pending, result.accepted) == (1, 1)
    assert len(fake.stored) == 1 and submission.id not in fake.stored
    [held] = core.outbox.pending()
    assert held.sealed_personal is not None and held.sealed_personal.startswith(LOCAL_MAGIC)
    assert core.outbox.pending(sendable_only=True) == []  # nor does it go on a USB export

    engine = SyncEngine(core.outbox, fake, before_pass=lambda: reseal_pending(core.store, secrets))
    status, result = engine.run_once()
    assert (status.pending, result.accepted) == (0, 1)
    sent = fake.stored[submission.id]["sealed_personal"]
    assert json.loads(open_sealed(central_private, b64d(sent))) == personal_answers(
        definition.fields, answers
    )


def test_pending_count_is_every_kind_waiting_but_not_the_quarantined(core: KioskCore) -> None:
    core.checkpoint.inspect("code one", source="manual")
    submissions = queue(core.outbox, 2)
    assert core.outbox.pending_count() == 3
    core.outbox.quarantine(submissions[0], "refused by the server")
    assert core.outbox.pending_count() == 2 and core.outbox.counts().quarantined == 1
    SyncEngine(core.outbox, FakeCentral()).run_once()
    assert core.outbox.pending_count() == 0

import hashlib
import hmac
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk import central_client
from kiosk.central_client import Credentials, Refused, load_credentials, save_credentials
from kiosk.checkpoint import Checkpoint
from kiosk.codes.plain import default_registry
from kiosk.config import Settings, fixed, load_settings
from kiosk.core import KioskCore, open_core
from kiosk.keystore import PERSON_KEY_FILE
from kiosk.store import Store
from protocol.sealing import b64e

ID_A = "11010519491231002X"
ID_B = "34052419800101001X"


class FakeClock:
    def __init__(self, start: str) -> None:
        self.now = datetime.fromisoformat(start)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock("2026-11-26T09:00:00+08:00")


def rules(path: Path, checkpoint_id: str = "CP-1", window_s: int = 600) -> Settings:
    return Settings(data_dir=path.parent, checkpoint_id=checkpoint_id, duplicate_window_s=window_s)


def _checkpoint(path: Path, clock: FakeClock, checkpoint_id: str = "CP-1") -> Checkpoint:
    return Checkpoint(Store(path), default_registry(), b"k" * 32, fixed(rules(path, checkpoint_id)), clock)


def test_inspections_are_counted_by_verdict_and_person(tmp_path: Path, clock: FakeClock) -> None:
    cp = _checkpoint(tmp_path / "db", clock)
    cp.inspect(ID_A)
    clock.advance(seconds=5)
    cp.inspect(ID_B)
    clock.advance(seconds=5)
    last = cp.inspect("https://example.gov.cn/x")
    assert last.counters.inspections == 3
    assert last.counters.persons == 3
    assert last.counters.by_verdict == {"green": 2, "yellow": 1, "red": 0}


def test_same_code_within_window_is_a_duplicate_and_not_recorded(tmp_path: Path, clock: FakeClock) -> None:
    cp = _checkpoint(tmp_path / "db", clock)
    first = cp.inspect(ID_A)
    clock.advance(minutes=9, seconds=59)
    again = cp.inspect(ID_A)
    assert not first.duplicate
    assert again.duplicate and again.already_inspected_at == first.at
    assert again.already_inspected_at.strftime("%H:%M") == "09:00"
    assert again.counters.inspections == 1
    clock.advance(seconds=2)  # now 10 min 1 s after the first: a new inspection of the same person
    later = cp.inspect(ID_A)
    assert not later.duplicate
    assert (later.counters.inspections, later.counters.persons) == (2, 1)


def test_zero_window_counts_every_scan_even_within_one_millisecond(tmp_path: Path, clock: FakeClock) -> None:
    cp = Checkpoint(
        Store(tmp_path / "db"),
        default_registry(),
        b"k" * 32,
        fixed(rules(tmp_path / "db", window_s=0)),
        clock,
    )
    scans = [cp.inspect(ID_A) for _ in range(3)]  # the fake clock stands still: all at the same instant
    assert not any(scan.duplicate for scan in scans)
    assert (scans[-1].counters.inspections, scans[-1].counters.persons) == (3, 1)


def test_duplicate_window_is_per_checkpoint(tmp_path: Path, clock: FakeClock) -> None:
    _checkpoint(tmp_path / "db", clock, "CP-1").inspect(ID_A)
    other = _checkpoint(tmp_path / "db", clock, "CP-2").inspect(ID_A)
    assert not other.duplicate and other.counters.inspections == 1


def test_counters_reset_at_midnight_and_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    cp = _checkpoint(tmp_path / "db", clock)
    cp.inspect(ID_A)
    cp.inspect("TEXT-1")
    cp.store.close()
    reopened = _checkpoint(tmp_path / "db", clock)
    assert reopened.counters().inspections == 2
    clock.advance(days=1)
    assert reopened.counters().inspections == 0


def test_store_keeps_keyed_hashes_not_codes(tmp_path: Path, clock: FakeClock) -> None:
    cp = _checkpoint(tmp_path / "db", clock)
    cp.inspect(ID_A)
    cp.inspect("https://example.gov.cn/secret-token")
    cp.store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())  # database, WAL and shm files
    assert ID_A.encode() not in raw and b"secret-token" not in raw
    rows = Store(tmp_path / "db").query("SELECT * FROM inspections ORDER BY at")
    assert [r["kind"] for r in rows] == ["id-number", "url"]
    assert all(len(r["code_hash"]) == 64 and r["checkpoint_id"] == "CP-1" for r in rows)
    assert rows[0]["at"].endswith("+00:00")  # stored in UTC


def test_the_hash_depends_on_the_device_key(tmp_path: Path, clock: FakeClock) -> None:
    a = Checkpoint(Store(tmp_path / "a"), default_registry(), b"a" * 32, fixed(rules(tmp_path / "a")), clock)
    b = Checkpoint(Store(tmp_path / "b"), default_registry(), b"b" * 32, fixed(rules(tmp_path / "b")), clock)
    assert a.keyed_hash(ID_A) != b.keyed_hash(ID_A)


def test_inspection_is_durable_when_inspect_returns(tmp_path: Path, clock: FakeClock) -> None:
    cp = _checkpoint(tmp_path / "db", clock)
    cp.inspect(ID_A)
    # A second, independent connection (as after a crash) already sees the committed row.
    assert Store(tmp_path / "db").query("SELECT COUNT(*) FROM inspections")[0][0] == 1
    assert cp.store.query("PRAGMA journal_mode")[0][0] == "wal"
    assert cp.pending_upload() == 1


def test_open_core_creates_an_owner_only_hash_key(tmp_path: Path) -> None:
    core = open_core(load_settings(tmp_path))
    key = tmp_path / "secrets" / "inspection-hash.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    first = core.checkpoint.keyed_hash("x")
    core.close()
    assert open_core(load_settings(tmp_path)).checkpoint.keyed_hash("x") == first


# --- the person hash key: local until enrolment, then the one the server hands every kiosk ---------------


def _hmac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _credentials(person_hash_key: str | None) -> Credentials:
    return Credentials(
        "https://central.invalid", "dev-1", "tok", "site", b64e(bytes(32)), b64e(bytes(32)), person_hash_key
    )


def _last_row(core: KioskCore) -> Any:
    return core.store.query("SELECT code_hash, subject_hash FROM inspections ORDER BY at DESC LIMIT 1")[0]


def test_an_unenrolled_kiosk_hashes_persons_under_its_local_key(tmp_path: Path) -> None:
    core = open_core(load_settings(tmp_path))
    core.checkpoint.inspect(ID_A)
    local = (tmp_path / "secrets" / "inspection-hash.key").read_bytes()
    row = _last_row(core)
    core.close()
    assert (row["code_hash"], row["subject_hash"]) == (_hmac(local, ID_A), _hmac(local, f"id:{ID_A}"))
    assert not (tmp_path / "secrets" / PERSON_KEY_FILE).exists()


def test_enrolling_a_running_kiosk_switches_persons_to_the_shared_key(tmp_path: Path) -> None:
    core = open_core(load_settings(tmp_path))
    local = (tmp_path / "secrets" / "inspection-hash.key").read_bytes()
    before = core.checkpoint.subject_hash(f"id:{ID_A}")
    shared = bytes(range(32))
    # As `kiosk enrol` and the admin page's enrolment do, with the core left running.
    save_credentials(core.settings.secrets_dir, _credentials(b64e(shared)))
    core.checkpoint.inspect(ID_B)
    row = _last_row(core)
    core.close()
    assert before == _hmac(local, f"id:{ID_A}")
    assert row["subject_hash"] == _hmac(shared, f"id:{ID_B}")
    assert row["code_hash"] == _hmac(local, ID_B)  # the duplicate window stays on the device's own key
    key_file = tmp_path / "secrets" / PERSON_KEY_FILE
    assert key_file.read_bytes() == shared and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    # The key lives in its own file only, and is never shown in a printed or logged Credentials.
    assert b64e(shared) not in (tmp_path / "secrets" / "central.json").read_text()
    loaded = load_credentials(tmp_path / "secrets")
    assert loaded is not None and loaded.person_hash_key == b64e(shared)
    assert b64e(shared) not in repr(loaded)


class _Answer:
    status_code = 201

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def json(self) -> dict[str, Any]:
        return self.body


OLD_SERVER_ANSWER = {
    "device_id": "4c8d3a6e-51c4-4a4f-9a52-0d9f1f0e0a01",
    "token": "tok",
    "site": "north",
    "bundle_signing_key": b64e(bytes(32)),
    "seal_key": b64e(bytes(32)),
}


def test_an_enrolment_without_a_person_key_keeps_the_local_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server older than shared counting answers no key: the kiosk enrols and counts under its own key
    (re-enrolling with a newer server gives shared counting); a key left from an earlier enrolment goes."""
    monkeypatch.setattr(central_client.requests, "post", lambda *args, **kwargs: _Answer(OLD_SERVER_ANSWER))
    core = open_core(load_settings(tmp_path))
    secrets_dir = core.settings.secrets_dir
    save_credentials(secrets_dir, _credentials(b64e(bytes(range(32)))))
    credentials = central_client.enrol("https://old.invalid", "code", bytes(32), "kiosk", "1")
    assert credentials.person_hash_key is None
    save_credentials(secrets_dir, credentials)
    core.checkpoint.inspect(ID_A)
    row = _last_row(core)
    core.close()
    local = (secrets_dir / "inspection-hash.key").read_bytes()
    assert row["subject_hash"] == _hmac(local, f"id:{ID_A}")
    assert not (secrets_dir / PERSON_KEY_FILE).exists()
    loaded = load_credentials(secrets_dir)
    assert loaded is not None and (loaded.site, loaded.person_hash_key) == ("north", None)


def test_a_malformed_person_key_refuses_the_enrolment(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = OLD_SERVER_ANSWER | {"person_hash_key": b64e(bytes(16))}
    monkeypatch.setattr(central_client.requests, "post", lambda *args, **kwargs: _Answer(answer))
    with pytest.raises(Refused, match="person_hash_key"):
        central_client.enrol("https://bad.invalid", "code", bytes(32), "kiosk", "1")

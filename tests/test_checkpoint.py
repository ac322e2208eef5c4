import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.checkpoint import Checkpoint
from kiosk.codes.registry import default_registry
from kiosk.config import load_settings
from kiosk.core import open_core
from kiosk.store import Store

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


def _checkpoint(path: Path, clock: FakeClock, checkpoint_id: str = "CP-1") -> Checkpoint:
    return Checkpoint(Store(path), default_registry(), b"k" * 32, checkpoint_id, timedelta(minutes=10), clock)


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
    cp = Checkpoint(Store(tmp_path / "db"), default_registry(), b"k" * 32, "CP-1", timedelta(0), clock)
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
    a = Checkpoint(Store(tmp_path / "a"), default_registry(), b"a" * 32, "CP", clock=clock)
    b = Checkpoint(Store(tmp_path / "b"), default_registry(), b"b" * 32, "CP", clock=clock)
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

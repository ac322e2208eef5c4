"""Admin mode without Qt: PIN hashing and lockout, the audit log and its command line, settings writing,
health problems and the heartbeat, scrubbed log export, the outbox export."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeCentral

from kiosk.admin.audit import AuditLog
from kiosk.admin.export import NotEnrolled, export_outbox
from kiosk.admin.health import HealthReport, Problem, SystemHealth, core_health, heartbeat_health, problems
from kiosk.admin.logs import export_logs, scrub
from kiosk.admin.pin import FREE_FAILURES, LOCKOUT_MAX_S, PIN_FILE, AdminGate, PinError
from kiosk.admin.settings import save_settings
from kiosk.admin.usb import removable_mounts
from kiosk.central_client import Credentials, save_credentials
from kiosk.config import SETTINGS_FILE, Settings, SettingsError, load_settings
from kiosk.core import open_core
from kiosk.outbox import Outbox
from kiosk.store import Store
from kiosk.sync import SyncEngine
from main import main
from protocol.sealing import b64d, b64e, open_sealed, seal_public_key

PIN = "246810"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


# --- PIN and lockout ------------------------------------------------------------------------------------


def test_the_pin_is_kept_as_a_salted_slow_hash_readable_by_the_owner_only(tmp_path: Path) -> None:
    gate = AdminGate(tmp_path / "secrets")
    assert not gate.has_pin()
    gate.set_pin(PIN)
    path = tmp_path / "secrets" / PIN_FILE
    record = json.loads(path.read_text())
    assert PIN not in path.read_text()
    assert record["kdf"] == "scrypt" and record["n"] >= 2**14 and len(bytes.fromhex(record["salt"])) == 16
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert gate.attempt(PIN).ok
    assert not gate.attempt("135791").ok
    # The same PIN set twice hashes differently (a fresh salt each time).
    first = record["hash"]
    gate.set_pin(PIN)
    assert json.loads(path.read_text())["hash"] != first


@pytest.mark.parametrize("pin", ["12345", "1234567890123", "12a456", "１２３４５６", ""])
def test_a_pin_that_is_not_6_to_12_digits_is_refused(tmp_path: Path, pin: str) -> None:
    with pytest.raises(PinError):
        AdminGate(tmp_path).set_pin(pin)


def test_lockout_after_five_failures_doubles_from_30_s_and_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    gate = AdminGate(tmp_path, clock)
    gate.set_pin(PIN)
    lefts = [gate.attempt("000000").left for _ in range(FREE_FAILURES - 1)]
    assert lefts == [3, 2, 1, 0]
    assert gate.locked_for() == 0
    fifth = gate.attempt("000000")
    assert not fifth.ok and fifth.locked_for_s == 30 and fifth.failures == 5
    # Locked: even the right PIN is not checked.
    assert not gate.attempt(PIN).ok
    # A restart (a new gate on the same folder) is still locked.
    restarted = AdminGate(tmp_path, clock)
    assert restarted.locked_for() == 30
    clock.now += 30
    assert restarted.attempt("000000").locked_for_s == 60
    clock.now += 60
    assert restarted.attempt("000000").locked_for_s == 120
    clock.now += 120
    assert restarted.attempt(PIN).ok
    # Success starts over: five free failures again.
    assert restarted.attempt("000000").locked_for_s == 0


def test_the_lockout_is_capped_and_a_damaged_lockout_file_locks(tmp_path: Path) -> None:
    clock = Clock()
    gate = AdminGate(tmp_path, clock)
    gate.set_pin(PIN)
    for _ in range(20):
        clock.now += LOCKOUT_MAX_S
        gate.attempt("000000")
    assert gate.locked_for() == LOCKOUT_MAX_S
    (tmp_path / "admin-lockout.json").write_text("{not json")
    assert gate.locked_for() == LOCKOUT_MAX_S
    assert not gate.attempt(PIN).ok


def test_set_pin_and_audit_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert main(["admin", "set-pin", "--data-dir", str(tmp_path)]) == 2
    assert not AdminGate(tmp_path / "secrets").has_pin()
    monkeypatch.setattr("sys.stdin", io.StringIO(PIN + "\n"))
    assert main(["admin", "set-pin", "--data-dir", str(tmp_path)]) == 0
    assert AdminGate(tmp_path / "secrets").attempt(PIN).ok
    capsys.readouterr()
    assert main(["admin", "audit", "--data-dir", str(tmp_path), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["action"], e["source"]) for e in lines] == [("pin_set", "command line")]


def test_the_audit_log_keeps_actions_in_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    audit = AuditLog(store)
    for n in range(5):
        audit.record("reprint", job=n)
    assert [e.details["job"] for e in audit.entries(3)] == [2, 3, 4]
    assert audit.entries(1)[0].line().endswith("reprint job=4")
    store.close()


# --- settings -------------------------------------------------------------------------------------------


def test_saving_settings_validates_keeps_comments_and_says_what_needs_a_restart(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text(
        '# our site\nsite_name = "石门收费站"  # on the bar\nsound = true\n'
    )
    current = load_settings(tmp_path)
    saved = save_settings(current, {"idle_timeout_s": "90", "camera": "0", "site_name": "石门收费站"})
    assert saved.changed == ("idle_timeout_s", "camera")
    assert saved.needs_restart == ("camera",)
    assert saved.settings.idle_timeout_s == 90 and saved.settings.camera == "0"
    text = (tmp_path / SETTINGS_FILE).read_text()
    assert "# our site" in text and "# on the bar" in text
    assert load_settings(tmp_path).idle_timeout_s == 90
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"idle_timeout_s": "5"}, "idle_timeout_s"),
        ({"idle_timeout_s": "soon"}, "idle_timeout_s"),
        ({"mode": "kiosk"}, "mode"),
        ({"central_url": "ftp://central"}, "central_url"),
        ({"checkpoint_id": "  "}, "checkpoint_id"),
        ({"trust_max_age_days": "0"}, "trust_max_age_days"),
    ],
)
def test_an_invalid_setting_is_refused_naming_it_and_nothing_is_written(
    tmp_path: Path, changes: dict[str, Any], key: str
) -> None:
    (tmp_path / SETTINGS_FILE).write_text("idle_timeout_s = 60\n")
    with pytest.raises(SettingsError) as refused:
        save_settings(load_settings(tmp_path), changes)
    assert refused.value.key == key
    assert (tmp_path / SETTINGS_FILE).read_text() == "idle_timeout_s = 60\n"


def test_clearing_the_central_url_removes_it_from_the_file(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text('central_url = "https://central.example"\n')
    saved = save_settings(load_settings(tmp_path), {"central_url": ""})
    assert saved.settings.central_url is None and saved.needs_restart == ("central_url",)
    assert "central_url" not in (tmp_path / SETTINGS_FILE).read_text()


# --- health ---------------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def system(**overrides: Any) -> SystemHealth:
    values: dict[str, Any] = {
        "disk_free": 50 * 1024**3,
        "disk_total": 100 * 1024**3,
        "db_bytes": 1024,
        "pending": 0,
        "oldest_pending_at": None,
        "quarantined": 0,
        "trust_refreshed_at": NOW - timedelta(days=1),
    }
    return SystemHealth(**(values | overrides))


def test_a_healthy_kiosk_has_no_problems(tmp_path: Path) -> None:
    report = HealthReport("1", system(), camera_state="ok", printer_state="ready")
    assert problems(report, Settings(data_dir=tmp_path), NOW) == []


def test_every_problem_is_found_and_reported_in_the_heartbeat(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, trust_max_age_days=7)
    report = HealthReport(
        "1",
        system(disk_free=10 * 1024**2, quarantined=2, trust_refreshed_at=NOW - timedelta(days=8), pending=3),
        camera_state="failed",
        camera_reason="no camera",
        ocr_state="failed",
        printer_state="paper_out",
        central_configured=True,
        last_sync_at=NOW - timedelta(hours=2),
    )
    found = problems(report, settings, NOW)
    assert found == [
        Problem.CAMERA,
        Problem.OCR,
        Problem.PRINTER,
        Problem.DISK_LOW,
        Problem.SYNC_STALE,
        Problem.TRUST_STALE,
        Problem.QUARANTINE,
    ]
    health = heartbeat_health(report, found)
    assert health["printer"] == "paper_out"
    assert health["trust_store_refreshed_at"] == (NOW - timedelta(days=8)).isoformat()
    assert health["problems"] == "camera,ocr,printer,disk_low,sync_stale,trust_stale,outbox_quarantine"
    # The API takes a flat object of scalars.
    assert all(isinstance(v, str | int | float | bool | type(None)) for v in health.values())


def test_a_decoder_failure_is_its_own_problem_and_no_printer_reads_none(tmp_path: Path) -> None:
    report = HealthReport("1", None, camera_state="failed", camera_reason="decoder: x", decoder_failed=True)
    found = problems(report, Settings(data_dir=tmp_path), NOW)
    assert found == [Problem.DECODER]
    assert heartbeat_health(report, found)["printer"] == "none"


def test_the_heartbeat_carries_the_health_object_and_survives_a_broken_probe(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    central = FakeCentral()
    engine = SyncEngine(Outbox(store), central, health=lambda: {"printer": "cover_open"})
    assert engine.run_once()[0].online
    assert central.heartbeats[-1]["health"] == {"printer": "cover_open"}

    def broken() -> dict[str, Any]:
        raise OSError("disk gone")

    engine.health = broken
    assert engine.run_once()[0].online
    assert central.heartbeats[-1]["health"] == {}
    store.close()


def test_the_health_without_the_gui_reads_the_trust_store_and_outbox(tmp_path: Path) -> None:
    refreshed = "2026-11-20T08:00:00+08:00"
    (tmp_path / "trust-store.json").write_text(
        json.dumps({"format": "kiosk-trust-store", "version": 1, "refreshed_at": refreshed, "keys": []})
    )
    core = open_core(Settings(data_dir=tmp_path))
    core.checkpoint.inspect("queued", source="manual")
    health = core_health(core.settings, core.store)
    core.close()
    assert health["trust_store_refreshed_at"] == datetime.fromisoformat(refreshed).isoformat()
    assert health["oldest_pending_at"] is not None and health["printer"] == "none"


# --- logs, USB, export ----------------------------------------------------------------------------------

PLANTED = (
    "11010519491231002X",
    "110105491231002",
    "13800138000",
    "+86 138-0013-8000",
    "KP1:6BFOXN*TS0BI$ZD8UHRQ2",
    "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH",
    "https://health.example.gov.cn/pass?token=s3cr3t",
    "eyJhbGciOiJFZERTQSJ9eyJzdWIiOiIxMTAxMDUxOTQ5MTIzMTAwMlgifQ",
)


def test_scrubbing_removes_id_numbers_phones_and_code_texts_and_keeps_the_rest() -> None:
    for secret in PLANTED:
        line = f"2026-11-26 10:00:00,123 INFO kiosk.x: saw {secret} at the gate"
        cleaned = scrub(line)
        assert secret not in cleaned, secret
        assert cleaned.startswith("2026-11-26 10:00:00,123 INFO kiosk.x: saw ")
    kept = "item 3f2b8c1e-9a4d-4c1b-8e2f-0a1b2c3d4e5f refused: HTTP 422; shown 110***********002X; 48 items"
    assert scrub(kept) == kept
    assert scrub("GET https://central.example/v1/upload failed") == "GET https://central.example/[…] failed"


def test_exported_logs_hold_no_planted_personal_data(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("kiosk.log", "kiosk.log.1"):
        (logs / name).write_text("".join(f"INFO line with {s}\n" for s in PLANTED), "utf-8")
    (logs / "other.txt").write_text("not a kiosk log")
    stick = tmp_path / "usb"
    stick.mkdir()
    store = Store(tmp_path / "s.sqlite3")
    AuditLog(store).record("left", reason="idle")
    out, count = export_logs(logs, stick, NOW, AuditLog(store).entries())
    store.close()
    assert count == 2
    assert sorted(p.name for p in out.iterdir()) == ["admin-audit.txt", "kiosk.log", "kiosk.log.1"]
    for path in out.iterdir():
        text = path.read_text("utf-8")
        for secret in PLANTED:
            assert secret not in text
    assert (out / "kiosk.log").read_text().count("INFO line with") == len(PLANTED)


def test_usb_sticks_are_found_where_desktops_mount_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media, run_media = tmp_path / "media", tmp_path / "run-media"
    for folder in (media / "STICK", media / "user" / "KINGSTON", media / "user" / "not-mounted", run_media):
        folder.mkdir(parents=True)
    mounted = {media / "STICK", media / "user" / "KINGSTON"}
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) in mounted)
    assert removable_mounts((media, run_media, tmp_path / "absent")) == [
        media / "STICK",
        media / "user" / "KINGSTON",
    ]


def test_the_outbox_export_needs_enrolment_and_holds_pending_and_quarantined_items(tmp_path: Path) -> None:
    core = open_core(Settings(data_dir=tmp_path))
    core.checkpoint.inspect("first", source="manual")
    core.checkpoint.inspect("second", source="manual")
    first = core.outbox.pending()[0].item_id
    core.outbox.quarantine(first, "HTTP 422: bad checkpoint")
    with pytest.raises(NotEnrolled):
        export_outbox(core.store, core.settings.secrets_dir, tmp_path, NOW)
    central_private = bytes(range(32))
    save_credentials(
        core.settings.secrets_dir,
        Credentials(
            "https://central.invalid",
            "dev-1",
            "tok",
            "site",
            b64e(bytes(32)),
            b64e(seal_public_key(central_private)),
        ),
    )
    path, count = export_outbox(core.store, core.settings.secrets_dir, tmp_path, NOW)
    core.close()
    assert count == 2 and path.name.startswith("kiosk-export-dev-1-")
    document = json.loads(path.read_text())
    items = json.loads(gzip.decompress(open_sealed(central_private, b64d(document["sealed"]))))
    assert first in {item["item"]["id"] for item in items}

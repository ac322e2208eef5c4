"""Admin mode without Qt: the PIN (a slow hash, lockout with back-off), the audit log, settings writing,
the health snapshot shared by the health page and the heartbeat, log export, and `kiosk admin …`.

The PIN file and the lockout state live in ``DATA_DIR/secrets`` (owner-only). Nothing here logs or stores
personal data: audit details are action names, setting keys, counts and item ids.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from kiosk.config import SETTINGS_FILE, Settings, SettingsError, settings_from_values
from kiosk.store import Store

PIN_FILE = "admin-pin.json"
LOCKOUT_FILE = "admin-lockout.json"
PIN_DIGITS = (6, 12)
# Five wrong PINs are free (a typo, a fat finger); from then on every failure locks the screen for twice
# as long as the one before, from 30 s up to an hour. Persisted: restarting the kiosk does not reset it.
FREE_FAILURES = 5
LOCKOUT_FIRST_S = 30.0
LOCKOUT_MAX_S = 3600.0
# scrypt at N=2^15, r=8 (32 MiB, ~0.1 s on a kiosk CPU): slow enough that a stolen PIN file cannot be
# searched through a million six-digit PINs in a coffee break, fast enough for a touch screen.
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_SCRYPT_MAXMEM = 64 * 1024 * 1024


def _write_private(path: Path, data: bytes) -> None:
    """Owner-only and atomic: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


# --- PIN and lockout ------------------------------------------------------------------------------------


class PinError(ValueError):
    """A PIN that cannot be set (wrong length, not digits)."""


def check_pin_format(pin: str) -> None:
    low, high = PIN_DIGITS
    if not (pin.isascii() and pin.isdigit() and low <= len(pin) <= high):
        raise PinError(f"the PIN must be {low} to {high} digits")


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32)


@dataclass(frozen=True)
class Attempt:
    """The outcome of one PIN entry. ``locked_for_s`` > 0: the PIN was not even checked (or this failure
    started a lockout); ``left`` is how many more failures are free before the first lockout."""

    ok: bool
    locked_for_s: float
    failures: int
    left: int


class AdminGate:
    """The PIN and its lockout, in ``secrets_dir``. Methods block (scrypt): call them off the GUI thread."""

    def __init__(self, secrets_dir: Path, clock: Callable[[], float] = time.time) -> None:
        # Wall-clock time, not monotonic: a lockout must survive a restart, and monotonic time does not.
        self.secrets_dir = secrets_dir
        self.clock = clock

    @property
    def _pin_path(self) -> Path:
        return self.secrets_dir / PIN_FILE

    @property
    def _lockout_path(self) -> Path:
        return self.secrets_dir / LOCKOUT_FILE

    def has_pin(self) -> bool:
        return self._pin_path.exists()

    def set_pin(self, pin: str) -> None:
        """Store a new PIN (as a salted scrypt hash) and clear any lockout."""
        check_pin_format(pin)
        salt = secrets.token_bytes(16)
        record = {
            "kdf": "scrypt",
            **_SCRYPT,
            "salt": salt.hex(),
            "hash": _scrypt(pin, salt, **_SCRYPT).hex(),
        }
        _write_private(self._pin_path, json.dumps(record).encode("ascii"))
        self._save_lockout(0, 0.0)

    def _matches(self, pin: str) -> bool:
        record = json.loads(self._pin_path.read_text("ascii"))
        if record.get("kdf") != "scrypt":
            raise ValueError(f"{PIN_FILE}: unknown kdf {record.get('kdf')!r}")
        digest = _scrypt(pin, bytes.fromhex(record["salt"]), record["n"], record["r"], record["p"])
        return hmac.compare_digest(digest, bytes.fromhex(record["hash"]))

    def _load_lockout(self) -> tuple[int, float]:
        try:
            data = json.loads(self._lockout_path.read_text("ascii"))
            return int(data["failures"]), float(data["locked_until"])
        except FileNotFoundError:
            return 0, 0.0
        except (ValueError, KeyError, TypeError):
            # A damaged file must not open the gate: treat it as the longest lockout.
            return FREE_FAILURES + 32, self.clock() + LOCKOUT_MAX_S

    def _save_lockout(self, failures: int, locked_until: float) -> None:
        payload = {"failures": failures, "locked_until": locked_until}
        _write_private(self._lockout_path, json.dumps(payload).encode("ascii"))

    def locked_for(self) -> float:
        """Seconds until a PIN may be tried again (0 when it may now)."""
        _, until = self._load_lockout()
        return max(0.0, until - self.clock())

    def attempt(self, pin: str) -> Attempt:
        failures, until = self._load_lockout()
        now = self.clock()
        if until > now:
            return Attempt(False, until - now, failures, 0)
        if self.has_pin() and self._matches(pin):
            self._save_lockout(0, 0.0)
            return Attempt(True, 0.0, 0, FREE_FAILURES)
        failures += 1
        lock_s = 0.0
        if failures >= FREE_FAILURES:
            lock_s = min(LOCKOUT_FIRST_S * 2 ** (failures - FREE_FAILURES), LOCKOUT_MAX_S)
        self._save_lockout(failures, now + lock_s if lock_s else 0.0)
        return Attempt(False, lock_s, failures, max(0, FREE_FAILURES - 1 - failures))


# --- audit log ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    at: str
    action: str
    details: dict[str, Any]

    def line(self) -> str:
        details = " ".join(f"{k}={v}" for k, v in self.details.items())
        return f"{self.at} {self.action}{' ' + details if details else ''}"


class AuditLog:
    """Every admin action, in the store (``admin_audit``). Callers pass no personal data: only setting keys,
    counts, item ids, printer states and the like."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.clock = clock

    def record(self, action: str, **details: Any) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO admin_audit (at, action, details) VALUES (?, ?, ?)",
                (
                    self.clock().isoformat(timespec="seconds"),
                    action,
                    json.dumps(details, ensure_ascii=False, default=str),
                ),
            )

    def entries(self, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` entries, oldest first."""
        rows = self.store.query(
            "SELECT at, action, details FROM admin_audit ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [AuditEntry(r["at"], r["action"], json.loads(r["details"])) for r in reversed(rows)]


# --- settings -------------------------------------------------------------------------------------------

# What the settings page edits, in its order.
EDITABLE = (
    "site_name",
    "checkpoint_id",
    "mode",
    "language",
    "idle_timeout_s",
    "duplicate_window_s",
    "trust_max_age_days",
    "sound",
    "camera",
    "printer",
    "central_url",
)
# Applied to the running kiosk at once; the others are read once at start-up (the camera thread, the
# printer, the sync loop, which screens exist) and take effect after a restart.
LIVE = frozenset(
    {
        "site_name",
        "checkpoint_id",
        "language",
        "idle_timeout_s",
        "duplicate_window_s",
        "trust_max_age_days",
        "sound",
    }
)


@dataclass(frozen=True)
class SavedSettings:
    settings: Settings  # the running settings with the saved values in
    changed: tuple[str, ...]
    needs_restart: tuple[str, ...]


def save_settings(current: Settings, changes: Mapping[str, Any]) -> SavedSettings:
    """Validate ``changes`` merged into ``kiosk.toml`` exactly as start-up would, then write the file
    atomically (its comments and layout kept). Raises :class:`SettingsError` naming the bad key, before
    anything is written."""
    import tomlkit

    path = current.data_dir / SETTINGS_FILE
    try:
        document = tomlkit.parse(path.read_text("utf-8")) if path.exists() else tomlkit.document()
    except tomlkit.exceptions.ParseError as err:
        raise SettingsError(f"{path.name}: {err}") from None
    values = {**document.unwrap(), **changes}
    # An empty optional value (no central server) is the absence of the key, as in a hand-written file.
    if values.get("central_url") in ("", None):
        values.pop("central_url", None)
    from_file = settings_from_values(current.data_dir, values)
    changed = tuple(key for key in changes if getattr(from_file, key) != getattr(current, key))
    for key in changes:
        value = getattr(from_file, key)
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    _write_synced(path, tomlkit.dumps(document).encode("utf-8"))
    running = replace(current, **{key: getattr(from_file, key) for key in changed})
    return SavedSettings(running, changed, tuple(key for key in changed if key not in LIVE))


def enrol_kiosk(current: Settings, store: Store, url: str, code: str, name: str) -> tuple[str, SavedSettings]:
    """Enrol with a central server (as ``kiosk enroll`` does) and keep its URL in ``kiosk.toml``; returns
    the device id the server gave. The URL is validated first, so a typo costs no one-time code. Raises
    :class:`SettingsError` for the URL, ``kiosk.central_client.CentralError`` for the server's refusal."""
    from kiosk import __version__
    from kiosk.central_client import DEVICE_KEY_FILE, enrol, save_credentials
    from kiosk.forms.protect import reseal_pending
    from kiosk.keystore import load_or_create_secret

    settings_from_values(current.data_dir, {"central_url": url or None})
    if not url:
        raise SettingsError("setting 'central_url' must be set to enrol", "central_url")
    seed = load_or_create_secret(current.secrets_dir / DEVICE_KEY_FILE)
    credentials = enrol(url, code, seed, name, __version__)
    save_credentials(current.secrets_dir, credentials)
    # The central key is known now: what was stored under the local key is sealed to it at once.
    reseal_pending(store, current.secrets_dir)
    return credentials.device_id, save_settings(current, {"central_url": url})


def _sync_dir(folder: Path) -> None:
    """The rename itself survives power loss only once the folder is synced."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- health ---------------------------------------------------------------------------------------------

DISK_LOW_BYTES = 500 * 1024 * 1024
SYNC_STALE_AFTER = timedelta(minutes=30)


class Problem(StrEnum):
    """What the top bar shows an icon for and the heartbeat lists, in this order."""

    CAMERA = "camera"
    DECODER = "decoder"
    OCR = "ocr"
    PRINTER = "printer"
    DISK_LOW = "disk_low"
    STORE = "store_damaged"  # the store was damaged or vanished and was recovered or replaced lately
    SYNC_STALE = "sync_stale"
    TRUST_STALE = "trust_stale"
    QUARANTINE = "outbox_quarantine"


@dataclass(frozen=True)
class SystemHealth:
    """What is read from disk and the store (on a worker thread)."""

    disk_free: int
    disk_total: int
    db_bytes: int
    pending: int
    oldest_pending_at: datetime | None
    quarantined: int
    trust_refreshed_at: datetime | None
    # What happened to the store lately (kiosk.store.Store.recent_incidents), newest first.
    store_incidents: tuple[str, ...] = ()


def system_health(settings: Settings, store: Store) -> SystemHealth:
    from kiosk.codes.truststore import TrustStoreError, load_data_dir_store

    usage = shutil.disk_usage(settings.data_dir)
    db = settings.store_path
    db_bytes = sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    row = store.query(
        "SELECT COALESCE(SUM(quarantined_at IS NULL), 0), MIN(CASE WHEN quarantined_at IS NULL"
        " THEN created_at END), COALESCE(SUM(quarantined_at IS NOT NULL), 0) FROM outbox"
    )[0]
    try:
        refreshed = load_data_dir_store(settings.data_dir).refreshed_at
    except (OSError, TrustStoreError):
        refreshed = None
    return SystemHealth(
        usage.free,
        usage.total,
        db_bytes,
        int(row[0]),
        datetime.fromisoformat(row[1]) if row[1] else None,
        int(row[2]),
        refreshed,
        tuple(store.recent_incidents()),
    )


@dataclass(frozen=True)
class HealthReport:
    """Everything the health page shows; devices are None where the kiosk has none (or not yet known)."""

    version: str
    system: SystemHealth | None = None
    camera_state: str = "starting"
    camera_reason: str = ""
    camera_fps: float | None = None
    camera_size: tuple[int, int] | None = None
    last_frame_age_s: float | None = None
    decoder: str = "auto"
    decoder_failed: bool = False
    ocr_state: str = "not_used"  # not_used | loading | ready | failed
    ocr_load_s: float | None = None
    printer_state: str | None = None  # devices.printer.PrinterState value; None: no printer here
    central_configured: bool = False
    last_sync_at: datetime | None = None
    running_since: datetime | None = None


def problems(report: HealthReport, settings: Settings, now: datetime) -> list[Problem]:
    found = []
    if report.camera_state in ("failed", "reconnecting") and not report.decoder_failed:
        found.append(Problem.CAMERA)
    if report.decoder_failed:
        found.append(Problem.DECODER)
    if report.ocr_state == "failed":
        found.append(Problem.OCR)
    if report.printer_state is not None and report.printer_state != "ready":
        found.append(Problem.PRINTER)
    system = report.system
    if system is not None and system.disk_free < DISK_LOW_BYTES:
        found.append(Problem.DISK_LOW)
    if system is not None and system.store_incidents:
        found.append(Problem.STORE)
    if report.central_configured:
        since = report.last_sync_at or report.running_since
        if since is not None and now - since > SYNC_STALE_AFTER:
            found.append(Problem.SYNC_STALE)
    if system is not None:
        refreshed = system.trust_refreshed_at
        # Never refreshed only matters for a kiosk meant to get its trust store from a central server.
        if (refreshed is None and report.central_configured) or (
            refreshed is not None and now - refreshed > timedelta(days=settings.trust_max_age_days)
        ):
            found.append(Problem.TRUST_STALE)
        if system.quarantined:
            found.append(Problem.QUARANTINE)
    return found


def heartbeat_health(report: HealthReport, found: Iterable[Problem]) -> dict[str, str | int | float | None]:
    """The heartbeat's ``health`` object: scalars only (the API takes no nesting), nothing personal.
    ``printer`` and ``trust_store_refreshed_at`` are what the managers' dashboard reads."""
    health: dict[str, str | int | float | None] = {
        "printer": report.printer_state or "none",
        "camera": report.camera_state,
        "ocr": report.ocr_state,
        "problems": ",".join(found),
    }
    system = report.system
    if system is not None:
        health["disk_free_mb"] = system.disk_free // (1024 * 1024)
        health["db_mb"] = round(system.db_bytes / (1024 * 1024), 1)
        health["oldest_pending_at"] = (
            system.oldest_pending_at.isoformat() if system.oldest_pending_at else None
        )
        if system.trust_refreshed_at is not None:
            health["trust_store_refreshed_at"] = system.trust_refreshed_at.isoformat()
        if system.store_incidents:
            health["store"] = system.store_incidents[0][:1000]  # the API's longest text value
    return health


def core_health(settings: Settings, store: Store) -> dict[str, str | int | float | None]:
    """The heartbeat health of a kiosk without its GUI (``kiosk sync``): what the disk and store say."""
    from kiosk import __version__

    report = HealthReport(
        __version__, system_health(settings, store), camera_state="not_running", printer_state=None
    )
    return heartbeat_health(report, problems(report, settings, datetime.now(UTC)))


# --- outbox, receipts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecentReceipt:
    job_id: int
    number: str
    service_id: str
    created_at: str
    status: str


def recent_receipts(store: Store, limit: int = 5) -> list[RecentReceipt]:
    """The last ``limit`` print jobs, newest first: numbers and services only, nothing personal."""
    rows = store.query(
        "SELECT p.id, s.number, s.service_id, p.created_at, p.status FROM print_jobs p"
        " JOIN submissions s ON s.id = p.submission_id ORDER BY p.id DESC LIMIT ?",
        (limit,),
    )
    return [RecentReceipt(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def printer_check_receipt(settings: Settings, language: str, now: datetime) -> Any:
    """A receipt that proves the printer works: site, checkpoint, time; a QR with no meaning."""
    from kiosk.forms.receipts import ReceiptData
    from kiosk.i18n import translate

    stamp = now.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return ReceiptData(
        site_name=settings.site_name,
        title=translate("admin.test_print.title", language),
        number_label=translate("receipt.number", language),
        number=f"TEST-{settings.checkpoint_id}",
        time_label=translate("receipt.time", language),
        time=stamp,
        lines=[],
        qr_text=f"TEST {settings.checkpoint_id} {stamp}",
        validity_label=translate("receipt.validity", language),
        validity="—",
        instruction=translate("admin.test_print.note", language),
        language=language,
    )


def export_outbox(store: Store, secrets_dir: Path, folder: Path, now: datetime) -> tuple[Path, int]:
    """Pending and quarantined items into ``folder`` in the sealed, signed format of ``kiosk export``
    (``kiosk.sneakernet``), so the centre can import or examine them; returns the file and the count.

    Raises ``LookupError`` when the kiosk is not enrolled: there is no central key to seal to. Items whose
    personal data is still under the kiosk's local key stay behind, as in ``kiosk export``."""
    import gzip

    from kiosk.central_client import DEVICE_KEY_FILE, load_credentials
    from kiosk.forms.protect import LOCAL_MAGIC
    from kiosk.keystore import load_or_create_secret
    from kiosk.outbox import OutboxItem
    from kiosk.sealing import b64d, b64e, canonical_json, seal, sign
    from kiosk.sneakernet import FORMAT, signed_header

    credentials = load_credentials(secrets_dir)
    if credentials is None:
        raise LookupError("not enrolled")
    rows = store.query("SELECT seq, kind, item_id, payload, sealed_personal FROM outbox ORDER BY seq")
    items = [
        {"type": r[1], "item": OutboxItem(r[0], r[1], r[2], json.loads(r[3]), r[4]).wire()}
        for r in rows
        if not (r[4] or b"").startswith(LOCAL_MAGIC)
    ]
    document: dict[str, Any] = {
        "format": FORMAT,
        "device_id": credentials.device_id,
        "created_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "count": len(items),
        "sealed": b64e(seal(b64d(credentials.seal_key), gzip.compress(canonical_json(items)))),
    }
    seed = load_or_create_secret(secrets_dir / DEVICE_KEY_FILE)
    document["signature"] = b64e(sign(seed, signed_header(document)))
    out = folder / f"kiosk-export-{credentials.device_id}-{now:%Y%m%d-%H%M%S}.json"
    _write_synced(out, json.dumps(document).encode("utf-8"))
    return out, len(items)


def _write_synced(path: Path, data: bytes) -> None:
    """Atomically, and synced: a USB stick pulled right after "done" still holds the whole file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _sync_dir(path.parent)


# --- logs -----------------------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SCRUB: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # Signed codes (kiosk, EU DCC): a prefix and base45, whose alphabet includes space.
    (re.compile(r"\b(?:KP|HC)\d:[0-9A-Z $%*+\-./:]+"), lambda m: "[code]"),
    # URLs keep their host (which server failed matters); path and query may carry a token.
    (re.compile(r"(https?://[^\s/?#'\"]+)[^\s'\"]*"), lambda m: m.group(1) + "/[…]"),
    # Resident ID numbers, 18 and 15 digits (masked ones, with *, are left alone).
    (re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])"), lambda m: "[id]"),
    # Mainland mobile numbers, with or without +86 and separators.
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)"), lambda m: "[phone]"),
    # Long opaque tokens (code texts of other schemes, keys); record UUIDs are not personal and stay.
    (
        re.compile(r"[A-Za-z0-9+/=_\-]{32,}"),
        lambda m: m.group(0) if _UUID.fullmatch(m.group(0)) else "[token]",
    ),
)


def scrub(text: str) -> str:
    """``text`` with anything that looks like an ID number, phone number or code text replaced."""
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


def export_logs(
    log_dir: Path, folder: Path, now: datetime, audit: Sequence[AuditEntry] = ()
) -> tuple[Path, int]:
    """Scrubbed copies of the rotating logs (and the audit log) in a new folder under ``folder``."""
    out = folder / f"kiosk-logs-{now:%Y%m%d-%H%M%S}"
    out.mkdir(parents=True)
    files = sorted(log_dir.glob("kiosk.log*")) if log_dir.is_dir() else []
    for source in files:
        with (
            source.open(encoding="utf-8", errors="replace") as src,
            (out / source.name).open("w", encoding="utf-8") as dst,
        ):
            for line in src:
                dst.write(scrub(line))
            dst.flush()
            os.fsync(dst.fileno())
    if audit:
        (out / "admin-audit.txt").write_text(
            "".join(scrub(entry.line()) + "\n" for entry in audit), encoding="utf-8"
        )
    _sync_dir(out)
    return out, len(files)


MOUNT_ROOTS = (Path("/media"), Path("/run/media"))


def removable_mounts(roots: Sequence[Path] = MOUNT_ROOTS) -> list[Path]:
    """Writable folders where desktops mount USB sticks: ``ROOT/LABEL`` and ``ROOT/USER/LABEL``."""
    found: list[Path] = []
    for root in roots:
        try:
            level1 = sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            continue
        for path in level1:
            if os.path.ismount(path):
                found.append(path)
                continue
            try:
                found += sorted(p for p in path.iterdir() if p.is_dir() and os.path.ismount(p))
            except OSError:
                continue
    return [p for p in found if os.access(p, os.W_OK)]


# --- command line ---------------------------------------------------------------------------------------


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    admin = sub.add_parser("admin", help="admin mode: set the PIN, read the audit log")
    commands = admin.add_subparsers(dest="admin_command", required=True)
    set_pin = commands.add_parser(
        "set-pin", parents=[common], help=f"set the admin PIN ({PIN_DIGITS[0]}-{PIN_DIGITS[1]} digits)"
    )
    set_pin.set_defaults(handler=cmd_set_pin)
    audit = commands.add_parser("audit", parents=[common], help="print the admin audit log")
    audit.add_argument("--limit", type=int, default=200)
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(handler=cmd_audit)


def _read_pin(prompt: str) -> str:
    """From the terminal without echo, or one line of stdin when it is not a terminal (scripts)."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def cmd_set_pin(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk.config import load_settings

    settings = load_settings(data_dir, {"language": args.language})
    pin = _read_pin("new admin PIN: ")
    again = _read_pin("again: ") if sys.stdin.isatty() else pin
    if pin != again:
        print("kiosk: the two PINs differ; nothing changed", file=sys.stderr)
        return 2
    try:
        AdminGate(settings.secrets_dir).set_pin(pin)
    except PinError as err:
        print(f"kiosk: {err}; nothing changed", file=sys.stderr)
        return 2
    store = Store(settings.store_path)
    try:
        AuditLog(store).record("pin_set", source="command line")
    finally:
        store.close()
    print("admin PIN set")
    return 0


def cmd_audit(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk.config import load_settings

    settings = load_settings(data_dir, {"language": args.language})
    store = Store(settings.store_path)
    try:
        entries = AuditLog(store).entries(args.limit)
    finally:
        store.close()
    for entry in entries:
        if args.json:
            print(json.dumps({"at": entry.at, "action": entry.action, **entry.details}, ensure_ascii=False))
        else:
            print(entry.line())
    return 0

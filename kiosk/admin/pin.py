"""The admin PIN and its lockout: a slow salted hash, five free failures, then a doubling lockout.

Both files live in ``DATA_DIR/secrets`` (owner-only); the lockout survives a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.fileio import FileProblem, read_json, write_atomically

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
# The PIN record and the lockout are a few hundred bytes.
_SMALL_FILE = 4096


def _write_private(path: Path, data: bytes) -> None:
    """Owner-only and atomic: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(path, data, mode=0o600)


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
        # A damaged file is a FileProblem naming it: the gate stays shut, the admin page says why.
        record = read_json(self._pin_path, _SMALL_FILE, max_depth=2)
        if not isinstance(record, dict) or record.get("kdf") != "scrypt":
            raise FileProblem(str(self._pin_path), "not a PIN record (scrypt) of this kiosk")
        digest = _scrypt(pin, bytes.fromhex(record["salt"]), record["n"], record["r"], record["p"])
        return hmac.compare_digest(digest, bytes.fromhex(record["hash"]))

    def _load_lockout(self) -> tuple[int, float]:
        try:
            data = read_json(self._lockout_path, _SMALL_FILE, max_depth=2)
            return int(data["failures"]), float(data["locked_until"])
        except FileNotFoundError:
            return 0, 0.0
        except (ValueError, KeyError, TypeError, OverflowError):  # FileProblem is a ValueError
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

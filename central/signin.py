"""Managers' sign-in under guessing and floods.

- Password checks (a deliberately slow scrypt) run one at a time on a thread of their own at the lowest CPU
  priority, never inside a database transaction and never on the thread pool the kiosks' uploads use, and
  no more often than a set pace: scrypt is memory-hard, and even at the lowest priority back-to-back checks
  crowd the caches and memory the API needs. A flood of sign-ins waits its turn (cheaply, on the event loop)
  instead of taking the uploads' threads, connections or the SQLite write lock; past a bound on the waiting
  checks, sign-ins are refused with 503 after a pause, so that a flood client cannot spin on the refusal.
  A browser the account signed in from before has a lane of its own, so a flood does not delay its
  manager.
- Failures are counted per account as well as per address (``AccountThrottle``): after a few free
  failures, each further attempt on the account waits for a delay that doubles with every failure, up to a
  cap. A delay, not a lock: it ends, and it bounds guessing from any number of addresses.
- A browser that signed in before carries a signed cookie naming the account (``DeviceCookies``); with it
  the per-address limit and the account's delay do not apply to that account, so guessing from anywhere,
  the manager's own office included, cannot keep the real manager out. The cookie alone opens nothing: the
  password is still checked, and a cookie's own failures are limited.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from central.managers import decoy_hash, verify_password

COOKIE_NAME = "kiosk_manager_device"
# Accounts the throttle remembers; the oldest are forgotten first, so random names cannot fill memory.
_MAX_ACCOUNTS = 10_000


class SignInBusy(Exception):
    """Too many password checks already waiting; the attempt was not made."""


def _lowest_priority() -> None:
    # Linux gives each thread its own nice value: the checks then use only CPU the API does not want.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class PasswordChecker:
    """Runs :func:`verify_password` off the event loop and off the request thread pool, starting a check
    at most every ``min_interval_s``; known browsers (``known=True``) on a lane of their own."""

    def __init__(self, max_waiting: int = 64, min_interval_s: float = 0.5, busy_pause_s: float = 2.0) -> None:
        self.max_waiting = max_waiting
        self.min_interval_s = min_interval_s
        self.busy_pause_s = busy_pause_s
        self._waiting = 0  # touched only on the event loop's thread
        self._next_start = 0.0  # touched only on the paced lane's thread
        self._lanes = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=name, initializer=_lowest_priority)
            for name in ("password-check", "password-check-known")
        ]

    async def check(self, stored_hash: str | None, password: str, known: bool = False) -> bool:
        """``stored_hash`` None (no such account) costs the same time and answers False."""
        loop = asyncio.get_running_loop()
        if known:
            return await loop.run_in_executor(self._lanes[1], _verify, stored_hash, password)
        if self._waiting >= self.max_waiting:
            await asyncio.sleep(self.busy_pause_s)
            raise SignInBusy
        self._waiting += 1
        try:
            return await loop.run_in_executor(self._lanes[0], self._paced, stored_hash, password)
        finally:
            self._waiting -= 1

    def _paced(self, stored_hash: str | None, password: str) -> bool:
        now = time.monotonic()
        if self._next_start > now:
            time.sleep(self._next_start - now)
        self._next_start = max(now, self._next_start) + self.min_interval_s
        return _verify(stored_hash, password)

    def close(self) -> None:
        for lane in self._lanes:
            lane.shutdown(wait=False, cancel_futures=True)


def _verify(stored_hash: str | None, password: str) -> bool:
    if stored_hash is None:
        # Same work as for a real account, so the answer's timing does not tell which names exist.
        verify_password(decoy_hash(), password)
        return False
    return verify_password(stored_hash, password)


@dataclass
class AccountThrottle:
    """Per account: ``free_failures`` failures cost nothing; then an attempt must wait ``base_delay_s``
    doubled per further failure, at most ``max_delay_s``, after the last failure. Failures older than
    ``forget_after_s`` are forgotten; a success clears them."""

    free_failures: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0
    forget_after_s: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _failures: OrderedDict[str, tuple[int, float]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _delay(self, failures: int) -> float:
        if failures < self.free_failures:
            return 0.0
        return min(self.max_delay_s, self.base_delay_s * 2 ** (failures - self.free_failures))

    def wait(self, account: str) -> float:
        """Seconds until an attempt on ``account`` may be checked; 0 when it may be now."""
        now = self.clock()
        with self._lock:
            failures, last = self._failures.get(account, (0, now))
            if now - last > self.forget_after_s:
                self._failures.pop(account, None)
                return 0.0
            return max(0.0, last + self._delay(failures) - now)

    def record(self, account: str, ok: bool) -> None:
        now = self.clock()
        with self._lock:
            if ok:
                self._failures.pop(account, None)
                return
            failures, last = self._failures.pop(account, (0, now))
            if now - last > self.forget_after_s:
                failures = 0
            self._failures[account] = (failures + 1, now)
            while len(self._failures) > _MAX_ACCOUNTS:
                self._failures.popitem(last=False)


@dataclass(frozen=True)
class DeviceCookies:
    """``NAME.EXPIRES.HMAC``: issued by a successful sign-in, valid for its account until it expires."""

    key: bytes
    lifetime_s: float = 30 * 24 * 3600
    clock: Callable[[], float] = time.time

    def issue(self, account: str) -> str:
        body = f"{account}.{int(self.clock() + self.lifetime_s)}"
        return f"{body}.{self._mac(body)}"

    def account(self, cookie: str | None) -> str | None:
        """The account a cookie is good for, or None (absent, forged, expired)."""
        if not cookie:
            return None
        body, _, mac = cookie.rpartition(".")
        account, _, expires = body.rpartition(".")
        if not (account and expires.isdigit()) or not hmac.compare_digest(mac, self._mac(body)):
            return None
        return account if int(expires) > self.clock() else None

    def _mac(self, body: str) -> str:
        return hmac.new(self.key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def cookie_key(server_secret: bytes) -> bytes:
    """A key of its own for the cookies, derived from a secret only the server holds."""
    return hmac.new(server_secret, b"kiosk-central manager device cookie", hashlib.sha256).digest()

"""Device authentication: a bearer token (revocable) plus an Ed25519 signature of every request.

The token says which device; the signature, made with the key the kiosk registered at enrolment over the
method, path, a timestamp, a one-time nonce and the body's hash, proves the request came from that device
now. A replayed request carries a nonce already seen (or a stale timestamp) and is refused.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import HTTPException
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.db import as_utc, utcnow
from central.models import Device, RequestNonce
from protocol.sealing import b64d, request_message, verify

CLOCK_SKEW = timedelta(minutes=5)
# A code is read off a screen and typed: Crockford-style letters without I, L, O, U.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_enrolment_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


@dataclass
class RateLimiter:
    """Token bucket per key, in this process. Behind a load balancer with N processes a device gets up to N
    times the rate, which still bounds what one misbehaving kiosk can cost."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds until it may (for Retry-After)."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def enforce(limiter: RateLimiter, key: str) -> None:
    wait = limiter.check(key)
    if wait:
        raise HTTPException(429, "too many requests", headers={"Retry-After": str(max(1, math.ceil(wait)))})


def authenticate(
    session: Session,
    *,
    method: str,
    path: str,
    body: bytes,
    authorization: str | None,
    timestamp: str | None,
    nonce: str | None,
    signature: str | None,
) -> Device:
    if not authorization or not authorization.startswith("Bearer "):
        raise _unauthorised("missing bearer token")
    device = session.scalar(select(Device).where(Device.token_hash == hash_secret(authorization[7:].strip())))
    # Until the signature shows the request comes from the device, every failure gets the same answer:
    # otherwise a token alone would tell whether it is known or revoked.
    if not (timestamp and nonce and signature) or not (16 <= len(nonce) <= 64):
        raise _unauthorised("missing or malformed request signature headers")
    try:
        sent = int(timestamp)
        sig = b64d(signature)
    except ValueError:
        raise _unauthorised("malformed request signature headers") from None
    now = utcnow()
    if abs(now.timestamp() - sent) > CLOCK_SKEW.total_seconds():
        raise _unauthorised("request timestamp outside the allowed clock skew; check the kiosk's clock")
    message = request_message(method, path, timestamp, nonce, body)
    if device is None or not verify(device.public_key, sig, message):
        raise _unauthorised("unknown token or bad request signature")
    if device.revoked_at is not None:
        raise HTTPException(403, "device revoked")
    session.add(RequestNonce(device_id=device.id, nonce=nonce, seen_at=now))
    if random.random() < 0.01:
        # Nonces older than the skew window can no longer be replayed (their timestamp is refused).
        session.execute(delete(RequestNonce).where(RequestNonce.seen_at < now - 2 * CLOCK_SKEW))
    if device.last_seen_at is None or now - as_utc(device.last_seen_at) > timedelta(seconds=60):
        device.last_seen_at = now
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _unauthorised("replayed request") from None
    return device

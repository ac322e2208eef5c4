"""Trust rules shared by every signed format: unknown issuers, stale trust stores, time windows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kiosk.codes.errors import Rejected
from kiosk.codes.truststore import TrustedKey, TrustStore
from kiosk.i18n import Message


@dataclass(frozen=True)
class TrustPolicy:
    # A trust store older than this may miss revocations: codes it vouches for are checked by hand.
    max_trust_age: timedelta = timedelta(days=7)
    # A code this close to its end is shown yellow, so staff look at the time themselves.
    expiry_warning: timedelta = timedelta(hours=1)
    # How far a code's issue time may lie after this kiosk's clock and still count as now. A kiosk that set
    # its clock within the trust list's maximum age (a week) has drifted well under a minute since (a quartz
    # clock keeps ±50 ppm, 30 s a week), and issuers' servers keep network time: five minutes covers both
    # with room, and is far below the hours-to-months validity of any code, so the time checks of a code
    # within it are right. Beyond it, this kiosk's clock is the one that is wrong (offline for months, or
    # restarted at a reset date): see ``check_times``.
    clock_skew: timedelta = timedelta(minutes=5)


def numeric_date(value: Any) -> datetime | None:
    """A CWT NumericDate (RFC 8392 §2: seconds since the epoch, integer or floating point, without the date
    tag), or ``None`` for anything else or a time outside 1970 to year 6325."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not (math.isfinite(value) and 0 <= value < 2**37):
        return None
    return datetime.fromtimestamp(value, UTC)


def unknown_issuer(
    trust: TrustStore, issued_at: datetime | None, now: datetime, policy: TrustPolicy
) -> Message:
    """Why a code from a key the store does not know cannot pass.

    If the store is older than the code, the issuer may simply be newer than the store: yellow, check by
    hand. The issue time comes from an unverified payload, so it can only ever earn a yellow, never a green,
    and only when it is plausible (not in the future), so a forged time cannot extend that window at will.
    """
    if issued_at is None or issued_at > now + policy.clock_skew:
        return Message("signed.issuer_unknown")
    if trust.refreshed_at is None or issued_at > trust.refreshed_at:
        return Message("signed.issuer_not_yet_known")
    return Message("signed.issuer_unknown")


def check_times(
    issued_at: datetime,
    valid_from: datetime | None,
    valid_until: datetime,
    now: datetime,
    policy: TrustPolicy,
) -> Message | None:
    """Raises ``Rejected`` for a code outside its validity; returns a reason to check by hand, or ``None``.

    Called only once the signature is good, so an issue time clearly after ``now`` is the issuer's word that
    this kiosk's clock is behind: yellow "check the kiosk's clock", not red "forged". A clock that is behind
    can still tell that a code has expired (it is later than the kiosk thinks), but not that a code is not
    valid yet, so "not yet valid" gives way to the clock warning.
    """
    if now > valid_until:
        raise Rejected(
            "signed.expired", valid_until=valid_until.astimezone(now.tzinfo).isoformat(" ", "minutes")
        )
    if issued_at > now + policy.clock_skew:
        return Message(
            "signed.check_clock", {"issued_at": issued_at.astimezone(now.tzinfo).isoformat(" ", "minutes")}
        )
    if valid_from is not None and now + policy.clock_skew < valid_from:
        raise Rejected(
            "signed.not_yet_valid", valid_from=valid_from.astimezone(now.tzinfo).isoformat(" ", "minutes")
        )
    return None


def caution(
    key: TrustedKey, trust: TrustStore, valid_until: datetime, now: datetime, policy: TrustPolicy
) -> Message | None:
    """The reason to check a genuine, valid code by hand anyway, or ``None``."""
    if not key.pinned:
        age = trust.age(now)
        if age is None:
            return Message("signed.trust_never_refreshed")
        if age > policy.max_trust_age:
            return Message("signed.trust_stale", {"days": age.days})
    left = valid_until - now
    if left < policy.expiry_warning:
        return Message("signed.expiring", {"minutes": max(0, int(left.total_seconds() // 60))})
    return None

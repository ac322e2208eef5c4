"""Trust rules shared by every signed format: unknown issuers, stale trust stores, time windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.codes.errors import Rejected
from kiosk.codes.truststore import TrustedKey, TrustStore
from kiosk.i18n import Message


@dataclass(frozen=True)
class TrustPolicy:
    # A trust store older than this may miss revocations: codes it vouches for are checked by hand.
    max_trust_age: timedelta = timedelta(days=7)
    # A code this close to its end is shown yellow, so staff look at the time themselves.
    expiry_warning: timedelta = timedelta(hours=1)
    # Tolerated difference between the issuing device's clock and this one.
    clock_skew: timedelta = timedelta(minutes=5)


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
    issued_at: datetime, valid_from: datetime, valid_until: datetime, now: datetime, policy: TrustPolicy
) -> None:
    if issued_at > now + policy.clock_skew:
        raise Rejected("signed.issued_in_future")
    if now + policy.clock_skew < valid_from:
        raise Rejected(
            "signed.not_yet_valid", valid_from=valid_from.astimezone(now.tzinfo).isoformat(" ", "minutes")
        )
    if now > valid_until:
        raise Rejected(
            "signed.expired", valid_until=valid_until.astimezone(now.tzinfo).isoformat(" ", "minutes")
        )


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

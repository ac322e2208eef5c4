"""The checkpoint's code registry for one data folder: signed formats first, then the unsigned ones.

The device key is created here on first start, and trusted at once for the types a kiosk may issue, so a
kiosk verifies its own codes before it has ever been online.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kiosk.codes.claims import DEVICE_TYPES
from kiosk.codes.dcc import DccFormat
from kiosk.codes.keys import SigningKey, load_or_create_device_key
from kiosk.codes.plain import default_registry
from kiosk.codes.policy import TrustPolicy
from kiosk.codes.registry import CodeRegistry
from kiosk.codes.signed import KioskCodeFormat
from kiosk.codes.truststore import (
    TRUST_STORE_FILE,
    TrustStore,
    from_bundle,
    load_data_dir_store,
    pinned_key,
)
from kiosk.config import Settings

DEVICE_KEY_LABEL = "this kiosk"
# An unchanged bundle (HTTP 304) still confirms its trust store is current; the file is rewritten with the
# new time this often, not on every pass.
RECONFIRM_AFTER = timedelta(hours=1)


def policy_for(settings: Settings) -> TrustPolicy:
    return TrustPolicy(
        max_trust_age=timedelta(days=settings.trust_max_age_days),
        expiry_warning=timedelta(minutes=settings.expiry_warning_min),
    )


def with_device_key(trust: TrustStore, device_key: SigningKey) -> TrustStore:
    return trust.with_keys([pinned_key(device_key.public, DEVICE_TYPES, DEVICE_KEY_LABEL)])


def build_registry(trust: TrustStore, policy: TrustPolicy) -> CodeRegistry:
    return CodeRegistry(
        [KioskCodeFormat(trust, policy), DccFormat(trust, policy), *default_registry().formats]
    )


def registry_for(settings: Settings, trust: TrustStore | None = None) -> CodeRegistry:
    """The registry the scanner, ``kiosk scan`` and ``kiosk verify`` share; ``trust`` replaces the data
    folder's store (the device key is trusted either way)."""
    device_key = load_or_create_device_key(settings.secrets_dir)
    base = trust if trust is not None else load_data_dir_store(settings.data_dir)
    return build_registry(with_device_key(base, device_key), policy_for(settings))


def install_bundle_trust(
    settings: Settings, registry: CodeRegistry, bundle: dict[str, Any], *, changed: bool, now: datetime
) -> bool:
    """Hand a verified central bundle's trust store and revocations to the checkpoint: saved as the data
    folder's trust store (so a restart starts from it) and swapped into ``registry`` at once, so the very
    next code is judged by it. ``changed`` is False when the server answered "not modified", which only
    re-confirms the store's freshness. Returns whether the registry was updated; raises
    :class:`~kiosk.codes.truststore.TrustStoreError` for parts that cannot be used (the caller keeps what
    it had)."""
    trust_part, revocations = bundle["trust_store"], bundle["revocations"]
    if not trust_part and not revocations:
        return False  # this centre distributes no trust: the data folder's own store stays in charge
    current = load_data_dir_store(settings.data_dir)
    if not changed:
        fresh = current.refreshed_at is not None and now - current.refreshed_at < RECONFIRM_AFTER
        if not trust_part or fresh:
            return False
    trust = from_bundle(trust_part, revocations, current, now)
    trust.save(settings.data_dir / TRUST_STORE_FILE)
    # One assignment: a scan running now finishes with the old formats, the next one uses the new.
    registry.formats = registry_for(settings, trust).formats
    return True

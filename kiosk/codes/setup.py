"""The checkpoint's code registry for one data folder: signed formats first, then the unsigned ones.

The device key is created here on first start, and trusted at once for the types a kiosk may issue, so a
kiosk verifies its own codes before it has ever been online.
"""

from __future__ import annotations

from datetime import timedelta

from kiosk.codes.claims import DEVICE_TYPES
from kiosk.codes.dcc import DccFormat
from kiosk.codes.keys import SigningKey, load_or_create_device_key
from kiosk.codes.policy import TrustPolicy
from kiosk.codes.registry import CodeRegistry, default_registry
from kiosk.codes.signed import KioskCodeFormat
from kiosk.codes.truststore import TrustStore, load_data_dir_store, pinned_key
from kiosk.config import Settings

DEVICE_KEY_LABEL = "this kiosk"


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

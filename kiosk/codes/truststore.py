"""The trust store: which public keys may sign which code types, what is revoked, and how fresh that is.

File format (JSON, ``"format": "kiosk-trust-store"``, ``"version": 1``)::

    {"format": "kiosk-trust-store", "version": 1, "refreshed_at": "2026-11-26T08:00:00+08:00",
     "keys": [{"kid": "<16 hex>", "public_key": "<base64 SubjectPublicKeyInfo DER>",
               "types": ["health", "forest-entry"], "not_before": "<ISO>", "not_after": "<ISO>",
               "label": "central issuer"},
              {"certificate": "<base64 X.509 DER>", "types": ["eu-dcc"]}],
     "revoked": {"kids": ["<16 hex>"], "codes": ["<16 hex>"]}}

A key id is derived, never taken on trust: SHA-256 of the public key (or, for a certificate, of the
certificate as the EU DCC defines it), first 8 bytes; a ``kid`` given in the file must match. Later versions
may add fields; this reader ignores what it does not know. The file lives in the data folder (``kiosk keys
import-trust`` installs one); an enrolled kiosk gets it in the central bundle instead (:func:`from_bundle`),
and each good bundle's is saved as this file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from kiosk.codes.claims import CODE_TYPES
from kiosk.codes.cose import PublicKey
from kiosk.codes.keys import key_id, public_key_der
from kiosk.fileio import FileProblem, read_json, write_atomically

log = logging.getLogger(__name__)

FORMAT = "kiosk-trust-store"
VERSION = 1
TRUST_STORE_FILE = "trust-store.json"
DCC_KIND = "eu-dcc"
ALL_KINDS = frozenset([*CODE_TYPES, DCC_KIND])
MAX_FILE_BYTES = 8 * 1024 * 1024


class TrustStoreError(ValueError):
    """A trust-store file or certificate that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class TrustedKey:
    kid: bytes
    public_key: PublicKey
    types: frozenset[str]
    not_before: datetime | None = None
    not_after: datetime | None = None
    label: str = ""
    certificate: x509.Certificate | None = None
    # Trusted on this device itself (its own key, a certificate given for one call), not through the
    # refreshed list, so the list's age says nothing about it.
    pinned: bool = False

    def valid_at(self, moment: datetime) -> bool:
        return (self.not_before is None or moment >= self.not_before) and (
            self.not_after is None or moment <= self.not_after
        )

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"kid": self.kid.hex()}
        if self.certificate is not None:
            entry["certificate"] = _b64(self.certificate.public_bytes(serialization.Encoding.DER))
        else:
            entry["public_key"] = _b64(public_key_der(self.public_key))
        entry["types"] = sorted(self.types)
        for name in ("not_before", "not_after"):
            moment = getattr(self, name)
            if moment is not None:
                entry[name] = moment.isoformat()
        if self.label:
            entry["label"] = self.label
        return entry


@dataclass(frozen=True)
class TrustStore:
    keys: dict[bytes, TrustedKey] = field(default_factory=dict)
    revoked_kids: frozenset[bytes] = frozenset()
    revoked_codes: frozenset[bytes] = frozenset()
    refreshed_at: datetime | None = None

    def lookup(self, kid: bytes | None) -> TrustedKey | None:
        return self.keys.get(kid) if kid else None

    def with_keys(self, keys: Iterable[TrustedKey]) -> TrustStore:
        """This store plus ``keys`` (replacing entries with the same id)."""
        return replace(self, keys={**self.keys, **{k.kid: k for k in keys}})

    def age(self, now: datetime) -> timedelta | None:
        return None if self.refreshed_at is None else now - self.refreshed_at

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "refreshed_at": self.refreshed_at.isoformat() if self.refreshed_at else None,
            "keys": [k.to_json() for k in self.keys.values() if not k.pinned],
            "revoked": {
                "kids": sorted(k.hex() for k in self.revoked_kids),
                "codes": sorted(c.hex() for c in self.revoked_codes),
            },
        }

    @classmethod
    def from_json(cls, data: Any) -> TrustStore:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise TrustStoreError(f'not a trust store (expected "format": "{FORMAT}")')
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise TrustStoreError('"version" must be a whole number from 1')
        refreshed = data.get("refreshed_at")
        refreshed_at = None if refreshed is None else _moment(refreshed, "refreshed_at")
        entries = data.get("keys", [])
        if not isinstance(entries, list):
            raise TrustStoreError('"keys" must be a list')
        keys = {}
        for index, entry in enumerate(entries):
            key = _key_from_json(entry, f"keys[{index}]")
            keys[key.kid] = key
        revoked = data.get("revoked", {})
        if not isinstance(revoked, dict):
            raise TrustStoreError('"revoked" must be an object')
        return cls(
            keys,
            _hex_ids(revoked.get("kids", []), "revoked.kids"),
            _hex_ids(revoked.get("codes", []), "revoked.codes"),
            refreshed_at,
        )

    @classmethod
    def load(cls, path: Path) -> TrustStore:
        try:
            data = read_json(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            raise TrustStoreError(f"{path.name}: no such file") from None
        except FileProblem as err:
            raise TrustStoreError(f"{path.name}: {err.why}") from None
        try:
            return cls.from_json(data)
        except TrustStoreError as err:
            raise TrustStoreError(f"{path.name}: {err}") from None

    def save(self, path: Path) -> None:
        """Written atomically, so a checkpoint never reads half a store."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n"
        write_atomically(path, text.encode("utf-8"))


def load_data_dir_store(data_dir: Path) -> TrustStore:
    """The data folder's store; none yet, or one that cannot be read, is an empty never-refreshed store
    (every foreign issuer is then "not yet known here": check by hand), so a checkpoint still runs."""
    path = data_dir / TRUST_STORE_FILE
    if not path.exists():
        return TrustStore()
    try:
        return TrustStore.load(path)
    except TrustStoreError as err:
        log.error("trust store ignored: %s", err)
        return TrustStore()


def revocations_from_json(entries: Any) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """The central bundle's revocation list, ``[{"kid": "<16 hex>"} | {"code": "<16 hex>"}, ...]``, as
    (revoked key ids, revoked code ids)."""
    if not isinstance(entries, list):
        raise TrustStoreError("revocations: must be a list")
    kids: list[Any] = []
    codes: list[Any] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or len(entry) != 1 or not ({"kid", "code"} & set(entry)):
            raise TrustStoreError(f'revocations[{index}]: must be {{"kid": hex}} or {{"code": hex}}')
        ((name, value),) = entry.items()
        (kids if name == "kid" else codes).append(value)
    return _hex_ids(kids, "revocations (kid)"), _hex_ids(codes, "revocations (code)")


def from_bundle(trust_part: Any, revocations: Any, current: TrustStore, confirmed_at: datetime) -> TrustStore:
    """What a checkpoint trusts after a central bundle: the bundle's trust store when it carries one (an
    empty object means the centre distributes none, and ``current`` stays), plus the bundle's revocations.

    The bundle's store counts as refreshed at ``confirmed_at``, when the server last said it is current,
    not when it was produced: a list nobody changed for a week is still the whole truth. Raises
    :class:`TrustStoreError` for a part that cannot be used."""
    kids, codes = revocations_from_json(revocations)
    base = replace(TrustStore.from_json(trust_part), refreshed_at=confirmed_at) if trust_part else current
    return replace(base, revoked_kids=base.revoked_kids | kids, revoked_codes=base.revoked_codes | codes)


def pinned_key(public_key: PublicKey, types: Iterable[str], label: str) -> TrustedKey:
    return TrustedKey(key_id(public_key), public_key, frozenset(types), label=label, pinned=True)


def certificate_kid(cert: x509.Certificate) -> bytes:
    """EU DCC key id: the first 8 bytes of the SHA-256 of the DER certificate."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()[:8]


def load_certificate(data: bytes) -> x509.Certificate:
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as err:
        raise TrustStoreError(f"not an X.509 certificate ({err})") from None


def certificate_key(
    cert: x509.Certificate, types: Iterable[str], *, pinned: bool, label: str = ""
) -> TrustedKey:
    public_key = cert.public_key()
    if not isinstance(public_key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise TrustStoreError("certificate key must be RSA, EC or Ed25519")
    return TrustedKey(
        certificate_kid(cert),
        public_key,
        frozenset(types),
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
        label or cert.subject.rfc4514_string(),
        cert,
        pinned,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, where: str) -> bytes:
    try:
        if not isinstance(value, str):
            raise ValueError
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise TrustStoreError(f"{where}: not base64") from None


def _moment(value: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise TrustStoreError(f"{where}: must be an ISO 8601 time with offset")
    return moment


def _hex_ids(values: Any, where: str) -> frozenset[bytes]:
    if not isinstance(values, list):
        raise TrustStoreError(f"{where}: must be a list of hex ids")
    try:
        return frozenset(bytes.fromhex(v) for v in values)
    except (TypeError, ValueError):
        raise TrustStoreError(f"{where}: must be a list of hex ids") from None


def _key_from_json(entry: Any, where: str) -> TrustedKey:
    if not isinstance(entry, dict):
        raise TrustStoreError(f"{where}: must be an object")
    types = entry.get("types")
    if not isinstance(types, list) or not types or not all(t in ALL_KINDS for t in types):
        raise TrustStoreError(f"{where}.types: must list code types from {', '.join(sorted(ALL_KINDS))}")
    label = entry.get("label", "")
    if not isinstance(label, str):
        raise TrustStoreError(f"{where}.label: must be text")
    if "certificate" in entry:
        try:
            cert = x509.load_der_x509_certificate(_unb64(entry["certificate"], f"{where}.certificate"))
        except ValueError as err:
            raise TrustStoreError(f"{where}.certificate: {err}") from None
        key = certificate_key(cert, types, pinned=False, label=label)
    elif "public_key" in entry:
        try:
            public_key = serialization.load_der_public_key(_unb64(entry["public_key"], f"{where}.public_key"))
        except ValueError as err:
            raise TrustStoreError(f"{where}.public_key: {err}") from None
        if not isinstance(
            public_key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
        ):
            raise TrustStoreError(f"{where}.public_key: must be Ed25519, EC or RSA")
        key = TrustedKey(key_id(public_key), public_key, frozenset(types), label=label)
    else:
        raise TrustStoreError(f"{where}: needs a public_key or a certificate")
    not_before = entry.get("not_before")
    not_after = entry.get("not_after")
    key = replace(
        key,
        not_before=_moment(not_before, f"{where}.not_before") if not_before else key.not_before,
        not_after=_moment(not_after, f"{where}.not_after") if not_after else key.not_after,
    )
    if "kid" in entry and entry["kid"] != key.kid.hex():
        raise TrustStoreError(f"{where}.kid: does not match its key (expected {key.kid.hex()})")
    return key

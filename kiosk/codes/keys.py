"""Signing keys: the kiosk's own device key, and issuer keys given as files.

The device key is Ed25519: its 64-byte signature is as small as ES256's, signing is deterministic (no
per-signature random nonce to get wrong) and cryptography verifies it in tens of microseconds. Its 32-byte
seed is kept like the kiosk's other device secrets (owner-only file, created atomically at first start) and
is never printed or logged; only the public key and its id leave this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from kiosk.codes.cose import ALGORITHM_NAMES, PrivateKey, PublicKey, algorithm_for
from kiosk.keystore import load_or_create_secret

DEVICE_KEY_FILE = "code-signing.ed25519"


def key_id(public_key: PublicKey) -> bytes:
    """First 8 bytes of the SHA-256 of the public key (SubjectPublicKeyInfo DER): short, and stable."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:8]


def public_key_der(public_key: PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True, repr=False)
class SigningKey:
    """A private key with its id; ``repr`` shows only the id so that a stray log line cannot leak it."""

    private: PrivateKey
    kid: bytes
    created: datetime | None = None

    @property
    def public(self) -> PublicKey:
        return self.private.public_key()

    @property
    def algorithm(self) -> str:
        return ALGORITHM_NAMES[algorithm_for(self.private)]

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid.hex()}, {self.algorithm})"


def _signing_key(private: PrivateKey, created: datetime | None = None) -> SigningKey:
    return SigningKey(private, key_id(private.public_key()), created)


def load_or_create_device_key(secrets_dir: Path) -> SigningKey:
    path = secrets_dir / DEVICE_KEY_FILE
    seed = load_or_create_secret(path, 32)
    created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return _signing_key(ed25519.Ed25519PrivateKey.from_private_bytes(seed), created)


def load_private_key(path: Path) -> SigningKey:
    """An issuer's key from an unencrypted PKCS#8 PEM or DER file: Ed25519 or ECDSA P-256."""
    data = path.read_bytes()
    loader = (
        serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
    )
    try:
        private = loader(data, password=None)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path.name}: not an unencrypted private key ({err})") from None
    if isinstance(private, ed25519.Ed25519PrivateKey) or (
        isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(private.curve, ec.SECP256R1)
    ):
        return _signing_key(private)
    raise ValueError(f"{path.name}: signing keys must be Ed25519 or ECDSA P-256")

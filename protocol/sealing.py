"""Sealed boxes and device signatures shared by the kiosk and the central server (no Qt, no network).

A sealed box encrypts to the central key alone: an ephemeral X25519 key agreement, HKDF-SHA256 and
ChaCha20-Poly1305. The kiosk that sealed a value cannot open it again, so a stolen kiosk leaks no personal
data that it has already queued. Device signatures are Ed25519 over canonical JSON or raw bytes.
"""

from __future__ import annotations

import base64
import json
import os
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEAL_MAGIC = b"KS1"
_KEY_LEN = 32
_NONCE_LEN = 12
_TAG_LEN = 16
SEAL_OVERHEAD = len(SEAL_MAGIC) + _KEY_LEN + _NONCE_LEN + _TAG_LEN


class SealError(ValueError):
    """A sealed box that is malformed or was not sealed to this key (or was altered)."""


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def canonical_json(value: Any) -> bytes:
    """The one byte form that is signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _box_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    # Binding both public keys into the derivation stops a box being re-targeted to another recipient.
    return HKDF(hashes.SHA256(), _KEY_LEN, salt=ephemeral + recipient, info=b"kiosk-seal-v1").derive(shared)


def seal(recipient_public: bytes, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` so that only the holder of the matching X25519 private key can read it."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    key = _box_key(
        ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public)),
        ephemeral_public,
        recipient_public,
    )
    nonce = os.urandom(_NONCE_LEN)
    return SEAL_MAGIC + ephemeral_public + nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, SEAL_MAGIC)


def check_sealed_shape(box: bytes) -> None:
    """Refuse what cannot be a sealed box, without the private key (what the API can check)."""
    if len(box) < SEAL_OVERHEAD or not box.startswith(SEAL_MAGIC):
        raise SealError("not a sealed box")


@lru_cache(maxsize=4)
def _recipient(private_key: bytes) -> tuple[X25519PrivateKey, bytes]:
    # A server opens every decided submission with its one key: loading it each time cost as much as the
    # exchange itself.
    secret = X25519PrivateKey.from_private_bytes(private_key)
    return secret, secret.public_key().public_bytes_raw()


def open_sealed(private_key: bytes, box: bytes) -> bytes:
    check_sealed_shape(box)
    secret, recipient_public = _recipient(private_key)
    start = len(SEAL_MAGIC)
    ephemeral_public = box[start : start + _KEY_LEN]
    nonce = box[start + _KEY_LEN : start + _KEY_LEN + _NONCE_LEN]
    key = _box_key(
        secret.exchange(X25519PublicKey.from_public_bytes(ephemeral_public)),
        ephemeral_public,
        recipient_public,
    )
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, box[start + _KEY_LEN + _NONCE_LEN :], SEAL_MAGIC)
    except InvalidTag:
        raise SealError("sealed box does not open with this key or was altered") from None


def seal_public_key(private_key: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes_raw()


def signing_public_key(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def sign(seed: bytes, message: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def request_message(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """What a device signs for each API request: a replay needs a fresh nonce, which needs the device key."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(body)
    return "\n".join((method.upper(), path, timestamp, nonce, digest.finalize().hex())).encode("utf-8")

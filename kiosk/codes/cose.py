"""COSE_Sign1 (RFC 9052) for single-signer codes, on cbor2 and cryptography.

Why not a COSE library: pycose 1.1.0 verifies and signs ECDSA with the pure-Python ``ecdsa`` package
(slow, and documented by its authors as not hardened against side channels), ignores the ``crit`` header,
and pulls in an unmaintained certificate stack; cwt pins an older cbor2. A Sign1 message is four CBOR items
and one signature over a fixed ``Sig_structure``, so it is built here and every primitive comes from
cryptography. Parsing is strict because the input is hostile: bounded nesting, no duplicate map keys, no
cbor2 semantic tags (dates, regexes, MIME, bigfloats … are never legitimate in these codes), and any
critical header this module does not process rejects the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from kiosk.codes.errors import Rejected

# Header labels (RFC 9052 §3.1) and algorithm ids (RFC 9053, RFC 8230).
ALG, CRIT, KID = 1, 2, 4
EDDSA, ES256, PS256 = -8, -7, -37
ALGORITHM_NAMES = {EDDSA: "EdDSA", ES256: "ES256", PS256: "PS256"}
# Critical headers a receiver must understand; this module processes only these.
UNDERSTOOD_HEADERS = frozenset({ALG, KID})
TAG_SIGN1, TAG_CWT = 18, 61

MAX_DEPTH = 16
# Tags cbor2 would otherwise turn into Python objects; none of them belongs in a pass code.
_SEMANTIC_TAGS = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261, 1004, 55799)

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def _refuse_tag(decoder: object) -> Any:
    raise ValueError("semantic tag not allowed")


_NO_SEMANTICS = dict.fromkeys(_SEMANTIC_TAGS, _refuse_tag)


def strict_loads(data: bytes) -> Any:
    """Decode one CBOR item from untrusted bytes; any problem raises ``Rejected('code.malformed')``."""
    try:
        return cbor2.loads(
            data,
            semantic_decoders=_NO_SEMANTICS,
            max_depth=MAX_DEPTH,
            allow_duplicate_keys=False,
            allow_indefinite=False,
        )
    except Exception:  # cbor2 raises several types (CBORDecodeError, ValueError, OverflowError, …)
        raise Rejected("code.malformed") from None


@dataclass(frozen=True)
class Sign1:
    protected: Mapping[Any, Any]
    protected_bytes: bytes
    unprotected: Mapping[Any, Any]
    payload: bytes
    signature: bytes

    def algorithm(self, *, allow_unprotected: bool = False) -> int | None:
        """The algorithm id. Taking it unprotected (as some DCC issuers do) cannot downgrade anything:
        ``verify_signature`` accepts exactly one algorithm per key type."""
        value = self.protected.get(ALG)
        if value is None and allow_unprotected:
            value = self.unprotected.get(ALG)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def kid(self, *, allow_unprotected: bool = False) -> bytes | None:
        """The key id: the protected one wins; the unprotected one only where the format allows it (DCC)."""
        value = self.protected.get(KID)
        if value is None and allow_unprotected:
            value = self.unprotected.get(KID)
        return value if isinstance(value, bytes) and value else None

    def to_be_signed(self) -> bytes:
        return sig_structure(self.protected_bytes, self.payload)


def sig_structure(protected_bytes: bytes, payload: bytes) -> bytes:
    """RFC 9052 §4.4 Sig_structure for COSE_Sign1, with empty external data."""
    return cbor2.dumps(["Signature1", protected_bytes, b"", payload])


def decode_sign1(data: bytes) -> Sign1:
    """Parse a COSE_Sign1 message (tag 18, optionally inside a CWT tag 61, or untagged) without verifying."""
    item = strict_loads(data)
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_CWT:
        item = item.value
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_SIGN1:
        item = item.value
    if not (isinstance(item, list | tuple) and len(item) == 4):  # tag contents come back as tuples
        raise Rejected("code.malformed")
    protected_bytes, unprotected, payload, signature = item
    if not (
        isinstance(protected_bytes, bytes)
        and isinstance(unprotected, Mapping)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise Rejected("code.malformed")
    protected = strict_loads(protected_bytes) if protected_bytes else {}
    if not isinstance(protected, Mapping):
        raise Rejected("code.malformed")
    if CRIT in unprotected:  # RFC 9052 §3.1: crit is only meaningful when protected
        raise Rejected("code.critical_header")
    if CRIT in protected:
        crit = protected[CRIT]
        if not isinstance(crit, list | tuple) or not crit or not all(_understood(label) for label in crit):
            raise Rejected("code.critical_header")
    return Sign1(protected, protected_bytes, unprotected, payload, signature)


def _understood(label: object) -> bool:
    return isinstance(label, int) and label in UNDERSTOOD_HEADERS


def algorithm_for(key: PrivateKey) -> int:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return EDDSA
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return ES256
    raise ValueError("signing keys must be Ed25519 or ECDSA P-256")


def sign1(payload: bytes, key: PrivateKey, kid: bytes) -> bytes:
    """A tagged COSE_Sign1 message with alg and kid in the protected header."""
    alg = algorithm_for(key)
    protected_bytes = cbor2.dumps({ALG: alg, KID: kid})
    tbs = sig_structure(protected_bytes, payload)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(tbs)
    else:
        r, s = decode_dss_signature(key.sign(tbs, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # COSE uses r || s, not DER
    return cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, [protected_bytes, {}, payload, signature]))


def verify_signature(message: Sign1, key: PublicKey, *, allow_unprotected: bool = False) -> bool:
    """True when the signature is valid for ``key`` under the message's algorithm.

    The algorithm must fit the key: an attacker must not get a key used with an algorithm it was not made for.
    """
    alg = message.algorithm(allow_unprotected=allow_unprotected)
    signature, tbs = message.signature, message.to_be_signed()
    try:
        if alg == EDDSA and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, tbs)
            return True
        if (
            alg == ES256
            and isinstance(key, ec.EllipticCurvePublicKey)
            and isinstance(key.curve, ec.SECP256R1)
        ):
            if len(signature) != 64:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, tbs, ec.ECDSA(hashes.SHA256()))
            return True
        if alg == PS256 and isinstance(key, rsa.RSAPublicKey):
            # RFC 8230 §2: MGF1 with the same hash, salt as long as the hash.
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            key.verify(signature, tbs, pss, hashes.SHA256())
            return True
    except InvalidSignature:
        return False
    return False

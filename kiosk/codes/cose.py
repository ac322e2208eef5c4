"""COSE_Sign1 (RFC 9052) for single-signer codes, on cbor2 and cryptography.

Why not a COSE library: pycose 1.1.0 verifies and signs ECDSA with the pure-Python ``ecdsa`` package
(slow, and documented by its authors as not hardened against side channels), ignores the ``crit`` header,
and pulls in an unmaintained certificate stack; cwt pins an older cbor2. A Sign1 message is four CBOR items
and one signature over a fixed ``Sig_structure``, so it is built here and every primitive comes from
cryptography.

What the CBOR decoder accepts follows one rule: refuse what is dangerous, accept what is well formed. Every
byte the verdict rests on is signed, and the signature covers the bytes as sent, so how an issuer chose to
encode them (indefinite lengths, non-shortest heads, map order, tags) cannot change what was signed; issuers
do produce all of these. Dangerous, and refused: duplicate map keys (two decoders could read two different
``exp`` claims from one signed payload), nesting deeper than ``MAX_DEPTH`` (stack exhaustion), and any
critical header this module does not process. Tags are kept as inert ``CBORTag`` data and never turned into
Python objects (cbor2 would otherwise build dates, regexes, MIME messages, and cycles from the shared-value
tags 28/29); a tag where a claim needs a plain value makes that claim malformed. The self-describe tag 55799
means nothing and is dropped. Size is bounded before decoding (``envelope``): at most 16 KiB ever gets here.
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
EDDSA, ES256, ES384, PS256 = -8, -7, -35, -37
ALGORITHM_NAMES = {EDDSA: "EdDSA", ES256: "ES256", ES384: "ES384", PS256: "PS256"}
# ECDSA: the hash each label names, and the curves whose keys may verify it (see ``verify_signature``).
_ECDSA_HASHES = {ES256: hashes.SHA256, ES384: hashes.SHA384}
_ECDSA_CURVES = (ec.SECP256R1, ec.SECP384R1)
# Critical headers a receiver must understand; this module processes only these.
UNDERSTOOD_HEADERS = frozenset({ALG, KID})
TAG_SIGN1, TAG_CWT = 18, 61

MAX_DEPTH = 16
# The tags cbor2 6 decodes into Python objects by itself (every other tag already comes back as a CBORTag).
_SEMANTIC_TAGS = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261, 1004)
SELF_DESCRIBE = 55799

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def _inert(tag: int) -> Any:
    return lambda value, immutable: cbor2.CBORTag(tag, value)


_INERT_TAGS: dict[int, Any] = {tag: _inert(tag) for tag in _SEMANTIC_TAGS}
_INERT_TAGS[SELF_DESCRIBE] = lambda value, immutable: value


def strict_loads(data: bytes) -> Any:
    """Decode one CBOR item from untrusted bytes (see the module notes for what passes); any problem raises
    ``Rejected('code.malformed')``."""
    try:
        return cbor2.loads(
            data,
            semantic_decoders=_INERT_TAGS,
            max_depth=MAX_DEPTH,
            allow_duplicate_keys=False,
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
        ``verify_signature`` accepts only the key type's own algorithms, each of them sound."""
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

    The algorithm must fit the key type: an Ed25519 key verifies only EdDSA, an RSA key only PS256, an EC key
    only ECDSA. Within ECDSA the label names the hash and the key names the curve. RFC 9053 §2.1 only
    *suggests* pairing SHA-256 with P-256 and SHA-384 with P-384, and issuers with P-384 keys label their
    signatures ES256 because ES256 is the only ECDSA algorithm the EU DCC specification lists. The Java
    reference verifiers (SHA256withECDSA on any curve) accept those, COSE libraries that enforce the pairing
    refuse them; they are accepted here because every such combination is sound (each is at least as strong
    as ES256 on P-256) and no other key type or hash can be reached through it. The signature must still be
    r || s at the curve's size and made with the labelled hash.
    """
    alg = message.algorithm(allow_unprotected=allow_unprotected)
    signature, tbs = message.signature, message.to_be_signed()
    try:
        if alg == EDDSA and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, tbs)
            return True
        if (
            alg in _ECDSA_HASHES
            and isinstance(key, ec.EllipticCurvePublicKey)
            and isinstance(key.curve, _ECDSA_CURVES)
        ):
            size = (key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            )
            key.verify(der, tbs, ec.ECDSA(_ECDSA_HASHES[alg]()))
            return True
        if alg == PS256 and isinstance(key, rsa.RSAPublicKey):
            # RFC 8230 §2: MGF1 with the same hash, salt as long as the hash.
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            key.verify(signature, tbs, pss, hashes.SHA256())
            return True
    except InvalidSignature:
        return False
    return False

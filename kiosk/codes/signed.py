"""The kiosk's own signed codes: ``KP1:`` + base45(zlib(COSE_Sign1(CBOR claims))).

The construction of the EU Digital COVID Certificate, with a compact claim set (see ``claims``): a typical
vehicle pass is about 200 bytes (294 characters), a version-10 QR code at error correction M.

Verification order matters: nothing from the payload is used before the signature checks out, except the
issue time of a code from an unknown key, which can only choose between red and yellow (see
``policy.unknown_issuer``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kiosk.codes import claims as c
from kiosk.codes.cose import decode_sign1, sign1, strict_loads, verify_signature
from kiosk.codes.envelope import unwrap, wrap
from kiosk.codes.errors import Rejected
from kiosk.codes.keys import SigningKey
from kiosk.codes.policy import TrustPolicy, caution, check_times, numeric_date, unknown_issuer
from kiosk.codes.registry import CodeResult, Verdict
from kiosk.codes.truststore import TrustedKey, TrustStore
from kiosk.i18n import Message

PREFIX = "KP1:"
KIND = "kiosk-code"  # the kind shown until a code's own type is verified


def issue(kind: str, claims: Mapping[str, Any], key: SigningKey, now: datetime) -> str:
    """The code text for ``claims`` of type ``kind``, signed with ``key``; raises ``ClaimsError``."""
    now = now.astimezone()
    parsed = c.parse_claims(kind, claims, now)
    payload: dict[int, Any] = {
        c.TYPE: parsed.code_type.type_id,
        c.VERSION: parsed.code_type.version,
        c.IAT: int(now.timestamp()),
        c.NBF: int(parsed.valid_from.timestamp()),
        c.EXP: int(parsed.valid_until.timestamp()),
        c.CTI: secrets.token_bytes(c.CODE_ID_BYTES),
        c.BODY: parsed.body,
    }
    if parsed.id_number:
        payload[c.SUBJECT] = subject_pseudonym(key, parsed.id_number)
    return wrap(PREFIX, sign1(cbor2.dumps(payload), key.private, key.kid))


def subject_pseudonym(key: SigningKey, id_number: str) -> bytes:
    """A short keyed hash of the ID number: the same person gets the same value from the same signer, and
    nobody without the signing key can test guesses against it (ID numbers are few enough to enumerate)."""
    if isinstance(key.private, ed25519.Ed25519PrivateKey):
        secret = key.private.private_bytes_raw()
    else:
        secret = key.private.private_numbers().private_value.to_bytes(32, "big")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kiosk code subject v1")
    mac_key = hkdf.derive(secret)
    return hmac.new(mac_key, id_number.encode("ascii"), hashlib.sha256).digest()[: c.SUBJECT_BYTES]


def _epoch(payload: Mapping[Any, Any], label: int) -> datetime:
    moment = numeric_date(payload.get(label))
    if moment is None:
        raise Rejected("code.malformed")
    return moment


def _unverified_issue_time(payload: bytes) -> datetime | None:
    try:
        data = strict_loads(payload)
        return _epoch(data, c.IAT) if isinstance(data, Mapping) else None
    except Rejected:
        return None


class KioskCodeFormat:
    """Verifies ``KP1:`` codes against a trust store (which includes the device's own key)."""

    kind = KIND

    def __init__(self, trust: TrustStore, policy: TrustPolicy | None = None) -> None:
        self.trust = trust
        self.policy = policy or TrustPolicy()

    def matches(self, text: str) -> bool:
        return text.startswith(PREFIX)

    def evaluate(self, text: str, now: datetime) -> CodeResult:
        now = now.astimezone()
        try:
            message = decode_sign1(unwrap(text, PREFIX))
            kid = message.kid()
            if kid is None or message.algorithm() is None:
                raise Rejected("code.malformed")
        except Rejected as rejected:
            return CodeResult(KIND, Verdict.RED, rejected.message)
        key = self.trust.lookup(kid)
        if key is None:
            reason = unknown_issuer(self.trust, _unverified_issue_time(message.payload), now, self.policy)
            verdict = Verdict.YELLOW if reason.key == "signed.issuer_not_yet_known" else Verdict.RED
            return CodeResult(KIND, verdict, reason, {"key_id": kid.hex()})
        if not verify_signature(message, key.public_key):
            return CodeResult(KIND, Verdict.RED, Message("signed.bad_signature"))
        # From here on the payload is the genuine issuer's.
        issuer = {"issuer": key.label or kid.hex()}
        if kid in self.trust.revoked_kids:
            return CodeResult(KIND, Verdict.RED, Message("signed.key_revoked"), issuer)
        try:
            return self._evaluate_verified(message.payload, key, issuer, now)
        except Rejected as rejected:
            return CodeResult(KIND, Verdict.RED, rejected.message, issuer)

    def _evaluate_verified(
        self, raw: bytes, key: TrustedKey, issuer: dict[str, str], now: datetime
    ) -> CodeResult:
        payload = strict_loads(raw)
        if not isinstance(payload, Mapping):
            raise Rejected("code.malformed")
        type_id, version, code_id = payload.get(c.TYPE), payload.get(c.VERSION), payload.get(c.CTI)
        if not (
            isinstance(version, int)
            and not isinstance(version, bool)
            and version >= 1
            and isinstance(code_id, bytes)
            and 0 < len(code_id) <= 32
        ):
            raise Rejected("code.malformed")
        code_type = c.TYPES_BY_ID.get(type_id) if isinstance(type_id, int) else None
        if code_type is None:
            # Genuine, but of a type newer than this checkpoint: staff can still read it by hand.
            return CodeResult(KIND, Verdict.YELLOW, Message("signed.unknown_type"), issuer)
        kind = code_type.kind
        try:
            if kind not in key.types:
                raise Rejected("signed.key_wrong_type", kind=kind)
            issued_at = _epoch(payload, c.IAT)
            valid_from, valid_until = _epoch(payload, c.NBF), _epoch(payload, c.EXP)
            if not key.valid_at(issued_at):
                raise Rejected("signed.key_not_valid_then")
            if code_id in self.trust.revoked_codes:
                raise Rejected("signed.code_revoked")
            clock_warning = check_times(issued_at, valid_from, valid_until, now, self.policy)
            body = payload.get(c.BODY)
            shown = c.display_body(code_type, body, now.tzinfo) if isinstance(body, Mapping) else None
            if shown is None:
                raise Rejected("code.malformed")
        except Rejected as rejected:
            return CodeResult(kind, Verdict.RED, rejected.message, issuer)
        claims = {
            **shown,
            "valid_from": c.show_epoch(int(valid_from.timestamp()), now.tzinfo),
            "valid_until": c.show_epoch(int(valid_until.timestamp()), now.tzinfo),
            **issuer,
        }
        verdict, reason = self._verdict(kind, shown, key, valid_until, now, clock_warning)
        return CodeResult(
            kind, verdict, reason, claims, shown.get("name"), _subject(kind, payload, shown, key)
        )

    def _verdict(
        self,
        kind: str,
        shown: dict[str, str],
        key: TrustedKey,
        valid_until: datetime,
        now: datetime,
        clock_warning: Message | None,
    ) -> tuple[Verdict, Message]:
        if kind == "receipt":
            # Genuine, but it proves only that a declaration was submitted, not what was decided about it.
            return Verdict.YELLOW, Message("signed.receipt_only")
        if kind == "health":
            colour = shown["colour"]
            if colour == "red":
                return Verdict.RED, Message("signed.health_red")
            if colour == "yellow":
                return Verdict.YELLOW, Message("signed.health_yellow")
        warning = clock_warning or caution(key, self.trust, valid_until, now, self.policy)
        if warning is not None:
            return Verdict.YELLOW, warning
        return Verdict.GREEN, Message("signed.valid")


def _subject(kind: str, payload: Mapping[Any, Any], shown: dict[str, str], key: TrustedKey) -> str:
    """Who the code is for, for the unique-person count (hashed by the checkpoint before storage)."""
    pseudonym = payload.get(c.SUBJECT)
    if isinstance(pseudonym, bytes) and pseudonym:
        return f"sub:{key.kid.hex()}:{pseudonym.hex()}"
    if kind == "vehicle-pass":
        return f"plate:{shown['plate']}"
    return f"code:{payload[c.CTI].hex()}"

"""EU Digital COVID Certificates (``HC1:`` codes), verified offline against document-signer certificates.

Steps as the EU specification and its public test vectors name them: unprefix, base45, zlib (mandatory),
COSE decode, signature (key looked up by its id: protected header first, unprotected only when the protected
one is absent), key usage (the certificate's extended key usage limits it to tests, vaccinations or
recoveries; no such usage means all three), and expiry (issued-at ≤ clock ≤ expiry; an issue time clearly
after the clock fails the step but, the signature being good, is a yellow "check the kiosk's clock", see
``policy.check_times``). Issuers differ in how they encode the same claims, and all of these pass: times as
integer or floating-point NumericDate, the claims map wrapped once more in a byte string or an embedded-CBOR
tag 24, and any well-formed CBOR (see ``cose``). ``check_dcc`` reports
each step so the test suite can compare them one by one; the format turns the same run into a verdict.
JSON-schema validation of the health certificate itself is out of scope: the checkpoint decides on
authenticity and validity, and shows the content masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import base45
import cbor2
from cryptography import x509

from kiosk.codes.cose import decode_sign1, strict_loads, verify_signature
from kiosk.codes.envelope import MAX_COMPRESSED, inflate
from kiosk.codes.errors import Rejected
from kiosk.codes.policy import TrustPolicy, caution, check_times, numeric_date, unknown_issuer
from kiosk.codes.registry import CodeResult, Verdict
from kiosk.codes.truststore import DCC_KIND, TrustedKey, TrustStore
from kiosk.i18n import Message
from kiosk.masking import mask_name

PREFIX = "HC1:"
ISS, EXP, IAT, HCERT = 1, 4, 6, -260
TAG_EMBEDDED_CBOR = 24
# Extended key usages of DCC signer certificates, per certificate type. The specification's OIDs and the
# variant with an extra ".0" that the first issued certificates (and the test vectors) carry.
_USAGE_ARCS = {"t": "1", "v": "2", "r": "3"}
_USAGE_ROOTS = ("1.3.6.1.4.1.1847.2021.1.", "1.3.6.1.4.1.0.1847.2021.1.")
_ALL_USAGES = frozenset(root + arc for root in _USAGE_ROOTS for arc in _USAGE_ARCS.values())
CERT_TYPES = {"v": "vaccination", "t": "test", "r": "recovery"}
MAX_SHOWN = 64


@dataclass
class DccReport:
    """Which steps passed (``None``: not reached) and the resulting verdict."""

    result: CodeResult
    steps: dict[str, bool | None] = field(default_factory=dict)


def _epoch(payload: Mapping[Any, Any], label: int) -> datetime | None:
    return numeric_date(payload.get(label))


def _claims_map(raw: bytes) -> Mapping[Any, Any] | None:
    """The CWT claims map of a payload. Some issuers wrap the encoded map once more, in a byte string or in
    an embedded-CBOR tag 24; one such layer is taken off, no more."""
    try:
        payload = strict_loads(raw)
        if isinstance(payload, cbor2.CBORTag) and payload.tag == TAG_EMBEDDED_CBOR:
            payload = payload.value
        if isinstance(payload, bytes):
            payload = strict_loads(payload)
    except Rejected:
        return None
    return payload if isinstance(payload, Mapping) else None


def _unverified_issue_time(payload: bytes) -> datetime | None:
    data = _claims_map(payload)
    return None if data is None else _epoch(data, IAT)


class UnreadableUsage(ValueError):
    """A certificate whose extended key usage is present but cannot be read."""


def extended_key_usages(cert: x509.Certificate) -> frozenset[str] | None:
    """The certificate's extended key usage OIDs (dotted), or ``None`` when it has no such extension.

    cryptography refuses to list any extension of a certificate one of whose extensions breaks RFC 5280
    (the EU suite's DSC with an empty usage list is one; so is a certificate whose key usage is malformed).
    Then the usage extension alone is read from the DER: three ASN.1 types on a fixed path, too little to
    add a dependency for. Raises :class:`UnreadableUsage` when the usage extension itself is unreadable.
    """
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        return _usages_from_der(cert.tbs_certificate_bytes)
    return frozenset(oid.dotted_string for oid in usages)


_EKU_OID = bytes([0x55, 0x1D, 0x25])  # 2.5.29.37 as DER contents
_SEQUENCE, _OID, _OCTETS, _EXTENSIONS = 0x30, 0x06, 0x04, 0xA3


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, contents) of the DER items laid end to end in ``data``; ``UnreadableUsage`` if malformed."""
    items, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data) or data[pos] & 0x1F == 0x1F:  # no high tag numbers on this path
            raise UnreadableUsage("truncated or unexpected DER item")
        tag, length = data[pos], data[pos + 1]
        pos += 2
        if length & 0x80:
            width = length & 0x7F
            if not 1 <= width <= 4 or pos + width > len(data):
                raise UnreadableUsage("bad DER length")
            length = int.from_bytes(data[pos : pos + width], "big")
            pos += width
        if pos + length > len(data):
            raise UnreadableUsage("DER item longer than its container")
        items.append((tag, data[pos : pos + length]))
        pos += length
    return items


def _only(items: list[tuple[int, bytes]], tag: int) -> bytes:
    if len(items) != 1 or items[0][0] != tag:
        raise UnreadableUsage("unexpected DER structure")
    return items[0][1]


def _dotted(oid: bytes) -> str:
    arcs, value = [], 0
    for byte in oid:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs or oid[-1] & 0x80:
        raise UnreadableUsage("bad OID")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def _usages_from_der(tbs: bytes) -> frozenset[str] | None:
    """TBSCertificate → extensions [3] → the Extension whose id is 2.5.29.37 → its OIDs (RFC 5280 §4.1)."""
    fields = _der_items(_only(_der_items(tbs), _SEQUENCE))
    extensions = [contents for tag, contents in fields if tag == _EXTENSIONS]
    if not extensions:
        return None
    for tag, extension in _der_items(_only(_der_items(extensions[0]), _SEQUENCE)):
        parts = _der_items(extension)
        if tag != _SEQUENCE or not parts or parts[0] != (_OID, _EKU_OID):
            continue
        value = [contents for part_tag, contents in parts[1:] if part_tag == _OCTETS]
        if len(value) != 1:
            raise UnreadableUsage("extension without a value")
        oids = _der_items(_only(_der_items(value[0]), _SEQUENCE))
        if any(part_tag != _OID for part_tag, _ in oids):
            raise UnreadableUsage("usage that is not an OID")
        return frozenset(_dotted(oid) for _, oid in oids)
    return None


def key_usage_allows(key: TrustedKey, cert_type: str) -> bool:
    """Whether the key may sign certificates of ``cert_type``. A usage list that names no DCC usage limits
    nothing (EU DCC technical specification, volume 1); one that cannot be read limits everything."""
    if DCC_KIND not in key.types:
        return False
    if key.certificate is None:
        return True
    try:
        dotted = extended_key_usages(key.certificate)
    except UnreadableUsage:
        return False
    if dotted is None or not dotted & _ALL_USAGES:
        return True
    return any(root + _USAGE_ARCS[cert_type] in dotted for root in _USAGE_ROOTS)


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value[:MAX_SHOWN] if isinstance(value, str) else ""


def _claims(hcert: Mapping[Any, Any], cert_type: str, entry: Mapping[Any, Any]) -> dict[str, str]:
    names = _mapping(hcert.get("nam"))
    shown = {
        "name": " ".join(mask_name(_text(names.get(k))) for k in ("gn", "fn") if _text(names.get(k))),
        "birth_year": _text(hcert.get("dob"))[:4],
        "certificate": CERT_TYPES[cert_type],
        "country": _text(entry.get("co")),
    }
    if cert_type == "v" and isinstance(entry.get("dn"), int) and isinstance(entry.get("sd"), int):
        shown["dose"] = f"{entry['dn']}/{entry['sd']}"
    return {k: v for k, v in shown.items() if v}


def check_dcc(text: str, trust: TrustStore, now: datetime, policy: TrustPolicy | None = None) -> DccReport:
    policy = policy or TrustPolicy()
    now = now.astimezone()
    steps: dict[str, bool | None] = dict.fromkeys(
        ("unprefix", "b45decode", "compression", "decode", "verify", "key_usage", "expiration")
    )

    def red(reason: Message, claims: dict[str, str] | None = None) -> DccReport:
        return DccReport(CodeResult(DCC_KIND, Verdict.RED, reason, claims or {}), steps)

    steps["unprefix"] = text.startswith(PREFIX)
    if not steps["unprefix"]:
        return red(Message("code.bad_prefix"))
    try:
        compressed = base45.b45decode(text[len(PREFIX) :])
    except (ValueError, TypeError, UnicodeError):
        steps["b45decode"] = False
        return red(Message("code.bad_encoding"))
    steps["b45decode"] = True
    try:
        if len(compressed) > MAX_COMPRESSED:
            raise Rejected("code.too_large")
        cose = inflate(compressed)
    except Rejected as rejected:
        steps["compression"] = False
        return red(rejected.message)
    steps["compression"] = True
    try:
        message = decode_sign1(cose)
        if message.algorithm(allow_unprotected=True) is None:
            raise Rejected("code.malformed")
    except Rejected as rejected:
        steps["decode"] = False
        return red(rejected.message)
    kid = message.kid(allow_unprotected=True)
    key = trust.lookup(kid)
    if key is None:
        steps["verify"] = False
        reason = unknown_issuer(trust, _unverified_issue_time(message.payload), now, policy)
        verdict = Verdict.YELLOW if reason.key == "signed.issuer_not_yet_known" else Verdict.RED
        return DccReport(CodeResult(DCC_KIND, verdict, reason, {"key_id": kid.hex() if kid else ""}), steps)
    steps["verify"] = verify_signature(message, key.public_key, allow_unprotected=True)
    if not steps["verify"]:
        return red(Message("signed.bad_signature"))
    # From here on the payload is the signer's.
    issuer = {"issuer": key.label[:MAX_SHOWN] or key.kid.hex()}
    if key.kid in trust.revoked_kids:
        return red(Message("signed.key_revoked"), issuer)
    content = _content(message.payload)
    steps["decode"] = content is not None
    if content is None:
        return red(Message("code.malformed"), issuer)
    hcert, cert_type, issued_at, valid_until = content
    entry = hcert[cert_type][0] if isinstance(hcert[cert_type][0], Mapping) else {}
    claims = {**_claims(hcert, cert_type, entry), **issuer}
    steps["key_usage"] = key_usage_allows(key, cert_type)
    try:
        # A DCC has no separate start of validity: its issue time is checked by the clock rule alone.
        clock_warning = check_times(issued_at, None, valid_until, now, policy)
        expiry_problem = None
    except Rejected as rejected:
        clock_warning, expiry_problem = None, rejected.message
    steps["expiration"] = expiry_problem is None and clock_warning is None
    if not steps["key_usage"]:
        return red(Message("signed.key_wrong_type", {"kind": CERT_TYPES[cert_type]}), claims)
    if expiry_problem is not None:
        return red(expiry_problem, claims)
    if not key.valid_at(issued_at):
        return red(Message("signed.key_not_valid_then"), claims)
    names = _mapping(hcert.get("nam"))
    subject = "dcc:" + "|".join(_text(v) for v in (names.get("fnt"), names.get("gnt"), hcert.get("dob")))
    warning = clock_warning or caution(key, trust, valid_until, now, policy)
    verdict, reason = (Verdict.YELLOW, warning) if warning else (Verdict.GREEN, Message("dcc.valid"))
    return DccReport(CodeResult(DCC_KIND, verdict, reason, claims, claims.get("name"), subject), steps)


def _content(raw: bytes) -> tuple[Mapping[Any, Any], str, datetime, datetime] | None:
    """The verified payload's health certificate, its one type (v, t or r), issue and expiry times."""
    payload = _claims_map(raw)
    if payload is None:
        return None
    hcert = payload.get(HCERT)
    hcert = hcert.get(1) if isinstance(hcert, Mapping) else None
    if not isinstance(hcert, Mapping):
        return None
    types = [t for t in CERT_TYPES if isinstance(hcert.get(t), list | tuple) and hcert[t]]
    issued_at, valid_until = _epoch(payload, IAT), _epoch(payload, EXP)
    if len(types) != 1 or issued_at is None or valid_until is None:
        return None
    return hcert, types[0], issued_at, valid_until


# The EU test-vector suite's expected-result keys and the steps of ``check_dcc`` they test. Schema validation
# and picture decoding are not steps of this verifier.
EXPECTED_STEPS = {
    "EXPECTEDUNPREFIX": "unprefix",
    "EXPECTEDB45DECODE": "b45decode",
    "EXPECTEDCOMPRESSION": "compression",
    "EXPECTEDDECODE": "decode",
    "EXPECTEDVERIFY": "verify",
    "EXPECTEDKEYUSAGE": "key_usage",
    "EXPECTEDEXPIRATIONCHECK": "expiration",
}


def disagreements(report: DccReport, expected: Mapping[str, bool]) -> tuple[int, list[str]]:
    """How many expected step results were compared, and the ones the report contradicts.

    An expected ``false`` is met when the step failed or the code was already rejected at an earlier step
    (the step did not pass); an expected ``true`` needs the step to have run and passed.
    """
    compared, wrong = 0, []
    for key, step in EXPECTED_STEPS.items():
        if key in expected:
            compared += 1
            got = report.steps[step]
            if (got is True) != expected[key]:
                wrong.append(f"{step}: expected {expected[key]}, got {got} ({report.result.reason.key})")
    return compared, wrong


class DccFormat:
    kind = DCC_KIND

    def __init__(self, trust: TrustStore, policy: TrustPolicy | None = None) -> None:
        self.trust = trust
        self.policy = policy or TrustPolicy()

    def matches(self, text: str) -> bool:
        return text.startswith(PREFIX)

    def evaluate(self, text: str, now: datetime) -> CodeResult:
        return check_dcc(text, self.trust, now, self.policy).result

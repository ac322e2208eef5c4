"""EU Digital COVID Certificates (``HC1:`` codes), verified offline against document-signer certificates.

Steps as the EU specification and its public test vectors name them: unprefix, base45, zlib (mandatory),
COSE decode, signature (key looked up by its id: protected header first, unprotected only when the protected
one is absent), key usage (the certificate's extended key usage limits it to tests, vaccinations or
recoveries; no such usage means all three), and expiry (issued-at ≤ clock ≤ expiry). ``check_dcc`` reports
each step so the test suite can compare them one by one; the format turns the same run into a verdict.
JSON-schema validation of the health certificate itself is out of scope: the checkpoint decides on
authenticity and validity, and shows the content masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import base45
from cryptography import x509

from kiosk.codes.cose import decode_sign1, strict_loads, verify_signature
from kiosk.codes.envelope import MAX_COMPRESSED, inflate
from kiosk.codes.errors import Rejected
from kiosk.codes.policy import TrustPolicy, caution, check_times, unknown_issuer
from kiosk.codes.registry import CodeResult, Verdict
from kiosk.codes.truststore import DCC_KIND, TrustedKey, TrustStore
from kiosk.i18n import Message
from kiosk.masking import mask_name

PREFIX = "HC1:"
ISS, EXP, IAT, HCERT = 1, 4, 6, -260
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
    value = payload.get(label)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 2**40:
        return datetime.fromtimestamp(int(value), UTC)
    return None


def _unverified_issue_time(payload: bytes) -> datetime | None:
    try:
        data = strict_loads(payload)
    except Rejected:
        return None
    return _epoch(data, IAT) if isinstance(data, Mapping) else None


def key_usage_allows(key: TrustedKey, cert_type: str) -> bool:
    if DCC_KIND not in key.types:
        return False
    if key.certificate is None:
        return True
    try:
        usages = key.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    except ValueError:
        # An extension cryptography cannot parse (the test suite's "no OID present" certificate has an
        # empty usage list, which RFC 5280 forbids) names no DCC usage, and no DCC usage means all three.
        # The certificate itself is vetted: it is in the trust list.
        return True
    dotted = {oid.dotted_string for oid in usages}
    if not dotted & _ALL_USAGES:
        return True
    return any(root + _USAGE_ARCS[cert_type] in dotted for root in _USAGE_ROOTS)


def _text(value: Any) -> str:
    return value[:MAX_SHOWN] if isinstance(value, str) else ""


def _claims(hcert: Mapping[Any, Any], cert_type: str, entry: Mapping[Any, Any]) -> dict[str, str]:
    names = hcert.get("nam") if isinstance(hcert.get("nam"), Mapping) else {}
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
        check_times(issued_at, issued_at, valid_until, now, policy)
        expiry_problem = None
    except Rejected as rejected:
        expiry_problem = rejected.message
    steps["expiration"] = expiry_problem is None
    if not steps["key_usage"]:
        return red(Message("signed.key_wrong_type", {"kind": CERT_TYPES[cert_type]}), claims)
    if expiry_problem is not None:
        return red(expiry_problem, claims)
    if not key.valid_at(issued_at):
        return red(Message("signed.key_not_valid_then"), claims)
    names = hcert.get("nam") if isinstance(hcert.get("nam"), Mapping) else {}
    subject = "dcc:" + "|".join(_text(v) for v in (names.get("fnt"), names.get("gnt"), hcert.get("dob")))
    warning = caution(key, trust, valid_until, now, policy)
    verdict, reason = (Verdict.YELLOW, warning) if warning else (Verdict.GREEN, Message("dcc.valid"))
    return DccReport(CodeResult(DCC_KIND, verdict, reason, claims, claims.get("name"), subject), steps)


def _content(raw: bytes) -> tuple[Mapping[Any, Any], str, datetime, datetime] | None:
    """The verified payload's health certificate, its one type (v, t or r), issue and expiry times."""
    try:
        payload = strict_loads(raw)
    except Rejected:
        return None
    if not isinstance(payload, Mapping):
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

"""Self-built EU DCC test vectors of the kinds other issuers produce, in the EU test-vector suite's shape.

The public suite beside the repository (NL and common folders) was seen while the verifier was written; these
vectors are the part it was not tuned on. They cover what real issuers emit that is legal (floating-point
NumericDate, CBOR a strict decoder refuses although it is well formed, P-384 keys, byte-string-wrapped
payloads, extended key usages), what is dangerous and must be refused (duplicate map keys, excessive depth or
size, unknown critical headers, compression bombs, key usages that do not cover the certificate type), and the
clock-skew rule. Each vector is built here with cbor2 and cryptography; CBOR that cbor2 would never emit
(non-shortest heads, indefinite lengths) is written byte by byte.

Every vector states the step results the EU suite names (``EXPECTED*``) and the verdict it must get
(``EXPECTEDVERDICT``, not an EU key). ``build_vectors()`` makes fresh keys on every call.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

CLOCK = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
ISSUED = CLOCK - timedelta(days=3)
EXPIRES = CLOCK + timedelta(days=180)
ES256, ES384, PS256 = -7, -35, -37
USAGE = {"t": "1.3.6.1.4.1.1847.2021.1.1", "v": "1.3.6.1.4.1.1847.2021.1.2", "r": "1.3.6.1.4.1.1847.2021.1.3"}
USAGE_ALT = {k: v.replace("1.4.1.1847", "1.4.1.0.1847") for k, v in USAGE.items()}

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass
class Vector:
    name: str
    group: str  # "legal" (must be accepted), "dangerous" (must be refused), "clock" (the skew rule)
    description: str
    text: str
    certificate: bytes
    expected: dict[str, bool]
    verdict: str  # green, yellow or red
    reason: str | None = None  # the reason key, where the vector pins it
    clock: datetime = CLOCK

    def to_json(self) -> dict[str, Any]:
        """The EU suite's file layout, so the same comparison runs on both."""
        return {
            "PREFIX": self.text,
            "TESTCTX": {
                "CERTIFICATE": base64.b64encode(self.certificate).decode("ascii"),
                "VALIDATIONCLOCK": self.clock.isoformat().replace("+00:00", "Z"),
                "DESCRIPTION": f"{self.group.upper()}: {self.description}",
            },
            "EXPECTEDRESULTS": {**self.expected, "EXPECTEDVERDICT": self.verdict},
        }


# --- CBOR written by hand: what cbor2 never emits ---------------------------------------------------------


def head(major: int, value: int, width: int | None = None) -> bytes:
    """A CBOR initial byte and argument; ``width`` forces 1, 2, 4 or 8 argument bytes (non-shortest)."""
    if width is None:
        width = 0 if value < 24 else 1 if value < 2**8 else 2 if value < 2**16 else 4 if value < 2**32 else 8
    if width == 0:
        return bytes([major << 5 | value])
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([major << 5 | info]) + value.to_bytes(width, "big")


def uint(value: int, width: int | None = None) -> bytes:
    return head(0, value, width) if value >= 0 else head(1, -1 - value, width)


def text(value: str, width: int | None = None) -> bytes:
    data = value.encode("utf-8")
    return head(3, len(data), width) + data


def chunked_text(value: str) -> bytes:
    """An indefinite-length text string in chunks of up to four characters."""
    chunks = [value[i : i + 4] for i in range(0, len(value), 4)] or [""]
    return b"\x7f" + b"".join(text(c) for c in chunks) + b"\xff"


def chunked_bytes(value: bytes) -> bytes:
    chunks = [value[i : i + 8] for i in range(0, len(value), 8)] or [b""]
    return b"\x5f" + b"".join(head(2, len(c)) + c for c in chunks) + b"\xff"


def indefinite_map(items: list[tuple[bytes, bytes]]) -> bytes:
    return b"\xbf" + b"".join(k + v for k, v in items) + b"\xff"


def indefinite_array(items: list[bytes]) -> bytes:
    return b"\x9f" + b"".join(items) + b"\xff"


def wide_map(items: list[tuple[bytes, bytes]]) -> bytes:
    return head(5, len(items), 8) + b"".join(k + v for k, v in items)


def float32(value: float) -> bytes:
    return b"\xfa" + struct.pack(">f", value)


def dumps(value: Any) -> bytes:
    return cbor2.dumps(value)


# --- certificates and signatures ---------------------------------------------------------------------------


def certificate(
    key: PrivateKey,
    usages: list[str] | None = None,
    *,
    raw_extensions: list[x509.UnrecognizedExtension] | None = None,
    other_usages: list[x509.ObjectIdentifier] | None = None,
    valid_from: datetime = CLOCK - timedelta(days=365),
) -> x509.Certificate:
    """A self-signed document-signer certificate; ``raw_extensions`` go in as given (possibly malformed)."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
            x509.NameAttribute(NameOID.COMMON_NAME, "DSC vector"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_from + timedelta(days=730))
    )
    oids = [x509.ObjectIdentifier(u) for u in usages or []] + (other_usages or [])
    if oids:
        builder = builder.add_extension(x509.ExtendedKeyUsage(oids), critical=False)
    for extension in raw_extensions or []:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(key, hashes.SHA256())


def kid_of(cert: x509.Certificate) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(cert.public_bytes(serialization.Encoding.DER))
    return digest.finalize()[:8]


def signature(key: PrivateKey, tbs: bytes, digest: hashes.HashAlgorithm | None = None) -> bytes:
    """COSE signature bytes: r || s for ECDSA (each as long as the curve's order), PSS for RSA."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(tbs, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    size = (key.curve.key_size + 7) // 8
    r, s = decode_dss_signature(key.sign(tbs, ec.ECDSA(digest or hashes.SHA256())))
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def hc1(cose: bytes, compress: Callable[[bytes], bytes] | None = None) -> str:
    return "HC1:" + base45.b45encode((compress or (lambda b: zlib.compress(b, 9)))(cose)).decode("ascii")


@dataclass
class Signer:
    key: PrivateKey
    cert: x509.Certificate
    alg: int = ES256
    digest: hashes.HashAlgorithm | None = None

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def kid(self) -> bytes:
        return kid_of(self.cert)

    def protected(self) -> bytes:
        return dumps({1: self.alg, 4: self.kid})

    def sign1(
        self,
        payload: bytes,
        *,
        protected: bytes | None = None,
        unprotected: bytes = b"\xa0",
        frame: Callable[[bytes, bytes, bytes, bytes], bytes] | None = None,
    ) -> bytes:
        """A tagged COSE_Sign1 whose items are given as encoded CBOR (so they can be non-canonical)."""
        protected = self.protected() if protected is None else protected
        sig = signature(self.key, sig_structure(protected, payload), self.digest)
        if frame is not None:
            return frame(protected, unprotected, payload, sig)
        return b"\xd2\x84" + dumps(protected) + unprotected + dumps(payload) + dumps(sig)


# --- payloads ----------------------------------------------------------------------------------------------


def hcert(kind: str = "v") -> dict[str, Any]:
    entry = {
        "v": {"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215", "dn": 2,
              "sd": 2, "dt": "2026-05-01", "co": "XX", "is": "Ministry of Health", "ci": "URN:UVCI:01:XX:V1"},
        "t": {"tg": "840539006", "tt": "LP6464-4", "sc": "2026-11-24T08:00:00Z", "tr": "260415000",
              "tc": "Test centre", "co": "XX", "is": "Ministry of Health", "ci": "URN:UVCI:01:XX:T1"},
        "r": {"tg": "840539006", "fr": "2026-10-01", "co": "XX", "is": "Ministry of Health",
              "df": "2026-10-12", "du": "2027-03-30", "ci": "URN:UVCI:01:XX:R1"},
    }[kind]  # fmt: skip
    return {
        "ver": "1.3.0",
        "nam": {"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gn": "Erika", "gnt": "ERIKA"},
        "dob": "1964-08-12",
        kind: [entry],
    }


def payload(kind: str = "v", iat: Any = None, exp: Any = None) -> dict[Any, Any]:
    return {
        1: "XX",
        6: int(ISSUED.timestamp()) if iat is None else iat,
        4: int(EXPIRES.timestamp()) if exp is None else exp,
        -260: {1: hcert(kind)},
    }


def encode_plain(value: Any, *, ints: int | None = None, lengths: int | None = None) -> bytes:
    """``value`` as CBOR with integer heads ``ints`` bytes wide and length heads ``lengths`` wide."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return dumps(value)
    if isinstance(value, int):
        return uint(value, ints)
    if isinstance(value, str):
        return text(value, lengths)
    if isinstance(value, bytes):
        return head(2, len(value), lengths) + value
    if isinstance(value, list):
        return head(4, len(value), lengths) + b"".join(
            encode_plain(v, ints=ints, lengths=lengths) for v in value
        )
    if isinstance(value, dict):
        return head(5, len(value), lengths) + b"".join(
            encode_plain(k, ints=ints, lengths=lengths) + encode_plain(v, ints=ints, lengths=lengths)
            for k, v in value.items()
        )
    raise TypeError(type(value))


def encode_indefinite(value: Any) -> bytes:
    """``value`` with every container and string in indefinite-length form."""
    if isinstance(value, str):
        return chunked_text(value)
    if isinstance(value, bytes):
        return chunked_bytes(value)
    if isinstance(value, list):
        return indefinite_array([encode_indefinite(v) for v in value])
    if isinstance(value, dict):
        return indefinite_map([(encode_indefinite(k), encode_indefinite(v)) for k, v in value.items()])
    return dumps(value)


# --- the vectors -------------------------------------------------------------------------------------------

OK = {
    "EXPECTEDUNPREFIX": True,
    "EXPECTEDB45DECODE": True,
    "EXPECTEDCOMPRESSION": True,
    "EXPECTEDDECODE": True,
    "EXPECTEDVERIFY": True,
    "EXPECTEDKEYUSAGE": True,
    "EXPECTEDEXPIRATIONCHECK": True,
}


@dataclass
class _Builder:
    p256: Signer
    vectors: list[Vector] = field(default_factory=list)

    def add(
        self,
        name: str,
        group: str,
        description: str,
        text: str,
        verdict: str,
        expected: dict[str, bool] | None = None,
        *,
        signer: Signer | None = None,
        reason: str | None = None,
        clock: datetime = CLOCK,
    ) -> None:
        der = (signer or self.p256).der
        self.vectors.append(
            Vector(name, group, description, text, der, expected or OK, verdict, reason, clock)
        )


def _legal(b: _Builder) -> None:
    s = b.p256
    t_iat, t_exp = ISSUED.timestamp() + 0.25, EXPIRES.timestamp() + 0.5  # cbor2 writes floats as float64
    b.add(
        "float64-times",
        "legal",
        "iat and exp as float64 NumericDate (RFC 8392 §2)",
        hc1(s.sign1(dumps(payload(iat=t_iat, exp=t_exp)))),
        "green",
    )
    as_float32 = head(5, 4) + b"".join(
        [
            uint(1),
            text("XX"),
            uint(6),
            float32(ISSUED.timestamp()),
            uint(4),
            float32(EXPIRES.timestamp()),
            uint(-260),
            dumps({1: hcert()}),
        ]
    )
    b.add("float32-times", "legal", "iat and exp as float32 NumericDate", hc1(s.sign1(as_float32)), "green")
    b.add(
        "float-exp-int-iat",
        "legal",
        "integer iat, fractional float exp",
        hc1(s.sign1(dumps(payload(exp=t_exp)))),
        "green",
    )
    body = payload()
    b.add(
        "indefinite-payload",
        "legal",
        "payload maps, arrays and strings all of indefinite length",
        hc1(s.sign1(encode_indefinite(body))),
        "green",
    )

    def indefinite_frame(protected: bytes, unprotected: bytes, pl: bytes, sig: bytes) -> bytes:
        return b"\xd2" + indefinite_array(
            [chunked_bytes(protected), b"\xbf\xff", chunked_bytes(pl), chunked_bytes(sig)]
        )

    b.add(
        "indefinite-cose",
        "legal",
        "COSE_Sign1 array, headers and byte strings of indefinite length",
        hc1(s.sign1(dumps(body), frame=indefinite_frame)),
        "green",
    )
    b.add(
        "wide-integers",
        "legal",
        "every integer as an 8-byte argument (non-shortest)",
        hc1(s.sign1(encode_plain(body, ints=8))),
        "green",
    )
    b.add(
        "wide-lengths",
        "legal",
        "every string, array and map length as a 4-byte argument",
        hc1(s.sign1(encode_plain(body, lengths=4))),
        "green",
    )
    wide_protected = wide_map([(uint(1, 2), uint(ES256, 4)), (uint(4, 1), head(2, 8, 8) + s.kid)])

    def wide_frame(protected: bytes, unprotected: bytes, pl: bytes, sig: bytes) -> bytes:
        return (
            b"\xd8\x12"
            + head(4, 4, 8)
            + head(2, len(protected), 4)
            + protected
            + wide_map([])
            + head(2, len(pl), 8)
            + pl
            + head(2, len(sig), 2)
            + sig
        )

    b.add(
        "wide-cose",
        "legal",
        "non-shortest heads in the COSE structure and the protected header",
        hc1(s.sign1(dumps(body), protected=wide_protected, frame=wide_frame)),
        "green",
    )
    reordered = {-260: {1: dict(reversed(list(hcert().items())))}, 4: body[4], 1: "XX", 6: body[6]}
    b.add(
        "unordered-maps", "legal", "map keys in non-canonical order", hc1(s.sign1(dumps(reordered))), "green"
    )
    tagged = hcert("t")
    tagged["dob"] = cbor2.CBORTag(1004, "1964-08-12")
    tagged["t"][0]["sc"] = cbor2.CBORTag(0, "2026-11-24T08:00:00Z")
    tagged["t"][0]["tc"] = cbor2.CBORTag(40000, "Test centre")
    b.add(
        "tagged-values",
        "legal",
        "tags 1004 (full-date), 0 (date-time) and an unknown tag in the hcert",
        hc1(s.sign1(dumps({1: "XX", 6: body[6], 4: body[4], -260: {1: tagged}}))),
        "green",
    )
    b.add(
        "self-described",
        "legal",
        "the whole message inside the self-describe tag 55799",
        hc1(b"\xd9\xd9\xf7" + s.sign1(dumps(body))),
        "green",
    )
    b.add(
        "cwt-tag",
        "legal",
        "COSE_Sign1 inside the CWT tag 61",
        hc1(b"\xd8\x3d" + s.sign1(dumps(body))),
        "green",
    )

    def untagged(protected: bytes, unprotected: bytes, pl: bytes, sig: bytes) -> bytes:
        return b"\x84" + dumps(protected) + unprotected + dumps(pl) + dumps(sig)

    b.add(
        "untagged",
        "legal",
        "COSE_Sign1 without its tag 18",
        hc1(s.sign1(dumps(body), frame=untagged)),
        "green",
    )
    b.add(
        "bstr-payload",
        "legal",
        "the CWT claims map wrapped once more in a byte string",
        hc1(s.sign1(dumps(dumps(body)))),
        "green",
    )
    b.add(
        "tag24-payload",
        "legal",
        "the CWT claims map as an embedded CBOR item (tag 24)",
        hc1(s.sign1(dumps(cbor2.CBORTag(24, dumps(body))))),
        "green",
    )
    b.add(
        "unprotected-kid",
        "legal",
        "alg protected, kid only in the unprotected header",
        hc1(s.sign1(dumps(body), protected=dumps({1: ES256}), unprotected=dumps({4: s.kid}))),
        "green",
    )
    b.add("recovery", "legal", "a recovery certificate", hc1(s.sign1(dumps(payload("r")))), "green")
    b.add(
        "long-names",
        "legal",
        "80-character names and transliterations (the schema's maximum)",
        hc1(
            s.sign1(
                dumps(
                    {
                        **body,
                        -260: {
                            1: {
                                **hcert(),
                                "nam": {"fn": "Ö" * 80, "fnt": "O" * 80, "gn": "É" * 80, "gnt": "E" * 80},
                            }
                        },
                    }
                )
            )
        ),
        "green",
    )

    p384 = ec.generate_private_key(ec.SECP384R1())
    es256_384 = Signer(p384, certificate(p384), ES256, hashes.SHA256())
    b.add(
        "p384-es256",
        "legal",
        "P-384 key, signature made with SHA-256 and labelled ES256 (96 bytes)",
        hc1(es256_384.sign1(dumps(body))),
        "green",
        signer=es256_384,
    )
    es384 = Signer(p384, es256_384.cert, ES384, hashes.SHA384())
    b.add("p384-es384", "legal", "P-384 key, ES384", hc1(es384.sign1(dumps(body))), "green", signer=es384)
    p256_es384 = Signer(s.key, s.cert, ES384, hashes.SHA384())
    b.add(
        "p256-es384",
        "legal",
        "P-256 key, ECDSA with SHA-384 labelled ES384",
        hc1(p256_es384.sign1(dumps(body))),
        "green",
        signer=p256_es384,
    )
    rsa_key = rsa.generate_private_key(65537, 3072)
    ps256 = Signer(rsa_key, certificate(rsa_key), PS256)
    b.add(
        "rsa3072-ps256", "legal", "RSA-3072 key, PS256", hc1(ps256.sign1(dumps(body))), "green", signer=ps256
    )

    key = ec.generate_private_key(ec.SECP256R1())
    for name, usages, kind, description in [
        ("eku-vt-v", [USAGE["v"], USAGE["t"]], "v", "usages vaccination and test, a vaccination"),
        ("eku-alt-r", [USAGE_ALT["r"]], "r", "the .0. variant of the recovery usage, a recovery"),
        ("eku-other-only", None, "t", "only non-DCC usages (serverAuth): all types allowed, a test"),
    ]:
        others = [ExtendedKeyUsageOID.SERVER_AUTH] if usages is None else None
        signer = Signer(key, certificate(key, usages, other_usages=others))
        b.add(name, "legal", description, hc1(signer.sign1(dumps(payload(kind)))), "green", signer=signer)
    empty = Signer(
        key,
        certificate(
            key, raw_extensions=[x509.UnrecognizedExtension(ExtensionOID.EXTENDED_KEY_USAGE, b"\x30\x00")]
        ),
    )
    b.add(
        "eku-empty",
        "legal",
        "an empty usage list (out of RFC 5280, as in the EU suite): all types",
        hc1(empty.sign1(dumps(payload("t")))),
        "green",
        signer=empty,
    )


def _dangerous(b: _Builder) -> None:
    s = b.p256
    body = payload()
    verified_bad = {"EXPECTEDVERIFY": True, "EXPECTEDDECODE": False}
    # Two exp claims: a decoder keeping the last one would extend the code's life.
    items = [
        (uint(1), text("XX")),
        (uint(6), uint(body[6])),
        (uint(4), uint(int(CLOCK.timestamp()) - 60)),
        (uint(-260), dumps({1: hcert()})),
        (uint(4), uint(body[4])),
    ]
    two_exp = head(5, len(items)) + b"".join(k + v for k, v in items)
    b.add(
        "duplicate-exp",
        "dangerous",
        "two exp claims (an expired one, then a later one)",
        hc1(s.sign1(two_exp)),
        "red",
        verified_bad,
        reason="code.malformed",
    )
    nested = dumps({**body, -260: {1: hcert()}})
    dup_hcert = nested.replace(
        dumps("dob") + dumps("1964-08-12"),
        dumps("dob") + dumps("1964-08-12") + dumps("dob") + dumps("2004-08-12"),
    ).replace(b"\xa4\x63ver", b"\xa5\x63ver")
    b.add(
        "duplicate-hcert-key",
        "dangerous",
        "a duplicate key inside the health certificate",
        hc1(s.sign1(dup_hcert)),
        "red",
        verified_bad,
        reason="code.malformed",
    )
    dup_protected = b"\xa3" + dumps(1) + dumps(ES256) + dumps(4) + dumps(b"\0" * 8) + dumps(4) + dumps(s.kid)
    b.add(
        "duplicate-protected",
        "dangerous",
        "the kid twice in the protected header",
        hc1(s.sign1(dumps(body), protected=dup_protected)),
        "red",
        {"EXPECTEDDECODE": False},
        reason="code.malformed",
    )
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    b.add(
        "deep-nesting",
        "dangerous",
        "arrays nested 40 deep in the health certificate",
        hc1(s.sign1(dumps({**body, -260: {1: {**hcert(), "xx": deep}}}))),
        "red",
        verified_bad,
        reason="code.malformed",
    )
    deep_cose = b"\xd2\x84" + b"\x81" * 40 + b"\x00"
    b.add(
        "deep-cose",
        "dangerous",
        "nesting 40 deep in the COSE structure itself",
        hc1(deep_cose),
        "red",
        {"EXPECTEDDECODE": False},
        reason="code.malformed",
    )
    big = dumps({**body, -260: {1: {**hcert(), "xx": "A" * 40_000}}})
    b.add(
        "oversized",
        "dangerous",
        "a 40 kB payload that compresses into a QR code",
        hc1(s.sign1(big)),
        "red",
        {"EXPECTEDCOMPRESSION": False},
        reason="code.too_large",
    )
    b.add(
        "compression-bomb",
        "dangerous",
        "zlib stream inflating to 2 MB",
        hc1(b"\0" * 2_000_000),
        "red",
        {"EXPECTEDCOMPRESSION": False},
        reason="code.too_large",
    )
    crit = dumps({1: ES256, 4: s.kid, 2: [77], 77: 1})
    b.add(
        "unknown-critical",
        "dangerous",
        "a critical header label this verifier does not process",
        hc1(s.sign1(dumps(body), protected=crit)),
        "red",
        {"EXPECTEDDECODE": False},
        reason="code.critical_header",
    )
    b.add(
        "critical-unprotected",
        "dangerous",
        "crit in the unprotected header",
        hc1(s.sign1(dumps(body), unprotected=dumps({2: [4]}))),
        "red",
        {"EXPECTEDDECODE": False},
        reason="code.critical_header",
    )
    for name, value in [("nan", float("nan")), ("infinite", float("inf")), ("negative", -1.0)]:
        b.add(
            f"{name}-exp",
            "dangerous",
            f"a {name} exp",
            hc1(s.sign1(dumps(payload(exp=value)))),
            "red",
            verified_bad,
            reason="code.malformed",
        )
    b.add(
        "tagged-exp",
        "dangerous",
        "exp inside tag 1, which RFC 8392 §2 forbids for NumericDate",
        hc1(s.sign1(dumps(payload(exp=cbor2.CBORTag(1, int(EXPIRES.timestamp())))))),
        "red",
        verified_bad,
        reason="code.malformed",
    )
    shared = dumps({**body, -260: {1: {**hcert(), "xx": cbor2.CBORTag(28, [cbor2.CBORTag(29, 0)])}}})
    b.add(
        "shared-reference",
        "legal",
        "a cyclic shared reference (tags 28/29) stays inert data",
        hc1(s.sign1(shared)),
        "green",
    )

    key = ec.generate_private_key(ec.SECP256R1())
    wrong_usage = {"EXPECTEDVERIFY": True, "EXPECTEDKEYUSAGE": False}
    for name, usages, kind, description in [
        ("eku-t-v", [USAGE["t"]], "v", "test-only usage, a vaccination"),
        ("eku-alt-v-r", [USAGE_ALT["v"]], "r", "the .0. vaccination usage, a recovery"),
        ("eku-vr-t", [USAGE["v"], USAGE["r"]], "t", "vaccination and recovery usages, a test"),
    ]:
        signer = Signer(key, certificate(key, usages))
        b.add(
            name,
            "dangerous",
            description,
            hc1(signer.sign1(dumps(payload(kind)))),
            "red",
            wrong_usage,
            signer=signer,
            reason="signed.key_wrong_type",
        )
    # A certificate one of whose other extensions breaks RFC 5280: cryptography then refuses to list any
    # extension, and a verifier that takes "cannot read the usages" for "no usages" lets it sign everything.
    broken = Signer(
        key,
        certificate(
            key,
            [USAGE["t"]],
            raw_extensions=[x509.UnrecognizedExtension(ExtensionOID.KEY_USAGE, b"\x03\x00")],
        ),
    )
    b.add(
        "eku-t-v-broken-extension",
        "dangerous",
        "test-only usage beside a malformed key usage, a vaccination",
        hc1(broken.sign1(dumps(payload("v")))),
        "red",
        wrong_usage,
        signer=broken,
        reason="signed.key_wrong_type",
    )

    p384 = ec.generate_private_key(ec.SECP384R1())
    mislabelled = Signer(p384, certificate(p384), ES256, hashes.SHA384())
    b.add(
        "p384-sha384-labelled-es256",
        "dangerous",
        "P-384 signature made with SHA-384 but labelled ES256",
        hc1(mislabelled.sign1(dumps(body))),
        "red",
        {"EXPECTEDVERIFY": False},
        signer=mislabelled,
        reason="signed.bad_signature",
    )
    short = Signer(p384, mislabelled.cert, ES256, hashes.SHA256())

    def truncated(protected: bytes, unprotected: bytes, pl: bytes, sig: bytes) -> bytes:
        return b"\xd2\x84" + dumps(protected) + unprotected + dumps(pl) + dumps(sig[16:48] + sig[64:])

    b.add(
        "p384-64-byte-signature",
        "dangerous",
        "P-384 key with a 64-byte (P-256 sized) signature",
        hc1(short.sign1(dumps(body), frame=truncated)),
        "red",
        {"EXPECTEDVERIFY": False},
        signer=short,
        reason="signed.bad_signature",
    )
    p256_sha384 = Signer(s.key, s.cert, ES256, hashes.SHA384())
    b.add(
        "p256-sha384-labelled-es256",
        "dangerous",
        "P-256 signature made with SHA-384 but labelled ES256",
        hc1(p256_sha384.sign1(dumps(body))),
        "red",
        {"EXPECTEDVERIFY": False},
        signer=p256_sha384,
        reason="signed.bad_signature",
    )


def _clock(b: _Builder) -> None:
    s = b.p256
    ahead = CLOCK + timedelta(minutes=3)
    b.add(
        "issued-3-min-ahead",
        "clock",
        "issued 3 minutes after the kiosk's clock (within the tolerance)",
        hc1(s.sign1(dumps(payload(iat=int(ahead.timestamp()))))),
        "green",
    )
    behind = {"EXPECTEDVERIFY": True, "EXPECTEDEXPIRATIONCHECK": False}
    iat = int((CLOCK + timedelta(hours=2)).timestamp())
    b.add(
        "issued-2-hours-ahead",
        "clock",
        "issued 2 hours after the kiosk's clock, good signature",
        hc1(s.sign1(dumps(payload(iat=iat)))),
        "yellow",
        behind,
        reason="signed.check_clock",
    )
    # A kiosk restarted at a reset date: its signer's certificate is not even valid yet by the kiosk's clock.
    later = CLOCK + timedelta(days=730)
    renewed = Signer(s.key, certificate(s.key, valid_from=later - timedelta(days=30)))
    iat = int(later.timestamp())
    b.add(
        "issued-2-years-ahead",
        "clock",
        "issued 2 years after the kiosk's clock, good signature",
        hc1(renewed.sign1(dumps(payload(iat=iat, exp=iat + 86400 * 180)))),
        "yellow",
        behind,
        signer=renewed,
        reason="signed.check_clock",
    )
    forged_key = ec.generate_private_key(ec.SECP256R1())
    forged = Signer(forged_key, s.cert)  # the trusted certificate's kid, another key
    iat = int((CLOCK + timedelta(hours=2)).timestamp())
    b.add(
        "issued-ahead-forged",
        "clock",
        "issued 2 hours ahead, signed by another key: forged, not clock",
        hc1(forged.sign1(dumps(payload(iat=iat)))),
        "red",
        {"EXPECTEDVERIFY": False},
        reason="signed.bad_signature",
    )


def build_vectors() -> list[Vector]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _Builder(Signer(key, certificate(key)))
    _legal(builder)
    _dangerous(builder)
    _clock(builder)
    return builder.vectors

"""The kiosk's own signed codes: round trips, tampering, trust decisions, and hostile input."""

import os
import re
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.codes import claims as c
from kiosk.codes.claims import ClaimsError
from kiosk.codes.cose import ALG, CRIT, EDDSA, KID, decode_sign1, sig_structure, sign1
from kiosk.codes.dcc import DccFormat
from kiosk.codes.envelope import unwrap, wrap
from kiosk.codes.errors import Rejected
from kiosk.codes.keys import SigningKey, key_id, load_or_create_device_key
from kiosk.codes.policy import TrustPolicy
from kiosk.codes.registry import Verdict
from kiosk.codes.setup import registry_for
from kiosk.codes.signed import PREFIX, KioskCodeFormat, issue
from kiosk.codes.truststore import TrustedKey, TrustStore, certificate_key, load_certificate
from kiosk.config import load_settings
from kiosk.i18n import catalogue
from tools import dcc_vectors

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
CLAIMS = {
    "vehicle-pass": {
        "plate": "京A12345",
        "name": "张小三",
        "occupants": 3,
        "origin": "北京市朝阳区",
        "destination": "河北省承德市",
        "valid_from": "2026-11-26T00:00:00+08:00",
        "valid_until": "2026-11-30T00:00:00+08:00",
    },
    "health": {"colour": "green", "name": "欧阳小明", "id_number": "11010519491231002X"},
    "forest-entry": {"name": "李四", "area": "雾灵山林区", "date": "2026-11-26"},
    "appointment": {"number": "A-017", "service": "出入境证件", "time": "2026-11-26T15:00:00+08:00"},
    "queue-ticket": {"number": "B042", "service": "社保业务", "time": "2026-11-26T10:00:00+08:00"},
}
SHOWN = {
    "vehicle-pass": {"plate": "京A12345", "name": "张*三", "occupants": "3", "destination": "河北省承德市"},
    "health": {"colour": "green", "name": "欧**明"},
    "forest-entry": {"name": "李*", "area": "雾灵山林区", "date": "2026-11-26"},
    "appointment": {"number": "A-017", "service": "出入境证件", "time": "2026-11-26T07:00+00:00"},
    "queue-ticket": {"number": "B042", "service": "社保业务"},
}


def _key(private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> SigningKey:
    return SigningKey(private, key_id(private.public_key()))


DEVICE = _key(ed25519.Ed25519PrivateKey.generate())
ISSUER = _key(ec.generate_private_key(ec.SECP256R1()))  # the central issuer: ES256, as an HSM would have
STRANGER = _key(ed25519.Ed25519PrivateKey.generate())


def _trusted(key: SigningKey, types: list[str], **kw: object) -> TrustedKey:
    return TrustedKey(key.kid, key.public, frozenset(types), **kw)  # type: ignore[arg-type]


def _store(refreshed_at: datetime | None = NOW + timedelta(minutes=1), **kw: object) -> TrustStore:
    keys = [_trusted(DEVICE, list(c.DEVICE_TYPES)), _trusted(ISSUER, ["health", "forest-entry"])]
    return TrustStore(refreshed_at=refreshed_at, **kw).with_keys(keys)  # type: ignore[arg-type]


def _evaluate(text: str, store: TrustStore | None = None, at: datetime = LATER, **policy: object):
    return KioskCodeFormat(store or _store(), TrustPolicy(**policy)).evaluate(text, at)  # type: ignore[arg-type]


def _signer(kind: str) -> SigningKey:
    return DEVICE if kind in c.DEVICE_TYPES else ISSUER


@pytest.mark.parametrize("kind", list(CLAIMS))
def test_round_trip_of_every_code_type(kind: str) -> None:
    text = issue(kind, CLAIMS[kind], _signer(kind), NOW)
    assert text.startswith(PREFIX) and re.fullmatch(r"[0-9A-Z $%*+\-./:]+", text)  # QR alphanumeric only
    result = _evaluate(text)
    assert (result.kind, result.verdict, result.reason.key) == (kind, Verdict.GREEN, "signed.valid")
    assert SHOWN[kind].items() <= result.claims.items()
    assert result.subject
    # Personal data is stored masked: the clear name and ID number are nowhere in the signed payload.
    payload = decode_sign1(unwrap(text, PREFIX)).payload
    assert "小三".encode() not in payload and b"11010519491231002X" not in payload


def test_subject_is_a_signer_keyed_pseudonym_stable_per_person() -> None:
    first = _evaluate(issue("health", CLAIMS["health"], ISSUER, NOW))
    second = _evaluate(issue("health", {**CLAIMS["health"], "colour": "yellow"}, ISSUER, NOW))
    other = _evaluate(issue("health", {**CLAIMS["health"], "id_number": "110105194912310011"}, ISSUER, NOW))
    assert first.subject == second.subject != other.subject
    assert "11010519491231002X" not in (first.subject or "")


@pytest.mark.parametrize(
    ("colour", "verdict", "reason"),
    [("yellow", Verdict.YELLOW, "signed.health_yellow"), ("red", Verdict.RED, "signed.health_red")],
)
def test_health_code_verdict_is_its_colour(colour: str, verdict: Verdict, reason: str) -> None:
    result = _evaluate(issue("health", {**CLAIMS["health"], "colour": colour}, ISSUER, NOW))
    assert (result.verdict, result.reason.key, result.claims["colour"]) == (verdict, reason, colour)


def _cose(text: str) -> bytes:
    return zlib.decompress(base45.b45decode(text[len(PREFIX) :]))


def test_any_one_byte_change_in_the_signed_message_is_red() -> None:
    text = issue("vehicle-pass", CLAIMS["vehicle-pass"], DEVICE, NOW)
    cose = _cose(text)
    verdicts = set()
    for index in range(len(cose)):
        for flip in (0x01, 0x80):
            tampered = bytearray(cose)
            tampered[index] ^= flip
            result = _evaluate(wrap(PREFIX, bytes(tampered)))
            assert result.verdict == Verdict.RED, (index, flip, result.reason)
            verdicts.add(result.reason.key)
    # The changes are caught at different layers, not by one catch-all.
    assert {"signed.bad_signature", "code.malformed", "signed.issuer_unknown"} <= verdicts


def test_any_one_character_change_in_the_code_text_is_red() -> None:
    text = issue("queue-ticket", CLAIMS["queue-ticket"], DEVICE, NOW)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for index in range(len(PREFIX), len(text)):
        changed = alphabet[(alphabet.index(text[index]) + 1) % len(alphabet)]
        result = _evaluate(text[:index] + changed + text[index + 1 :])
        assert result.verdict == Verdict.RED, (index, result.reason)


def test_untrusted_key_is_red_when_the_trust_store_is_newer_than_the_code() -> None:
    result = _evaluate(issue("queue-ticket", CLAIMS["queue-ticket"], STRANGER, NOW))
    assert (result.verdict, result.reason.key) == (Verdict.RED, "signed.issuer_unknown")
    assert result.claims == {"key_id": STRANGER.kid.hex()}  # nothing unverified is shown


def test_untrusted_key_is_yellow_when_the_trust_store_is_older_than_the_code() -> None:
    text = issue("queue-ticket", CLAIMS["queue-ticket"], STRANGER, NOW)
    result = _evaluate(text, _store(refreshed_at=NOW - timedelta(days=1)))
    assert (result.verdict, result.reason.key) == (Verdict.YELLOW, "signed.issuer_not_yet_known")
    never = _evaluate(text, _store(refreshed_at=None))
    assert never.verdict == Verdict.YELLOW
    # A forged issue time in the future cannot buy the yellow.
    ticket = {**CLAIMS["queue-ticket"], "time": "2026-11-29T10:00:00+08:00"}
    future = issue("queue-ticket", ticket, STRANGER, NOW + timedelta(days=3))
    assert _evaluate(future, _store(refreshed_at=NOW - timedelta(days=1))).verdict == Verdict.RED


def test_revoked_key_and_revoked_code_are_red() -> None:
    text = issue("health", CLAIMS["health"], ISSUER, NOW)
    result = _evaluate(text, _store(revoked_kids=frozenset({ISSUER.kid})))
    assert (result.verdict, result.reason.key) == (Verdict.RED, "signed.key_revoked")
    code_id = cbor2.loads(decode_sign1(unwrap(text, PREFIX)).payload)[c.CTI]
    result = _evaluate(text, _store(revoked_codes=frozenset({code_id})))
    assert (result.verdict, result.reason.key) == (Verdict.RED, "signed.code_revoked")


def test_key_not_allowed_for_the_type_is_red() -> None:
    # A kiosk's key must not be able to make health codes, however genuine its signature.
    result = _evaluate(issue("health", CLAIMS["health"], DEVICE, NOW))
    assert (result.kind, result.verdict, result.reason.key) == (
        "health",
        Verdict.RED,
        "signed.key_wrong_type",
    )
    assert result.reason.params == {"kind": "health"}


def test_code_issued_outside_the_key_validity_is_red() -> None:
    retired = _trusted(ISSUER, ["health"], not_after=NOW - timedelta(days=1))
    store = _store().with_keys([retired])
    result = _evaluate(issue("health", CLAIMS["health"], ISSUER, NOW), store)
    assert (result.verdict, result.reason.key) == (Verdict.RED, "signed.key_not_valid_then")


@pytest.mark.parametrize(
    ("at", "verdict", "reason"),
    [
        (datetime(2026, 11, 29, 16, 1, tzinfo=UTC), Verdict.RED, "signed.expired"),
        (datetime(2026, 11, 29, 15, 30, tzinfo=UTC), Verdict.YELLOW, "signed.expiring"),
        (datetime(2026, 11, 29, 14, 0, tzinfo=UTC), Verdict.GREEN, "signed.valid"),
    ],
)
def test_expiry(at: datetime, verdict: Verdict, reason: str) -> None:
    text = issue("vehicle-pass", CLAIMS["vehicle-pass"], DEVICE, NOW)
    result = _evaluate(text, _store(refreshed_at=at), at)
    assert (result.verdict, result.reason.key) == (verdict, reason)


def test_not_yet_valid_is_red() -> None:
    early = {**CLAIMS["vehicle-pass"], "valid_from": "2026-11-28T00:00:00+08:00"}
    result = _evaluate(issue("vehicle-pass", early, DEVICE, NOW))
    assert (result.verdict, result.reason.key) == (Verdict.RED, "signed.not_yet_valid")


@pytest.mark.parametrize(
    ("ahead", "verdict", "reason"),
    [
        (timedelta(minutes=4), Verdict.GREEN, "signed.valid"),  # within the 5-minute tolerance
        (timedelta(minutes=6), Verdict.YELLOW, "signed.check_clock"),
        (timedelta(hours=1), Verdict.YELLOW, "signed.check_clock"),
    ],
)
def test_genuine_code_issued_after_the_kiosk_clock_asks_to_check_the_clock(
    ahead: timedelta, verdict: Verdict, reason: str
) -> None:
    # The kiosk's clock lags: the issuer's time is later than "now" here. The signature is good, so this is
    # the kiosk's clock to check, not a forgery; nbf (= issue time) does not turn it red either.
    text = issue("queue-ticket", CLAIMS["queue-ticket"], DEVICE, NOW + ahead)
    result = _evaluate(text, at=NOW)
    assert (result.verdict, result.reason.key) == (verdict, reason)
    if verdict == Verdict.YELLOW:
        assert result.reason.params == {"issued_at": (NOW + ahead).isoformat(" ", "minutes")}
        assert result.claims["number"] == "B042"  # genuine content is shown
        # Only a good signature earns it: the same time from a key this kiosk does not trust is red.
        stranger = _evaluate(issue("queue-ticket", CLAIMS["queue-ticket"], STRANGER, NOW + ahead), at=NOW)
        assert (stranger.verdict, stranger.reason.key) == (Verdict.RED, "signed.issuer_unknown")


def test_expired_beats_the_clock_warning() -> None:
    # A clock that is behind can still tell a code has expired: it is later than the kiosk thinks.
    payload = _payload({c.IAT: int((NOW + timedelta(hours=2)).timestamp()), c.EXP: int(NOW.timestamp()) - 60})
    result = _evaluate(_signed_payload(payload), at=NOW)
    assert (result.verdict, result.reason.key) == (Verdict.RED, "signed.expired")


def test_floating_point_times_are_numeric_dates() -> None:
    # RFC 8392 §2: a NumericDate may be a floating-point number; another issuer's KP1 code may use one.
    floats = _payload(
        {
            c.IAT: NOW.timestamp() + 0.5,
            c.NBF: NOW.timestamp() - 0.25,
            c.EXP: (NOW + timedelta(days=1)).timestamp(),
        }
    )
    result = _evaluate(_signed_payload(floats))
    assert (result.kind, result.verdict) == ("queue-ticket", Verdict.GREEN)
    for bad in (float("nan"), float("inf"), -1.0, 2.0**45, True, cbor2.CBORTag(1, int(NOW.timestamp()))):
        result = _evaluate(_signed_payload(_payload({c.EXP: bad})))
        assert (result.verdict, result.reason.key) == (Verdict.RED, "code.malformed"), bad


def test_stale_trust_store_is_yellow_but_not_for_the_device_own_key() -> None:
    stale = _store(refreshed_at=NOW - timedelta(days=10))
    result = _evaluate(issue("health", CLAIMS["health"], ISSUER, NOW), stale)
    assert (result.verdict, result.reason.key, result.reason.params) == (
        Verdict.YELLOW,
        "signed.trust_stale",
        {"days": 10},
    )
    assert (
        _evaluate(
            issue("health", CLAIMS["health"], ISSUER, NOW), stale, max_trust_age=timedelta(days=11)
        ).verdict
        == Verdict.GREEN
    )
    own = TrustStore(refreshed_at=None).with_keys(
        [TrustedKey(DEVICE.kid, DEVICE.public, frozenset(c.DEVICE_TYPES), pinned=True)]
    )
    assert _evaluate(issue("queue-ticket", CLAIMS["queue-ticket"], DEVICE, NOW), own).verdict == Verdict.GREEN


def _signed_payload(payload: dict, key: SigningKey = DEVICE) -> str:
    return wrap(PREFIX, sign1(cbor2.dumps(payload), key.private, key.kid))


def _payload(changes: dict | None = None) -> dict:
    base = {
        c.TYPE: 5,
        c.VERSION: 1,
        c.IAT: int(NOW.timestamp()),
        c.NBF: int(NOW.timestamp()),
        c.EXP: int((NOW + timedelta(days=1)).timestamp()),
        c.CTI: b"\x01" * 8,
        c.BODY: {1: "B042", 2: "社保业务", 3: int(NOW.timestamp())},
    }
    base.update(changes or {})
    return base


def test_a_later_claims_version_with_extra_fields_still_verifies() -> None:
    later = _payload(
        {c.VERSION: 3, c.BODY: {1: "B042", 2: "社保业务", 3: int(NOW.timestamp()), 9: "new"}, 99: 1}
    )
    result = _evaluate(_signed_payload(later))
    assert (result.kind, result.verdict) == ("queue-ticket", Verdict.GREEN)
    unknown_type = _evaluate(_signed_payload(_payload({c.TYPE: 42})))
    assert (unknown_type.verdict, unknown_type.reason.key) == (Verdict.YELLOW, "signed.unknown_type")
    missing = _evaluate(_signed_payload(_payload({c.BODY: {1: "B042"}})))
    assert (missing.verdict, missing.reason.key) == (Verdict.RED, "code.malformed")


def test_unknown_critical_header_is_rejected() -> None:
    protected = cbor2.dumps({ALG: EDDSA, KID: DEVICE.kid, CRIT: [77], 77: 1})
    payload = cbor2.dumps(_payload())
    signature = DEVICE.private.sign(sig_structure(protected, payload))
    text = wrap(PREFIX, cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))
    result = _evaluate(text)
    assert (result.verdict, result.reason.key) == (Verdict.RED, "code.critical_header")


def test_zlib_bomb_and_uncompressed_codes_are_refused_cheaply() -> None:
    bomb = PREFIX + base45.b45encode(zlib.compress(b"\0" * 2_000_000, 9)).decode()
    assert (_evaluate(bomb).reason.key, _evaluate(bomb).verdict) == ("code.too_large", Verdict.RED)
    raw = (
        PREFIX + base45.b45encode(_cose(issue("queue-ticket", CLAIMS["queue-ticket"], DEVICE, NOW))).decode()
    )
    assert _evaluate(raw).reason.key == "code.bad_compression"


@pytest.mark.parametrize(
    ("kind", "change", "field"),
    [
        ("vehicle-pass", {"occupants": 0}, "occupants"),
        ("vehicle-pass", {"occupants": True}, "occupants"),
        ("vehicle-pass", {"plate": "not a plate"}, "plate"),
        ("vehicle-pass", {"valid_until": "2026-11-30"}, "valid_until"),
        ("vehicle-pass", {"valid_until": "2026-11-25T00:00:00+08:00"}, "valid_until"),
        ("vehicle-pass", {"occupant": 2}, "occupant"),
        ("health", {"colour": "blue"}, "colour"),
        ("health", {"id_number": "110105194912310021"}, "id_number"),
        ("forest-entry", {"date": "26/11/2026"}, "date"),
        ("appointment", {"service": "x" * 33}, "service"),
        ("queue-ticket", {"number": ""}, "number"),
    ],
)
def test_claims_errors_name_the_field(kind: str, change: dict, field: str) -> None:
    with pytest.raises(ClaimsError) as err:
        c.parse_claims(kind, {**CLAIMS[kind], **change}, NOW)
    assert err.value.field == field and repr(field) in str(err.value)


def test_missing_claim_and_unknown_type_are_named() -> None:
    with pytest.raises(ClaimsError, match="'plate': is required"):
        c.parse_claims("vehicle-pass", {k: v for k, v in CLAIMS["vehicle-pass"].items() if k != "plate"}, NOW)
    with pytest.raises(ClaimsError, match="unknown code type"):
        c.parse_claims("boarding-pass", {}, NOW)


def test_device_key_is_created_owner_only_once_and_never_shown(tmp_path: Path) -> None:
    key = load_or_create_device_key(tmp_path / "secrets")
    path = tmp_path / "secrets" / "code-signing.ed25519"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_device_key(tmp_path / "secrets").kid == key.kid
    assert path.read_bytes().hex() not in repr(key) and key.kid.hex() in repr(key)


def test_a_fresh_kiosk_verifies_its_own_codes_before_it_was_ever_online(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    registry = registry_for(settings)  # creates the device key
    device = load_or_create_device_key(settings.secrets_dir)
    now = datetime.now(UTC)
    text = issue(
        "queue-ticket",
        {**CLAIMS["queue-ticket"], "time": (now + timedelta(hours=3)).isoformat()},
        device,
        now,
    )
    result = registry.evaluate(text, now)
    assert (result.kind, result.verdict) == ("queue-ticket", Verdict.GREEN)
    assert not (tmp_path / "trust-store.json").exists()


def test_every_reason_key_used_by_the_signed_formats_is_translated() -> None:
    source = "".join(
        (Path(__file__).resolve().parents[1] / "kiosk" / "codes" / f).read_text("utf-8")
        for f in os.listdir(Path(__file__).resolve().parents[1] / "kiosk" / "codes")
        if f.endswith(".py")
    )
    used = set(re.findall(r"""(?:Rejected|Message)\(\s*["']([a-z][\w.-]+)["']""", source))
    assert "signed.bad_signature" in used
    for language in ("zh-CN", "en"):
        assert used <= catalogue(language).keys()
        assert {f"kind.{k}" for k in [*CLAIMS, "eu-dcc", "kiosk-code"]} <= catalogue(language).keys()


# --- hostile input: every input ends in a verdict, quickly, without raising; a changed code is never green

VALID = {kind: issue(kind, CLAIMS[kind], _signer(kind), NOW) for kind in CLAIMS}
# An EU DCC from a trusted document signer, so that mutated DCCs have a green to fall from.
DCC_KEY = ec.generate_private_key(ec.SECP256R1())
DCC_SIGNER = dcc_vectors.Signer(DCC_KEY, dcc_vectors.certificate(DCC_KEY))
VALID["eu-dcc"] = dcc_vectors.hc1(DCC_SIGNER.sign1(cbor2.dumps(dcc_vectors.payload())))
DCC_STORE = _store().with_keys([certificate_key(DCC_SIGNER.cert, ["eu-dcc"], pinned=True)])
FORMATS = [KioskCodeFormat(_store()), DccFormat(DCC_STORE)]
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.binary(max_size=40)
    | st.text(max_size=20)
    | st.floats(allow_nan=True),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers(-300, 300) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=30,
)


def test_every_valid_sample_is_green() -> None:
    # The mutation tests below mean something only if each unmutated sample is green.
    for kind, text in VALID.items():
        fmt = FORMATS[1] if kind == "eu-dcc" else FORMATS[0]
        assert fmt.evaluate(text, LATER).verdict == Verdict.GREEN, kind


def _signed_parts(text: str) -> tuple[bytes, bytes] | None:
    """What the signature covers (protected header bytes, payload), or ``None`` if the code does not parse."""
    try:
        message = decode_sign1(unwrap(text, text[:4]))
    except Rejected:
        return None
    return message.protected_bytes, message.payload


def _check_all_formats(text: str, original: str | None = None) -> None:
    for fmt in FORMATS:
        result = fmt.evaluate(text, LATER)
        assert result.verdict in (Verdict.GREEN, Verdict.YELLOW, Verdict.RED)
        assert result.reason.key
        if original is not None and result.verdict == Verdict.GREEN:
            # Green only if the change left every signed byte as it was (it hit unsigned framing).
            assert _signed_parts(text) == _signed_parts(original), result.reason


@st.composite
def mutated_codes(draw: st.DrawFn) -> tuple[str, str]:
    text = draw(st.sampled_from(sorted(VALID.values())))
    prefix = draw(st.sampled_from([PREFIX, "HC1:"]))
    chars = list(prefix + text[len(PREFIX) :])
    for _ in range(draw(st.integers(1, 4))):
        op, pos = (
            draw(st.sampled_from(["set", "insert", "delete", "cut"])),
            draw(st.integers(4, len(chars) - 1)),
        )
        if op == "set":
            chars[pos] = draw(st.sampled_from(B45))
        elif op == "insert":
            chars.insert(pos, draw(st.sampled_from(B45)))
        elif op == "delete" and len(chars) > 5:
            del chars[pos]
        elif op == "cut":
            chars = chars[: max(pos, 5)]
    return text, "".join(chars)


FAST = settings(
    deadline=timedelta(milliseconds=50), max_examples=500, suppress_health_check=[HealthCheck.too_slow]
)


@FAST
@given(mutated_codes())
def test_mutated_codes_end_in_a_verdict_and_are_never_green(case: tuple[str, str]) -> None:
    original, text = case
    _check_all_formats(text, original)


# Green samples in the encodings other issuers use (indefinite lengths, non-shortest heads, tags, wrapped
# payloads, P-384 and RSA keys), each with a DCC format trusting its signer.
_VECTORS = [v for v in dcc_vectors.build_vectors() if v.verdict == "green"]
SAMPLES = [(kind, text) for kind, text in VALID.items()] + [(v.name, v.text) for v in _VECTORS]
SAMPLE_FORMAT = {kind: FORMATS[1] if kind == "eu-dcc" else FORMATS[0] for kind in VALID} | {
    v.name: DccFormat(
        TrustStore().with_keys([certificate_key(load_certificate(v.certificate), ["eu-dcc"], pinned=True)])
    )
    for v in _VECTORS
}


def _signed_spans(cose: bytes) -> list[int]:
    """Offsets of the bytes a verifier must treat as signed: protected header, payload and signature, where
    each lies in one piece in the message (indefinite-length encodings split them)."""
    message = decode_sign1(cose)
    offsets: list[int] = []
    for part in (message.protected_bytes, message.payload, message.signature):
        start = cose.find(part)
        if start >= 0:
            offsets += range(start, start + len(part))
    return offsets


# Where the signed parts are split into chunks, only the next test's property applies.
SPANNED = [(kind, text) for kind, text in SAMPLES if _signed_spans(unwrap(text, text[:4]))]


def test_most_samples_have_signed_spans() -> None:
    assert len(SPANNED) >= len(SAMPLES) - 2


@FAST
@given(st.sampled_from(SPANNED), st.data())
def test_any_change_to_a_signed_byte_is_never_green(sample: tuple[str, str], data: st.DataObject) -> None:
    kind, text = sample
    prefix = text[:4]
    fmt = SAMPLE_FORMAT[kind]
    assert fmt.evaluate(text, _sample_clock(kind)).verdict == Verdict.GREEN
    cose = bytearray(unwrap(text, prefix))
    offsets = _signed_spans(bytes(cose))
    position = data.draw(st.sampled_from(offsets))
    cose[position] ^= data.draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128]) | st.integers(1, 255))
    result = fmt.evaluate(wrap(prefix, bytes(cose)), _sample_clock(kind))
    assert result.verdict != Verdict.GREEN, (kind, position, result.reason)


@FAST
@given(st.sampled_from(SAMPLES), st.data())
def test_any_byte_change_that_keeps_a_code_green_left_the_signed_bytes_alone(
    sample: tuple[str, str], data: st.DataObject
) -> None:
    kind, text = sample
    prefix = text[:4]
    cose = bytearray(unwrap(text, prefix))
    position = data.draw(st.integers(0, len(cose) - 1))
    cose[position] = data.draw(st.integers(0, 255).filter(lambda b: b != cose[position]))
    changed = wrap(prefix, bytes(cose))
    if SAMPLE_FORMAT[kind].evaluate(changed, _sample_clock(kind)).verdict == Verdict.GREEN:
        assert _signed_parts(changed) == _signed_parts(text), (kind, position)


def _sample_clock(kind: str) -> datetime:
    return LATER if kind in VALID else dcc_vectors.CLOCK


@FAST
@given(st.sampled_from([PREFIX, "HC1:"]), st.text(alphabet=B45, max_size=600) | st.text(max_size=200))
def test_random_text_always_ends_in_a_verdict(prefix: str, body: str) -> None:
    _check_all_formats(prefix + body)


@FAST
@given(st.sampled_from([PREFIX, "HC1:"]), st.binary(max_size=600))
def test_random_compressed_bytes_always_end_in_a_verdict(prefix: str, data: bytes) -> None:
    _check_all_formats(prefix + base45.b45encode(zlib.compress(data)).decode())


@FAST
@given(st.sampled_from([PREFIX, "HC1:"]), cbor_values, cbor_values, st.booleans())
def test_random_cose_like_structures_always_end_in_a_verdict(
    prefix: str, header: object, payload: object, signed: bool
) -> None:
    protected = cbor2.dumps(header)
    body = cbor2.dumps(payload)
    signature = DEVICE.private.sign(sig_structure(protected, body)) if signed else b"\0" * 64
    for message in ([protected, {}, body, signature], [protected, header, payload, signature], payload):
        cose = cbor2.dumps(cbor2.CBORTag(18, message))
        _check_all_formats(wrap(prefix, cose))


@FAST
@given(cbor_values)
def test_random_signed_payloads_from_a_trusted_key_always_end_in_a_verdict(payload: object) -> None:
    _check_all_formats(wrap(PREFIX, sign1(cbor2.dumps(payload), DEVICE.private, DEVICE.kid)))

"""Trust-store files: round trip, derived key ids, clear errors; a corrupt file does not stop a kiosk."""

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.codes.claims import ClaimsError, parse_claims
from kiosk.codes.keys import key_id
from kiosk.codes.truststore import (
    TRUST_STORE_FILE,
    TrustStore,
    TrustStoreError,
    certificate_kid,
    load_certificate,
    load_data_dir_store,
)

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
ISSUER = ec.generate_private_key(ec.SECP256R1()).public_key()
KIOSK = ed25519.Ed25519PrivateKey.generate().public_key()


def _spki(key: object) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]
    return base64.b64encode(der).decode()


def _certificate() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DSC")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


CERT = _certificate()


def _document(**changes: object) -> dict:
    doc = {
        "format": "kiosk-trust-store",
        "version": 1,
        "refreshed_at": "2026-11-26T08:00:00+08:00",
        "keys": [
            {
                "kid": key_id(ISSUER).hex(),
                "public_key": _spki(ISSUER),
                "types": ["health", "forest-entry"],
                "not_before": "2026-01-01T00:00:00+08:00",
                "not_after": "2027-01-01T00:00:00+08:00",
                "label": "central issuer",
            },
            {"public_key": _spki(KIOSK), "types": ["vehicle-pass"]},
            {
                "certificate": base64.b64encode(CERT.public_bytes(serialization.Encoding.DER)).decode(),
                "types": ["eu-dcc"],
            },
        ],
        "revoked": {"kids": ["00112233445566ff"], "codes": ["0102030405060708"]},
        "added_in_a_later_version": {"ignored": True},
    }
    doc.update(changes)
    return doc


def test_round_trip_keeps_keys_validity_types_and_revocations(tmp_path: Path) -> None:
    store = TrustStore.from_json(_document())
    issuer = store.lookup(key_id(ISSUER))
    assert (
        issuer is not None and issuer.types == {"health", "forest-entry"} and issuer.label == "central issuer"
    )
    assert issuer.valid_at(NOW) and not issuer.valid_at(datetime(2027, 2, 1, tzinfo=UTC))
    dsc = store.lookup(certificate_kid(CERT))
    assert dsc is not None and dsc.not_after == CERT.not_valid_after_utc and dsc.certificate == CERT
    assert store.revoked_kids == {bytes.fromhex("00112233445566ff")}
    assert store.refreshed_at == datetime(2026, 11, 26, tzinfo=UTC)

    store.save(tmp_path / "t.json")
    again = TrustStore.load(tmp_path / "t.json")
    assert again.to_json() == store.to_json()
    assert set(again.keys) == {key_id(ISSUER), key_id(KIOSK), certificate_kid(CERT)}
    assert not (tmp_path / "t.tmp").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "something-else"}, "not a trust store"),
        ({"version": 0}, "version"),
        ({"refreshed_at": "2026-11-26T08:00:00"}, "refreshed_at: must be an ISO 8601 time with offset"),
        (
            {"keys": [{"kid": "0000000000000000", "public_key": _spki(ISSUER), "types": ["health"]}]},
            r"keys\[0\]\.kid: does not match",
        ),
        ({"keys": [{"public_key": _spki(ISSUER), "types": ["boarding-pass"]}]}, r"keys\[0\]\.types"),
        (
            {"keys": [{"public_key": "not base64!", "types": ["health"]}]},
            r"keys\[0\]\.public_key: not base64",
        ),
        ({"keys": [{"types": ["health"]}]}, "needs a public_key or a certificate"),
        ({"revoked": {"kids": ["xyz"]}}, "revoked.kids"),
    ],
)
def test_bad_documents_are_refused_with_where_and_why(changes: dict, message: str) -> None:
    with pytest.raises(TrustStoreError, match=message):
        TrustStore.from_json(_document(**changes))


def test_age_and_with_keys() -> None:
    store = TrustStore.from_json(_document())
    assert store.age(NOW) == timedelta(hours=9, minutes=30)
    assert TrustStore().age(NOW) is None
    assert len(store.with_keys([]).keys) == 3 and store.lookup(None) is None


def test_data_dir_store_missing_or_corrupt_is_empty_and_never_refreshed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert load_data_dir_store(tmp_path) == TrustStore()
    (tmp_path / TRUST_STORE_FILE).write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        store = load_data_dir_store(tmp_path)
    assert store.keys == {} and store.refreshed_at is None
    assert "trust store ignored" in caplog.text
    (tmp_path / TRUST_STORE_FILE).write_text(json.dumps(_document()), encoding="utf-8")
    assert len(load_data_dir_store(tmp_path).keys) == 3


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
FAST = settings(deadline=timedelta(milliseconds=50), max_examples=300)


@FAST
@given(
    st.one_of(
        json_values,
        st.builds(
            lambda d: {**_document(), **d},
            st.dictionaries(
                st.sampled_from(["format", "version", "refreshed_at", "keys", "revoked"]), json_values
            ),
        ),
    )
)
def test_random_trust_documents_load_or_fail_with_a_trust_store_error(doc: object) -> None:
    try:
        store = TrustStore.from_json(doc)
    except TrustStoreError as err:
        assert str(err)
    else:
        assert isinstance(store, TrustStore)


@FAST
@given(st.binary(max_size=400))
def test_random_certificate_bytes_fail_with_a_trust_store_error(data: bytes) -> None:
    with pytest.raises(TrustStoreError):
        load_certificate(data)


@FAST
@given(
    st.sampled_from(["vehicle-pass", "health", "forest-entry", "appointment", "queue-ticket"]),
    st.dictionaries(
        st.sampled_from(
            [
                "plate",
                "name",
                "occupants",
                "origin",
                "destination",
                "valid_from",
                "valid_until",
                "colour",
                "area",
                "date",
                "number",
                "service",
                "time",
                "id_number",
                "other",
            ]
        ),
        json_values,
    ),
)
def test_random_claims_are_accepted_or_refused_naming_a_field(kind: str, claims: dict) -> None:
    try:
        parsed = parse_claims(kind, claims, NOW)
    except ClaimsError as err:
        assert err.field in {
            *claims,
            "valid_until",
            "plate",
            "name",
            "colour",
            "area",
            "date",
            "number",
            "occupants",
            "origin",
            "destination",
            "service",
            "time",
        }
    else:
        assert parsed.valid_until > parsed.valid_from

"""`kiosk verify`, `kiosk codes issue`, `kiosk keys …`, and a photographed signed code via `kiosk scan`."""

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import CertificateBuilder, Name, NameAttribute, random_serial_number
from cryptography.x509.oid import NameOID

from kiosk.codes.cose import sign1
from kiosk.codes.envelope import wrap
from kiosk.codes.keys import key_id
from kiosk.codes.truststore import certificate_kid
from main import main

PASS = {
    "plate": "京A12345",
    "name": "张小三",
    "occupants": 2,
    "origin": "北京市朝阳区",
    "destination": "河北省承德市",
    "valid_from": "2026-11-26T00:00:00+08:00",
    "valid_until": "2026-11-30T00:00:00+08:00",
}
AT = "2026-11-27T10:00:00+08:00"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def data(tmp_path: Path) -> str:
    return str(tmp_path / "data")


def _issue(capsys: pytest.CaptureFixture[str], data: str, kind: str, claims: dict, *extra: str) -> str:
    text, _ = _issue_with_log(capsys, data, kind, claims, *extra)
    return text


def _issue_with_log(
    capsys: pytest.CaptureFixture[str], data: str, kind: str, claims: dict, *extra: str
) -> tuple[str, str]:
    code, out, err = _run(
        capsys,
        "codes",
        "issue",
        "--data-dir",
        data,
        "--type",
        kind,
        "--claims",
        json.dumps(claims, ensure_ascii=False),
        "--at",
        "2026-11-26T09:00:00+08:00",
        *extra,
    )
    assert code == 0, err
    return out.strip(), err


def test_issue_then_verify_text_and_json(
    capsys: pytest.CaptureFixture[str], data: str, tmp_path: Path
) -> None:
    png = tmp_path / "pass.png"
    text, log = _issue_with_log(capsys, data, "vehicle-pass", PASS, "--out", str(png))
    assert "QR version" in log and cv2.imread(str(png)) is not None
    code, out, _ = _run(capsys, "verify", "--data-dir", data, "--at", AT, "--language", "en", text)
    assert code == 0
    assert out.startswith("green  Pass") and "plate: 京A12345" in out and "name: 张*三" in out
    assert "张小三" not in out
    code, out, _ = _run(capsys, "verify", "--data-dir", data, "--at", AT, "--json", text)
    report = json.loads(out)
    assert (report["verdict"], report["kind"], report["claims"]["occupants"]) == (
        "green",
        "vehicle-pass",
        "2",
    )
    expired = _run(capsys, "verify", "--data-dir", data, "--at", "2026-12-01T00:00:00+08:00", "--json", text)
    assert expired[0] == 1 and json.loads(expired[1])["verdict"] == "red"


def test_tampered_code_is_red_from_the_command_line(capsys: pytest.CaptureFixture[str], data: str) -> None:
    text = _issue(capsys, data, "queue-ticket", {"number": "B042", "service": "社保", "time": AT})
    tampered = text[:20] + ("A" if text[20] != "A" else "B") + text[21:]
    code, out, _ = _run(capsys, "verify", "--data-dir", data, "--at", AT, "--json", tampered)
    assert code == 1 and json.loads(out)["verdict"] == "red"


def test_issuer_codes_need_the_issuer_key_and_its_trust_entry(
    capsys: pytest.CaptureFixture[str], data: str, tmp_path: Path
) -> None:
    health = {"colour": "green", "name": "李四", "valid_until": "2026-12-31T00:00:00+08:00"}
    code, _, err = _run(
        capsys, "codes", "issue", "--data-dir", data, "--type", "health", "--claims", json.dumps(health)
    )
    assert code == 2 and "--key" in err
    issuer = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / "issuer.pem"
    key_file.write_bytes(
        issuer.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    text = _issue(capsys, data, "health", health, "--key", str(key_file))
    code, out, _ = _run(capsys, "verify", "--data-dir", data, "--at", AT, "--json", text)
    assert (code, json.loads(out)["reason"]) == (1, "签发者在本机尚未登记（信任列表早于此码），请人工核验")

    spki = issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    store = {
        "format": "kiosk-trust-store",
        "version": 1,
        "refreshed_at": AT,
        "keys": [{"public_key": base64.b64encode(spki).decode(), "types": ["health"], "label": "省级签发"}],
    }
    store_file = tmp_path / "trust.json"
    store_file.write_text(json.dumps(store, ensure_ascii=False), encoding="utf-8")
    code, out, _ = _run(capsys, "keys", "import-trust", "--data-dir", data, str(store_file))
    assert code == 0 and "1 key(s)" in out
    code, out, _ = _run(capsys, "verify", "--data-dir", data, "--at", AT, "--json", text)
    report = json.loads(out)
    assert (code, report["verdict"], report["claims"]["issuer"]) == (0, "green", "省级签发")
    # A week and more later the list is stale: still genuine, but checked by hand.
    code, out, _ = _run(
        capsys, "verify", "--data-dir", data, "--at", "2026-12-05T10:00:00+08:00", "--json", text
    )
    assert json.loads(out)["reason"].startswith("本机信任列表已 8 天未更新")

    older = {**store, "refreshed_at": "2026-11-01T00:00:00+08:00"}
    store_file.write_text(json.dumps(older), encoding="utf-8")
    code, _, err = _run(capsys, "keys", "import-trust", "--data-dir", data, str(store_file))
    assert code == 2 and "older than the installed trust store" in err


def test_keys_show_and_export_public(capsys: pytest.CaptureFixture[str], data: str, tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "keys", "export-public", "--data-dir", data)
    entry = json.loads(out)
    seed = (Path(data) / "secrets" / "code-signing.ed25519").read_bytes()
    der = base64.b64decode(entry["public_key"])
    assert entry["kid"] == key_id(serialization.load_der_public_key(der)).hex()  # type: ignore[arg-type]
    assert entry["types"] == ["vehicle-pass", "appointment", "queue-ticket", "receipt"]
    code, out, _ = _run(capsys, "keys", "show", "--data-dir", data)
    assert code == 0 and entry["kid"] in out and "refreshed never" in out
    assert seed.hex() not in out and base64.b64encode(seed).decode() not in out


def test_verify_with_a_certificate_to_trust_for_this_call(
    capsys: pytest.CaptureFixture[str], data: str, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = Name([NameAttribute(NameOID.COMMON_NAME, "DSC test")])
    now = datetime(2021, 6, 1, tzinfo=UTC)
    cert = (
        CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(random_serial_number())
        .not_valid_before(now - timedelta(days=9))
        .not_valid_after(now + timedelta(days=99))
        .sign(key, hashes.SHA256())
    )
    hcert = {
        "ver": "1.3.0",
        "nam": {"fn": "Mustermann", "gn": "Erika"},
        "dob": "1964-08-12",
        "r": [{"tg": "840539006", "co": "XX", "ci": "URN:UVCI:01:XX:9"}],
    }
    import cbor2

    payload = {6: int(now.timestamp()), 4: int((now + timedelta(days=30)).timestamp()), -260: {1: hcert}}
    text = wrap("HC1:", sign1(cbor2.dumps(payload), key, certificate_kid(cert)))
    # Without the certificate this never-refreshed kiosk cannot know the signer: check by hand.
    unknown = _run(capsys, "verify", "--data-dir", data, "--at", "2021-06-02T00:00:00Z", "--json", text)
    assert (unknown[0], json.loads(unknown[1])["verdict"]) == (1, "yellow")
    for encoding, suffix in ((serialization.Encoding.PEM, "pem"), (serialization.Encoding.DER, "der")):
        path = tmp_path / f"dsc.{suffix}"
        path.write_bytes(cert.public_bytes(encoding))
        code, out, _ = _run(
            capsys,
            "verify",
            "--data-dir",
            data,
            "--trust",
            str(path),
            "--at",
            "2021-06-02T00:00:00Z",
            "--json",
            text,
        )
        report = json.loads(out)
        assert (code, report["verdict"], report["kind"]) == (0, "green", "eu-dcc"), report
        assert (
            report["claims"]["certificate"] == "recovery" and report["claims"]["name"] == "E***a M********n"
        )
    bad = tmp_path / "junk.pem"
    bad.write_bytes(b"junk")
    code, _, err = _run(capsys, "verify", "--data-dir", data, "--trust", str(bad), text)
    assert code == 2 and "--trust" in err


def _photographed(text: str) -> np.ndarray:
    """The code printed, then photographed: perspective, blur, uneven light, sensor noise, JPEG."""
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=6, border=4)
    code = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    h, w = code.shape[:2]
    target = np.float32([[430, 150], [860, 190], [820, 610], [400, 560]])
    warp = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), target)
    scene = cv2.warpPerspective(code, warp, (1280, 720), borderValue=(150, 160, 165))
    light = np.linspace(0.75, 1.05, 1280, dtype=np.float32)[None, :, None]
    scene = cv2.GaussianBlur((scene * light).astype(np.uint8), (5, 5), 1.2)
    noise = np.random.default_rng(7).normal(0, 6, scene.shape)
    scene = np.clip(scene + noise, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


def test_photographed_code_decodes_and_verifies_through_kiosk_scan(
    capsys: pytest.CaptureFixture[str], data: str, tmp_path: Path
) -> None:
    from datetime import datetime as dt

    now = dt.now().astimezone()
    claims = {
        **PASS,
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=3)).isoformat(),
    }
    code, out, err = _run(
        capsys,
        "codes",
        "issue",
        "--data-dir",
        data,
        "--type",
        "vehicle-pass",
        "--claims",
        json.dumps(claims, ensure_ascii=False),
    )
    assert code == 0, err
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), _photographed(out.strip()))
    code, out, _ = _run(capsys, "scan", "--json", "--data-dir", data, str(photo))
    (found,) = json.loads(out)["codes"]
    assert (code, found["kind"], found["verdict"], found["claims"]["plate"]) == (
        0,
        "vehicle-pass",
        "green",
        "京A12345",
    )
    code, out, _ = _run(capsys, "verify", "--data-dir", data, "--json", "--file", str(photo))
    assert code == 0 and json.loads(out)["verdict"] == "green"

"""`kiosk scan` end to end: real decoder on images the test generates, through the same code path as the
live scanner, with the JSON shape the issue specifies."""

import io
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno

from main import main

ID_OK = "11010519491231002X"


def _qr(text: str, scale: int = 8) -> np.ndarray:
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=scale, border=4)
    return cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)


def _photo(text: str, angle: float) -> np.ndarray:
    """The code pasted rotated onto a grey 1280x720 scene, slightly blurred, like a camera frame."""
    code = _qr(text, 6)
    scene = np.full((720, 1280, 3), 170, np.uint8)
    h, w = code.shape[:2]
    scene[200 : 200 + h, 500 : 500 + w] = code
    turn = cv2.getRotationMatrix2D((500 + w / 2, 200 + h / 2), angle, 1.0)
    scene = cv2.warpAffine(scene, turn, (1280, 720), borderValue=(170, 170, 170))
    return cv2.GaussianBlur(scene, (3, 3), 0)


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    files = {
        "id": (tmp_path / "id.png", _qr(ID_OK)),
        "rotated_url": (tmp_path / "url 旋转.jpg", _photo("https://example.gov.cn/h?t=1", 25)),
        "bad_id": (tmp_path / "bad.png", _qr("110105194912310021")),
        "blank": (tmp_path / "blank.png", np.full((480, 640, 3), 255, np.uint8)),
    }
    for path, image in files.values():
        cv2.imwrite(str(path), image)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    paths = {name: path for name, (path, _) in files.items()}
    paths["broken"] = broken
    paths["missing"] = tmp_path / "missing.png"
    return paths


def _scan_json(args: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> tuple[int, list[dict]]:
    code = main(["scan", "--json", "--data-dir", str(tmp_path / "data"), *args])
    lines = capsys.readouterr().out.splitlines()
    return code, [json.loads(line) for line in lines]


def test_scan_json_reports_every_file_and_goes_on_after_errors(
    images: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    order = ["id", "broken", "rotated_url", "missing", "bad_id", "blank"]
    exit_code, out = _scan_json([str(images[n]) for n in order], capsys, tmp_path)
    assert exit_code == 1  # some files could not be read
    assert [o["file"] for o in out] == [str(images[n]) for n in order]
    by_name = dict(zip(order, out, strict=True))

    (code,) = by_name["id"]["codes"]
    assert code["text"] == ID_OK and code["format"] == "QRCode"
    assert (code["kind"], code["verdict"]) == ("id-number", "green")
    assert code["claims"] == {"id_number": "110***********002X"}
    assert code["reason"] == "身份证号码有效"
    assert by_name["id"]["ms"] > 0

    (url,) = by_name["rotated_url"]["codes"]
    assert (url["text"], url["kind"], url["verdict"]) == ("https://example.gov.cn/h?t=1", "url", "yellow")
    (bad,) = by_name["bad_id"]["codes"]
    assert (bad["verdict"], bad["reason"]) == ("red", "身份证号码校验位错误，请核对后重新输入")
    assert by_name["blank"]["codes"] == []
    assert "error" in by_name["broken"] and "codes" not in by_name["broken"]
    assert "cannot read" in by_name["missing"]["error"]


def test_scan_all_readable_exits_zero_and_speaks_english(
    images: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exit_code, out = _scan_json([str(images["bad_id"]), "--language", "en"], capsys, tmp_path)
    assert exit_code == 0
    assert out[0]["codes"][0]["reason"].startswith("The ID number's check digit is wrong")


def test_installed_entry_point_prints_plain_lines(images: dict[str, Path], tmp_path: Path) -> None:
    kiosk = Path(sys.executable).with_name("kiosk")
    done = subprocess.run(
        [str(kiosk), "scan", str(images["id"]), str(images["blank"]), "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.endswith("[green] 通过 — 身份证号码有效 (id-number)")
    assert "no code found" in second
    assert ID_OK not in (tmp_path / "d" / "logs" / "kiosk.log").read_text()


def test_bad_settings_file_exits_2_with_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kiosk.toml").write_text('mode = "bank"\n')
    assert main(["scan", "x.png", "--data-dir", str(tmp_path)]) == 2
    assert "'mode'" in capsys.readouterr().err

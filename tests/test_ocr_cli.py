"""`kiosk ocr` end to end: the real engine on generated card photos, one JSON object per image."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from main import main
from tools.idcard_synth import make_sample


def test_ocr_prints_one_json_object_per_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    front, back = make_sample(21, "front", "easy", 1), make_sample(21, "back", "easy", 1)
    paths = [tmp_path / "front.jpg", tmp_path / "back.png"]
    cv2.imwrite(str(paths[0]), front.image)
    cv2.imwrite(str(paths[1]), back.image)
    code = main(["ocr", *map(str, paths), "--json", "--data-dir", str(tmp_path / "data")])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [out["file"] for out in lines] == list(map(str, paths))
    first, second = lines
    assert first["side"] == "front" and second["side"] == "back"
    assert first["fields"] == front.truth  # the ID number in full: this command is for operators
    assert second["fields"] == back.truth
    assert set(first["confidence"]) == set(front.truth)
    assert all(0 <= c <= 1 for c in first["confidence"].values())
    assert isinstance(first["warnings"], list) and first["ms"] > 0


def test_ocr_forced_side_and_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    back = make_sample(21, "back", "easy", 3)
    image, junk = tmp_path / "back.jpg", tmp_path / "junk.jpg"
    cv2.imwrite(str(image), back.image)
    junk.write_bytes(b"not an image")
    code = main(["ocr", str(image), str(junk), "--side", "back", "--data-dir", str(tmp_path / "data")])
    assert code == 1
    good, bad = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert good["fields"] == back.truth
    assert bad["file"] == str(junk) and "error" in bad

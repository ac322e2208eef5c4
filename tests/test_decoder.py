"""The real QR decoders on images generated here (segno + OpenCV), on real photos when they are present,
and on garbage. Every test asserts the exact decoded texts."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno

from devices.camera.demo import desk_background
from devices.qr import (
    CascadeDecoder,
    OpenCvDecoder,
    ZxingDecoder,
    dedupe,
    get_decoder,
    zbar_available,
)
from kiosk.scanning import DecodedSymbol

ID_TEXT = "11010519491231002X"
URL_TEXT = "https://example.gov.cn/health?id=demo"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PHOTOS = SHARED / "data" / "qr-photos"


def qr(text: str, module_px: int = 8, border: int = 4) -> np.ndarray:
    """Grey image of the code: black modules on white with a quiet zone."""
    matrix = np.array(segno.make(text, error="m", micro=False).matrix, dtype=np.uint8)
    image = np.where(np.pad(matrix, border) > 0, 0, 255).astype(np.uint8)
    return cv2.resize(image, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)


def scene(
    code: np.ndarray,
    center: tuple[int, int] = (960, 540),
    angle: float = 0.0,
    size: int | None = None,
    shape: tuple[int, int] = (1080, 1920),
    background: int = 150,
) -> np.ndarray:
    """A BGR frame of ``shape``, ``code`` scaled to ``size`` px and rotated by ``angle`` around ``center``."""
    if size is not None:
        code = cv2.resize(code, (size, size), interpolation=cv2.INTER_AREA)
    h, w = code.shape
    frame = np.full(shape, background, np.uint8)
    x0, y0 = center[0] - w // 2, center[1] - h // 2
    frame[y0 : y0 + h, x0 : x0 + w] = code
    if angle:
        turn = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), angle, 1.0)
        frame = cv2.warpAffine(frame, turn, (shape[1], shape[0]), borderValue=background)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def texts(symbols: list[DecodedSymbol]) -> list[str]:
    return sorted(s.text for s in symbols)


ZXING = ZxingDecoder()
CASCADE = CascadeDecoder()
OPENCV = OpenCvDecoder()
ARUCO = OpenCvDecoder(aruco=True)
STRONG = [pytest.param(ZXING, id="zxing"), pytest.param(CASCADE, id="cascade")]
ALL = [*STRONG, pytest.param(OPENCV, id="opencv"), pytest.param(ARUCO, id="opencv-aruco")]


@pytest.mark.parametrize("decoder", ALL)
def test_upright_code_in_a_frame(decoder) -> None:
    found = decoder.decode(scene(qr(URL_TEXT), size=400))
    assert texts(found) == [URL_TEXT]
    assert found[0].format == "QRCode"


@pytest.mark.parametrize("decoder", ALL)
@pytest.mark.parametrize("angle", [30, 90, 135])
def test_rotated_code(decoder, angle: float) -> None:
    assert texts(decoder.decode(scene(qr(ID_TEXT), angle=angle, size=360))) == [ID_TEXT]


@pytest.mark.parametrize("decoder", STRONG)
@pytest.mark.parametrize("tilt", [0.25, -0.3])
def test_perspective_tilted_code(decoder, tilt: float) -> None:
    code = qr(URL_TEXT)
    h, w = code.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    x, y, s = 700.0, 300.0, 450.0
    short = s * (1 - abs(tilt)) / 2
    mid = y + s / 2
    if tilt > 0:  # right edge further away
        dst = np.float32([[x, y], [x + s, mid - short], [x + s, mid + short], [x, y + s]])
    else:
        dst = np.float32([[x, mid - short], [x + s, y], [x + s, y + s], [x, mid + short]])
    warped = cv2.warpPerspective(
        code, cv2.getPerspectiveTransform(src, dst), (1920, 1080), borderValue=160, flags=cv2.INTER_LINEAR
    )
    assert texts(decoder.decode(warped)) == [URL_TEXT]


@pytest.mark.parametrize("decoder", STRONG)
def test_small_code_in_a_1080p_frame(decoder) -> None:
    code = qr("TICKET-0001", module_px=4)  # 21 modules: the symbol is 84 px wide, 116 px with the quiet zone
    assert code.shape == (116, 116)
    assert texts(decoder.decode(scene(code, center=(1500, 300)))) == ["TICKET-0001"]


@pytest.mark.parametrize("decoder", STRONG)
def test_blurred_code(decoder) -> None:
    frame = cv2.GaussianBlur(scene(qr(ID_TEXT), size=300, angle=10), (0, 0), 2.0)
    assert texts(decoder.decode(frame)) == [ID_TEXT]


@pytest.mark.parametrize("decoder", STRONG)
def test_noisy_code(decoder) -> None:
    rng = np.random.default_rng(3)
    frame = scene(qr(URL_TEXT), size=420, angle=20).astype(np.int16)
    frame += rng.normal(0, 30, (*frame.shape[:2], 1)).astype(np.int16)
    assert texts(decoder.decode(np.clip(frame, 0, 255).astype(np.uint8))) == [URL_TEXT]


@pytest.mark.parametrize("decoder", STRONG)
def test_low_contrast_code(decoder) -> None:
    code = (qr(ID_TEXT).astype(np.float32) * (40 / 255) + 110).astype(np.uint8)  # modules 110, paper 150
    frame = scene(code, size=330, background=130)
    assert int(frame.max()) - int(frame.min()) <= 40
    assert texts(decoder.decode(frame)) == [ID_TEXT]


@pytest.mark.parametrize("decoder", STRONG)
def test_inverted_code_of_a_dark_mode_screen(decoder) -> None:
    frame = scene(255 - qr(URL_TEXT), size=400, background=40)
    assert texts(decoder.decode(frame)) == [URL_TEXT]


@pytest.mark.parametrize("decoder", [*STRONG, pytest.param(ARUCO, id="opencv-aruco")])
def test_two_codes_in_one_frame(decoder) -> None:
    frame = scene(qr(ID_TEXT), center=(500, 540), size=360)
    right = scene(qr(URL_TEXT), center=(1400, 540), size=400)
    frame[:, 960:] = right[:, 960:]
    assert texts(decoder.decode(frame)) == sorted([ID_TEXT, URL_TEXT])


@pytest.mark.parametrize("decoder", STRONG)
def test_same_code_twice_is_reported_once(decoder) -> None:
    frame = scene(qr(ID_TEXT), center=(500, 540), size=360)
    frame[:, 960:] = scene(qr(ID_TEXT), center=(1400, 540), size=360)[:, 960:]
    assert texts(decoder.decode(frame)) == [ID_TEXT]


def test_dedupe_keeps_the_first_of_each_text() -> None:
    a, b, c = (
        DecodedSymbol("x", "QRCode", ((1, 1),)),
        DecodedSymbol("y", "QRCode"),
        DecodedSymbol("x", "QRCode"),
    )
    assert dedupe([a, b, c]) == [a, b]


def _no_code_frames() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    noise = rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    checker = (np.indices((1080, 1920)).sum(axis=0) // 40 % 2 * 255).astype(np.uint8)
    text = np.full((1080, 1920, 3), 200, np.uint8)
    for i in range(20):
        cv2.putText(
            text, "Lorem ipsum 0123 [#] []", (40, 50 + 50 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3
        )
    return {
        "blank": np.full((1080, 1920, 3), 255, np.uint8),
        "noise": noise,
        "checkerboard": cv2.cvtColor(checker, cv2.COLOR_GRAY2BGR),
        "text": text,
    }


@pytest.mark.parametrize("decoder", ALL)
@pytest.mark.parametrize("kind", ["blank", "noise", "checkerboard", "text"])
def test_frames_without_a_code_give_nothing(decoder, kind: str) -> None:
    assert decoder.decode(_no_code_frames()[kind]) == []


@pytest.mark.parametrize("decoder", ALL)
def test_chinese_utf8_text_round_trip(decoder) -> None:
    text = "张三 身份证号码 11010519491231002X 健康码：绿码"
    assert texts(decoder.decode(scene(qr(text), size=500))) == [text]


GARBAGE = {
    "empty": np.zeros((0, 0, 3), np.uint8),
    "empty-1d": np.array([], np.uint8),
    "1x1": np.zeros((1, 1, 3), np.uint8),
    "float": scene(qr(ID_TEXT), size=300).astype(np.float64) / 255.0,
    "two-channels": np.zeros((200, 200, 2), np.uint8),
    "five-channels": np.zeros((200, 200, 5), np.uint8),
    "4d": np.zeros((2, 100, 100, 3), np.uint8),
    "bool": np.zeros((100, 100), bool),
}


@pytest.mark.parametrize("decoder", ALL)
@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_input_gives_nothing_and_does_not_raise(decoder, name: str) -> None:
    assert decoder.decode(GARBAGE[name]) == []


@pytest.mark.parametrize("decoder", ALL)
def test_non_arrays_give_nothing(decoder) -> None:
    assert decoder.decode(None) == []  # type: ignore[arg-type]
    assert decoder.decode([[0, 255], [255, 0]]) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("decoder", STRONG)
def test_grey_bgra_and_single_channel_inputs_are_read(decoder) -> None:
    bgr = scene(qr(ID_TEXT), size=300)
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    strided = np.repeat(bgr, 2, axis=1)[:, ::2]  # same pixels, not contiguous
    assert not strided.flags.c_contiguous
    for image in (grey, grey[:, :, None], cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA), strided):
        assert texts(decoder.decode(image)) == [ID_TEXT]


def test_corners_surround_the_code() -> None:
    found = ZXING.decode(scene(qr(ID_TEXT), center=(600, 400), size=300))
    xs = [x for x, _ in found[0].corners]
    ys = [y for _, y in found[0].corners]
    assert len(found[0].corners) == 4
    # the symbol without its 4-module quiet zone spans about 600±120, 400±120
    assert 460 <= min(xs) <= 500 and 700 <= max(xs) <= 740
    assert 260 <= min(ys) <= 300 and 500 <= max(ys) <= 540


def test_cascade_stops_at_the_first_stage_that_reads_and_scales_corners_back() -> None:
    calls: list[str] = []
    hit = DecodedSymbol("found", "QRCode", ((10.0, 10.0), (20.0, 10.0), (20.0, 20.0), (10.0, 20.0)))

    def stage(name: str, result: list[DecodedSymbol]):
        def run(grey: np.ndarray) -> list[DecodedSymbol]:
            calls.append(f"{name}:{grey.shape[1]}x{grey.shape[0]}")
            return result

        return (name, run)

    cascade = CascadeDecoder(max_side=960, stages=[stage("a", []), stage("b", [hit, hit]), stage("c", [])])
    found = cascade.decode(np.zeros((1080, 1920, 3), np.uint8))
    assert calls == ["a:960x540", "b:960x540"]
    assert found == [
        DecodedSymbol("found", "QRCode", ((20.0, 20.0), (40.0, 20.0), (40.0, 40.0), (20.0, 40.0)))
    ]
    assert cascade.last_stage == "b"
    assert cascade.decode(np.zeros((10, 10), np.uint8)) == [] and cascade.last_stage is None


def small_code(
    module_px: float, blur: float, angle: float = 0.0, shape: tuple[int, int] = (400, 400)
) -> np.ndarray:
    """A grey picture of ``shape`` with URL_TEXT at ``module_px`` px a module (area-averaged, as a sensor
    integrates light), rotated by ``angle`` about the centre, then blurred by ``blur`` (sigma)."""
    code = qr(URL_TEXT)
    side = round(code.shape[0] / 8 * module_px)
    picture = np.full(shape, 170, np.uint8)
    y0, x0 = (shape[0] - side) // 2, (shape[1] - side) // 2
    picture[y0 : y0 + side, x0 : x0 + side] = cv2.resize(code, (side, side), interpolation=cv2.INTER_AREA)
    if angle:
        turn = cv2.getRotationMatrix2D((shape[1] / 2, shape[0] / 2), angle, 1.0)
        picture = cv2.warpAffine(picture, turn, (shape[1], shape[0]), borderValue=170)
    return cv2.GaussianBlur(picture, (0, 0), blur) if blur else picture


def test_upscaled_stage_reads_a_code_of_1_4_px_a_module_in_a_small_photo() -> None:
    photo = small_code(1.4, 0.4, angle=20)
    assert ZXING.decode(photo) == []
    cascade = CascadeDecoder()
    found = cascade.decode(photo)
    assert texts(found) == [URL_TEXT] and cascade.last_stage == "zxing-upscaled"
    xs = [x for x, _ in found[0].corners]
    assert min(xs) >= 140 and max(xs) <= 260  # corners in the photo's pixels, not the enlarged picture's


@pytest.mark.parametrize("shape", [(720, 1280), (1080, 1920)])
def test_upscaled_stage_skips_camera_frames(shape: tuple[int, int]) -> None:
    upscaled = dict(CascadeDecoder.default_stages())["zxing-upscaled"]
    assert texts(upscaled(small_code(1.4, 0.4, angle=20))) == [URL_TEXT]
    assert upscaled(small_code(1.4, 0.4, angle=20, shape=shape)) == []


def edge_cut_code(text: str, module_px: int, shape: tuple[int, int] = (360, 480)) -> np.ndarray:
    """A grey picture whose code runs off the top edge: 0.8 of its first row of modules is outside."""
    code = qr(text, module_px=module_px, border=0)
    cut = round(0.8 * module_px)
    picture = np.full(shape, 200, np.uint8)
    picture[: code.shape[0] - cut, 150 : 150 + code.shape[1]] = code[cut:]
    return picture


@pytest.mark.parametrize("text", [URL_TEXT, ID_TEXT])
@pytest.mark.parametrize("module_px", [4, 5])
def test_upscaled_stage_frames_a_code_cut_by_the_picture_edge(text: str, module_px: int) -> None:
    photo = edge_cut_code(text, module_px)
    without_frame = CascadeDecoder(stages=CascadeDecoder.default_stages(edge_pad=False, finders=False))
    assert without_frame.decode(photo) == []
    cascade = CascadeDecoder()
    found = cascade.decode(photo)
    assert texts(found) == [text] and cascade.last_stage == "zxing-upscaled"
    side = qr(text, module_px=module_px, border=0).shape[1]
    xs = [x for x, _ in found[0].corners]
    assert min(xs) >= 140 and max(xs) <= 160 + side  # the photo's pixels, not the framed picture's


def test_zxing_reports_located_but_undecoded_symbols_as_suspects() -> None:
    found, suspects = ZXING.decode_with_suspects(small_code(1.5, 0.6, shape=(1080, 1920)))
    assert found == [] and suspects
    centre_x = sum(x for x, _ in suspects[0]) / 4
    assert 900 <= centre_x <= 1020
    assert ZXING.decode_with_suspects(np.full((1080, 1920), 170, np.uint8)) == ([], [])
    assert ZXING.decode_with_suspects(scene(qr(ID_TEXT), size=300))[1] == []


@pytest.mark.parametrize(("module_px", "blur"), [(1.5, 0.6), (1.4, 0.7)])
def test_suspect_stage_reads_a_blurred_small_code_in_a_1080p_frame(module_px: float, blur: float) -> None:
    frame = small_code(module_px, blur, shape=(1080, 1920))
    assert ZXING.decode(frame) == []
    cascade = CascadeDecoder()
    found = cascade.decode(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    assert texts(found) == [URL_TEXT] and cascade.last_stage == "zxing-suspects"
    xs = [x for x, _ in found[0].corners]
    ys = [y for _, y in found[0].corners]
    assert min(xs) >= 925 and max(xs) <= 995 and min(ys) >= 505 and max(ys) <= 575  # in frame pixels


def test_suspect_stage_does_nothing_without_suspects() -> None:
    stages = dict(CascadeDecoder.default_stages())
    frame = small_code(1.5, 0.6, shape=(1080, 1920))
    assert stages["zxing-suspects"](frame) == []  # stage 1 has not run on it: no evidence, no work
    assert stages["zxing"](frame) == []
    assert texts(stages["zxing-suspects"](frame)) == [URL_TEXT]


DENSE_TEXT = (  # a signed-pass-like payload: a version 5 code
    "HC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK G2EP4J0B3KL6QM5/OVGA/MAT%ZSNHX0OK2K1%LJJ0CIH1"
)


@pytest.mark.parametrize(
    ("text", "module_px", "blur", "angle"),
    [(URL_TEXT, 3.5, 2.0, 0.0), (ID_TEXT, 3.0, 1.6, 20.0), (DENSE_TEXT, 3.0, 1.6, 0.0)],
)
def test_sharpened_stage_reads_a_defocused_code_the_earlier_stages_miss(
    text: str, module_px: float, blur: float, angle: float
) -> None:
    code = qr(text)
    side = round(code.shape[0] / 8 * module_px)
    frame = scene(cv2.resize(code, (side, side), interpolation=cv2.INTER_AREA), angle=angle, background=170)
    frame = cv2.GaussianBlur(frame, (0, 0), blur)
    stages = dict(CascadeDecoder.default_stages())
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    for name in ("zxing", "zxing-median-global", "zxing-suspects"):
        assert stages[name](grey) == [], name
    cascade = CascadeDecoder()
    assert texts(cascade.decode(frame)) == [text] and cascade.last_stage == "zxing-sharpened"


def test_sharpened_stage_costs_less_than_its_gaussian_full_pyramid_form() -> None:
    """Stage 6 runs on every code-free camera frame: its box-filter mask and single zxing-cpp level cost about
    0.65-0.8 of the Gaussian mask with zxing-cpp's pyramid (CPU time of the process, which counts OpenCV's
    worker threads and is stretched less than wall time by a loaded machine; the two take turns)."""
    rng = np.random.default_rng(0)
    frame = cv2.cvtColor(desk_background(1920, 1080, seed=1), cv2.COLOR_BGR2GRAY)
    frame = np.clip(frame + rng.normal(0, 5, frame.shape), 0, 255).astype(np.uint8)
    cheap = dict(CascadeDecoder.default_stages())["zxing-sharpened"]
    gaussian = dict(CascadeDecoder.default_stages(cheap_sharpen=False))["zxing-sharpened"]
    spent: dict[str, list[float]] = {"cheap": [], "gaussian": []}
    for _ in range(7):
        for name, stage in (("gaussian", gaussian), ("cheap", cheap)):
            start = time.process_time()
            assert stage(frame) == []
            spent[name].append(time.process_time() - start)
    assert statistics.median(spent["cheap"]) < 0.9 * statistics.median(spent["gaussian"])


def test_cascade_survives_a_failing_stage() -> None:
    def boom(grey: np.ndarray) -> list[DecodedSymbol]:
        raise RuntimeError("library bug")

    assert CascadeDecoder(stages=[("boom", boom)]).decode(np.zeros((100, 100), np.uint8)) == []


def test_get_decoder_names() -> None:
    assert isinstance(get_decoder(), CascadeDecoder)
    assert isinstance(get_decoder("auto"), CascadeDecoder)
    assert isinstance(get_decoder("zxing"), ZxingDecoder)
    assert isinstance(get_decoder("opencv"), OpenCvDecoder) and not get_decoder("opencv").aruco
    assert get_decoder("opencv-aruco").name == "opencv-aruco"
    with pytest.raises(ValueError, match=r"unknown decoder 'nope'.*auto, zxing, opencv"):
        get_decoder("nope")


@pytest.mark.skipif(
    not zbar_available(), reason="pyzbar or the zbar system library is not installed (bench only)"
)
def test_zbar_reads_an_upright_code() -> None:
    assert texts(get_decoder("zbar").decode(scene(qr(URL_TEXT), size=400))) == [URL_TEXT]
    assert get_decoder("zbar").decode(np.zeros((0, 0), np.uint8)) == []


def _photo(name: str) -> tuple[np.ndarray, str]:
    if not PHOTOS.is_dir():
        pytest.skip(
            f"the shared QR photos are not beside the repository ({PHOTOS.parent.parent.name}/data/qr-photos)"
        )
    image_path = next((p for p in PHOTOS.glob(f"{name}.*") if p.suffix != ".txt"), None)
    if image_path is None:
        pytest.skip(f"photo {name} is not in the shared QR photos")
    return cv2.imread(str(image_path)), (PHOTOS / f"{name}.txt").read_bytes().decode("utf-8")


@pytest.mark.parametrize("name", ["12", "13", "28"])
def test_cascade_fallbacks_read_real_photos_plain_zxing_misses(name: str) -> None:
    image, expected = _photo(name)
    assert expected not in texts(ZXING.decode(image))
    assert texts(CASCADE.decode(image)) == [expected]
    assert CASCADE.last_stage == "zxing-median-global"


@pytest.mark.parametrize("name", ["qr-inv-1", "33", "gs1-figure-4.15.1-2"])
def test_real_photos_inverted_control_characters_and_gs1(name: str) -> None:
    image, expected = _photo(name)
    assert texts(CASCADE.decode(image)) == [expected]

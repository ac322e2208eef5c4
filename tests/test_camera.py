"""Camera sources: the fake, the image folder (pacing, bad files, empty folder), the demo (its frames decode
to its sample texts), OpenCV on a video file the test writes, and the ``open_camera`` dispatch."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.camera import Camera, CameraDisconnected, CameraError, CameraSourceInvalid, NoCameraFound
from devices.camera.demo import DEMO_TEXTS, DemoCamera, qr_module_image
from devices.camera.factory import open_camera
from devices.camera.fake import FakeCamera
from devices.camera.folder import ImageFolderCamera
from devices.camera.opencv import OpenCvCamera
from devices.qr import CascadeDecoder
from kiosk.idnumber import parse_id_number


class FakeClock:
    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def solid(level: int, shape: tuple[int, int] = (48, 64)) -> np.ndarray:
    return np.full((*shape, 3), level, np.uint8)


# --- FakeCamera ---------------------------------------------------------------------------------------------


def test_fake_camera_returns_frames_in_order_then_none() -> None:
    frames = [solid(10), solid(20), solid(30)]
    cam = FakeCamera(frames)
    cam.open()
    got = [cam.read() for _ in range(5)]
    assert [int(f[0, 0, 0]) for f in got[:3]] == [10, 20, 30]
    assert got[3:] == [None, None]


def test_fake_camera_loops_and_fails_after_n_frames() -> None:
    looping = FakeCamera([solid(1), solid(2)], loop=True)
    looping.open()
    assert [int(looping.read()[0, 0, 0]) for _ in range(5)] == [1, 2, 1, 2, 1]

    failing = FakeCamera([solid(1), solid(2), solid(3)], loop=True, fail_after=2)
    failing.open()
    assert int(failing.read()[0, 0, 0]) == 1 and int(failing.read()[0, 0, 0]) == 2
    with pytest.raises(CameraDisconnected):
        failing.read()


def test_reading_a_closed_source_is_a_camera_error() -> None:
    with pytest.raises(CameraError):
        FakeCamera([solid(1)]).read()
    with pytest.raises(CameraError):
        DemoCamera().read()


def test_every_source_satisfies_the_camera_protocol(tmp_path: Path) -> None:
    sources = [FakeCamera([]), DemoCamera(), ImageFolderCamera(tmp_path), OpenCvCamera(0)]
    assert all(isinstance(s, Camera) for s in sources)
    assert all(s.fps > 0 for s in sources)


# --- ImageFolderCamera --------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, level in (("b.png", 20), ("a.png", 10), ("d.jpg", 40)):  # written out of name order
        cv2.imwrite(str(tmp_path / name), solid(level))
    (tmp_path / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def _level(frame: np.ndarray | None) -> int | None:
    return None if frame is None else round(float(frame.mean()))


def test_image_folder_serves_in_name_order_at_fps_and_skips_bad_files(folder: Path, caplog) -> None:
    clock = FakeClock()
    cam = ImageFolderCamera(folder, fps=10.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="devices.camera"):
        cam.open()
        got = [_level(cam.read())]
        for _ in range(8):
            clock.advance(0.05)  # half a frame period: every other read is due
            got.append(_level(cam.read()))
    assert got == [10, None, 20, None, 40, None, 10, None, 20]  # c.png skipped, then it loops
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "c.png" in warnings[0]


def test_image_folder_does_not_burst_after_a_stall(folder: Path) -> None:
    clock = FakeClock()
    cam = ImageFolderCamera(folder, fps=10.0, clock=clock)
    cam.open()
    assert cam.read() is not None
    clock.advance(5.0)  # the caller was busy for 50 periods
    assert cam.read() is not None
    assert cam.read() is None  # not 49 frames in a row to catch up
    clock.advance(0.1)
    assert cam.read() is not None


def test_image_folder_without_loop_ends_with_none(folder: Path) -> None:
    clock = FakeClock()
    cam = ImageFolderCamera(folder, fps=1.0, loop=False, clock=clock)
    cam.open()
    levels = []
    for _ in range(5):
        levels.append(_level(cam.read()))
        clock.advance(1.0)
    assert levels == [10, 20, 40, None, None]


def test_image_folder_without_a_readable_image_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(CameraSourceInvalid, match="no readable image"):
        ImageFolderCamera(tmp_path).open()
    (tmp_path / "broken.png").write_bytes(b"nope")
    with pytest.raises(CameraSourceInvalid, match="no readable image"):
        ImageFolderCamera(tmp_path).open()
    with pytest.raises(CameraSourceInvalid, match="not a folder"):
        ImageFolderCamera(tmp_path / "missing").open()


# --- DemoCamera ---------------------------------------------------------------------------------------------


def test_demo_default_texts_are_an_id_number_a_url_and_a_ticket() -> None:
    id_number, url, ticket = DEMO_TEXTS
    assert parse_id_number(id_number).value == id_number  # valid check digit
    assert url.startswith("https://") and ticket == "TICKET-0001"


def test_demo_frames_decode_to_its_sample_texts_in_turn() -> None:
    clock = FakeClock()
    cam = DemoCamera(fps=5.0, seconds_per_code=1.0, clock=clock)
    cam.open()
    decoder = CascadeDecoder()
    seen: list[str] = []
    empty_gap_frames = 0
    for _ in range(31):  # 3 codes x (1 s code + 1 s gap) at 5 fps, plus the first frame of the next round
        frame = cam.read()
        assert frame is not None and frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
        assert cam.read() is None  # paced: nothing new until the clock moves on
        found = [s.text for s in decoder.decode(frame)]
        if cam.code_index_at(clock.now - 100.0) is None:
            assert found == []
            empty_gap_frames += 1
        elif found and (not seen or seen[-1] != found[0]):
            seen.append(found[0])
        clock.advance(0.2)
    assert seen == [*DEMO_TEXTS, DEMO_TEXTS[0]]
    assert empty_gap_frames >= 12


def test_demo_code_moves_and_custom_texts_are_shown() -> None:
    cam = DemoCamera(width=640, height=480, texts=["A-1", "B-2"], seconds_per_code=2.0)
    cam.open()
    decoder = CascadeDecoder()
    first, later = decoder.decode(cam.frame_at(0.2)), decoder.decode(cam.frame_at(1.8))
    assert [s.text for s in first] == ["A-1"] and [s.text for s in later] == ["A-1"]
    assert np.abs(np.subtract(first[0].corners, later[0].corners)).max() > 5  # it drifts
    assert [s.text for s in decoder.decode(cam.frame_at(3.5))] == ["B-2"]


def test_qr_module_image_has_the_quiet_zone() -> None:
    image = qr_module_image("TICKET-0001", module_px=4, border=4)
    assert image.shape == ((21 + 8) * 4, (21 + 8) * 4)
    assert (image[:16] == 255).all() and (image[16:44, 16:44] == 0).any()


# --- OpenCvCamera -------------------------------------------------------------------------------------------


LEVELS = [30, 90, 150, 210]


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (320, 240))
    assert writer.isOpened()
    for level in LEVELS:
        writer.write(solid(level, (240, 320)))
    writer.release()
    return path


def test_opencv_camera_reads_a_video_file_and_loops_at_its_end(video: Path) -> None:
    cam = OpenCvCamera(str(video))
    cam.open()
    try:
        levels = [_level(cam.read()) for _ in range(len(LEVELS) * 2 + 1)]
    finally:
        cam.close()
    assert all(abs(got - want) <= 3 for got, want in zip(levels, LEVELS * 2 + LEVELS[:1], strict=True))
    assert cam.fps == pytest.approx(12.0)
    assert cam.describe() == "video file clip.avi"


def test_opencv_camera_video_with_a_code_decodes(tmp_path: Path) -> None:
    path = tmp_path / "code.avi"
    code = cv2.cvtColor(cv2.resize(qr_module_image("TICKET-0001", 10), (300, 300)), cv2.COLOR_GRAY2BGR)
    frame = np.full((480, 640, 3), 160, np.uint8)
    frame[90:390, 170:470] = code
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    writer.write(frame)
    writer.release()
    cam = open_camera(f"file://{path}")
    cam.open()
    assert [s.text for s in CascadeDecoder().decode(cam.read())] == ["TICKET-0001"]
    cam.close()


def test_opencv_camera_on_a_missing_device_or_file_is_no_camera_found(tmp_path: Path) -> None:
    with pytest.raises(NoCameraFound, match="camera #99"):
        OpenCvCamera(99).open()
    with pytest.raises(NoCameraFound, match="no such file"):
        OpenCvCamera(str(tmp_path / "missing.avi")).open()
    with pytest.raises(CameraError):
        OpenCvCamera(0).read()  # never opened


class _DroppingCapture:
    """Stands in for cv2.VideoCapture on a stream that delivers two frames, then drops."""

    def __init__(self) -> None:
        self.frames = [solid(5), solid(6)]

    def read(self) -> tuple[bool, np.ndarray | None]:
        return (True, self.frames.pop(0)) if self.frames else (False, None)

    def release(self) -> None:
        pass


def test_opencv_stream_that_stops_after_working_is_disconnected() -> None:
    cam = OpenCvCamera("rtsp://user:secret@192.0.2.1:554/live")
    cam._cap = _DroppingCapture()  # type: ignore[assignment]
    assert _level(cam.read()) == 5 and _level(cam.read()) == 6
    with pytest.raises(CameraDisconnected) as err:
        cam.read()
    assert "secret" not in str(err.value) and "192.0.2.1:554" in str(err.value)


# --- open_camera --------------------------------------------------------------------------------------------


def test_open_camera_dispatches_each_kind_of_spec(folder: Path, video: Path) -> None:
    assert isinstance(open_camera("demo"), DemoCamera)
    device = open_camera("2")
    assert isinstance(device, OpenCvCamera) and device.source == 2
    assert isinstance(open_camera(str(folder)), ImageFolderCamera)
    file_cam = open_camera(str(video))
    assert isinstance(file_cam, OpenCvCamera) and file_cam.describe() == "video file clip.avi"
    for url in ("rtsp://cam.local/stream", "http://192.0.2.7:8080/video", "https://cam.example/mjpg"):
        stream = open_camera(url)
        assert isinstance(stream, OpenCvCamera) and stream.source == url
    assert open_camera("rtsp://admin:hunter2@cam.local/s").describe() == "stream rtsp://***@cam.local/s"
    assert open_camera(f"file://{video}").describe() == "video file clip.avi"


@pytest.mark.parametrize("spec", ["", "   ", "no-such-thing", "ftp://host/file", "-1", "cam0"])
def test_open_camera_rejects_anything_else_with_a_clear_message(spec: str) -> None:
    with pytest.raises(CameraSourceInvalid, match=r"camera spec|unsupported URL scheme"):
        open_camera(spec)

"""Camera trouble: the top bar says so, the kiosk keeps running, and a camera that comes back is used."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer

from devices.camera import CameraSourceInvalid, NoCameraFound
from devices.camera.fake import FakeCamera
from kiosk.i18n import translate
from tools.synth_frames import POSES, code_frame, scene, valid_id_number
from ui.scan_pipeline import FAILED_AFTER_ATTEMPTS


class Unplugged:
    """A camera that is not there: open() fails like an unplugged USB camera."""

    fps = 30.0

    def open(self) -> None:
        raise NoCameraFound("camera #0: cannot be opened")

    def read(self) -> None:
        raise AssertionError("read() after a failed open()")

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return "camera #0"


def test_a_disconnected_camera_is_shown_and_recovers(make_window: Any, verdicts: Any, qtbot: Any) -> None:
    background = scene()
    good = FakeCamera([background] * 3 + [code_frame(valid_id_number(), POSES["rotated"])] * 8 + [background])
    cameras: list[Any] = [FakeCamera([background] * 5, fail_after=5), Unplugged(), Unplugged(), good]
    states: list[tuple[str, str]] = []

    def factory() -> Any:
        return cameras.pop(0) if len(cameras) > 1 else cameras[0]

    ticks: list[int] = []
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: ticks.append(1))
    heartbeat.start(20)
    window = make_window(camera_factory=factory)
    window.pipeline.camera_status.connect(lambda state, reason: states.append((state, reason)))
    seen = verdicts(window)
    bar = window.top_bar

    qtbot.waitUntil(lambda: bar.camera_state == "reconnecting", timeout=3000)
    assert bar.camera_label.text() == translate("camera.reconnecting", "zh-CN")
    reason = bar.camera_reason_label.toolTip()  # in full; the label itself elides a long one
    assert "disconnected" in reason or "cannot be opened" in reason
    assert bar.camera_reason_label.text()[:6] in reason

    # Back with the good camera: status OK, and its code is inspected as usual.
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=5000)
    assert bar.camera_state == "ok"
    assert bar.camera_label.text() == translate("camera.ok", "zh-CN")
    assert bar.camera_reason_label.text() == ""
    assert seen[0]["verdict"] == "green"
    assert [s for s, _ in states].count("reconnecting") >= 2
    assert good.is_open
    heartbeat.stop()
    assert len(ticks) > 10  # the event loop kept running while the camera was away

    window.shutdown()
    assert not good.is_open  # closed on shutdown


def test_a_camera_that_never_comes_back_is_reported_failed(make_window: Any, qtbot: Any) -> None:
    attempts: list[int] = []

    def factory() -> Any:
        attempts.append(1)
        return Unplugged()

    window = make_window(camera_factory=factory)
    qtbot.waitUntil(lambda: window.top_bar.camera_state == "failed", timeout=5000)
    assert window.top_bar.camera_label.text() == translate("camera.failed", "zh-CN")
    assert len(attempts) >= FAILED_AFTER_ATTEMPTS
    qtbot.wait(400)
    assert len(attempts) > FAILED_AFTER_ATTEMPTS  # still retrying, so a re-plugged camera comes back


def test_an_invalid_camera_setting_fails_at_once_without_retrying(make_window: Any, qtbot: Any) -> None:
    attempts: list[int] = []

    def factory() -> Any:
        attempts.append(1)
        raise CameraSourceInvalid("camera spec 'nonsense' is not usable")

    window = make_window(camera_factory=factory)
    qtbot.waitUntil(lambda: window.top_bar.camera_state == "failed", timeout=3000)
    assert "nonsense" in window.top_bar.camera_reason_label.toolTip()
    qtbot.wait(300)
    assert len(attempts) == 1

"""Pieces of the scan pipeline and the background helper, in isolation."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread

from devices.camera.fake import FakeCamera
from tools.synth_frames import scene
from ui.operations import Lane, run_op
from ui.scan_pipeline import PREVIEW_WIDTH, Debouncer, FrameMailbox


def test_the_mailbox_keeps_only_the_newest_frame() -> None:
    box = FrameMailbox()
    frames = [np.full((2, 2, 3), i, np.uint8) for i in range(3)]
    for i, frame in enumerate(frames):
        box.put(frame, float(i))
    frame, captured_at = box.take(timeout=0.01)
    assert captured_at == 2.0
    assert frame is frames[2]
    assert box.take(timeout=0.01) is None  # taken: no backlog of older frames behind it


def test_the_mailbox_wakes_a_waiting_taker() -> None:
    box = FrameMailbox()
    got: list[Any] = []
    taker = threading.Thread(target=lambda: got.append(box.take(timeout=5)))
    taker.start()
    box.put(np.zeros((1, 1, 3), np.uint8), 7.0)
    taker.join(2)
    assert got and got[0][1] == 7.0


def test_the_debouncer_ignores_a_code_until_it_has_been_away_for_the_hold() -> None:
    debounce = Debouncer(hold_s=1.0)
    assert debounce.is_new("A", 0.0)
    assert not debounce.is_new("A", 0.5)
    assert not debounce.is_new("A", 1.4)  # still in view: every sighting extends the hold
    assert debounce.is_new("B", 1.4)
    assert debounce.is_new("A", 2.5)  # away for 1.1 s


def test_run_op_delivers_results_and_errors_on_the_gui_thread(qapp: Any, qtbot: Any) -> None:
    parent = QObject()
    gui = QThread.currentThread()
    outcome: dict[str, Any] = {}

    def work() -> int:
        outcome["worker"] = QThread.currentThread()
        return 42

    def done(value: int) -> None:
        outcome["value"] = value
        outcome["delivered_on"] = QThread.currentThread()

    run_op(parent, work, lane=Lane.IO, on_success=done)
    qtbot.waitUntil(lambda: "value" in outcome, timeout=2000)
    assert outcome["value"] == 42
    assert outcome["delivered_on"] is gui
    assert outcome["worker"] is not gui

    def boom() -> None:
        raise RuntimeError("disk full")

    errors: list[Exception] = []
    run_op(parent, boom, lane=Lane.IO, on_success=lambda _: None, on_failure=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=2000)
    assert str(errors[0]) == "disk full"


def test_the_preview_is_small_and_at_most_about_15_fps(make_window: Any, qtbot: Any) -> None:
    camera = FakeCamera([scene(1920, 1080)], loop=True, fps=30.0)
    window = make_window(camera_factory=lambda: camera, screen="home")
    images: list[Any] = []
    window.pipeline.frame_ready.connect(images.append)
    qtbot.waitUntil(lambda: bool(images), timeout=3000)
    images.clear()
    served = camera.served
    qtbot.wait(1000)
    assert camera.served - served >= 20  # the camera ran at its own pace…
    assert 5 <= len(images) <= 17  # …the preview at most ~15 fps
    assert images[-1].width() == PREVIEW_WIDTH
    assert images[-1].height() == PREVIEW_WIDTH * 1080 // 1920

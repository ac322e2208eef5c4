"""The camera ID step in the real window: generated card frames read by the real OCR engine into a form
step, the manual fallback, camera failure, and the models still loading."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel

from devices.camera import NoCameraFound
from devices.camera.demo import desk_background
from devices.ocr import BackgroundLoader, OcrUnavailable, RapidOcrEngine, TextLine
from kiosk.forms.answers import check_field
from kiosk.forms.definition import SERVICES_DIR, load_definition
from kiosk.i18n import translate
from kiosk.masking import mask_id_number
from tools.idcard_synth import make_sample
from tools.synth_frames import valid_id_number

PLACE_CARD = "ocr.prompt.place_card"
# A desk with nothing card-like on it: the finder sees no card, so the reader asks for one.
EMPTY_DESK_SEED = 4


class DeskCamera:
    """The camera over the kiosk's card tray: an empty desk until ``place()`` puts frames of a card there."""

    fps = 30.0

    def __init__(self) -> None:
        self._frames = [desk_background(1280, 720, seed=EMPTY_DESK_SEED)]
        self._index = 0
        self._lock = threading.Lock()

    def place(self, frames: Sequence[np.ndarray]) -> None:
        with self._lock:
            self._frames = list(frames)
            self._index = 0

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        with self._lock:
            frame = self._frames[self._index % len(self._frames)]
            self._index += 1
        return frame

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return "desk camera"


class Unplugged(DeskCamera):
    def open(self) -> None:
        raise NoCameraFound("camera #0: cannot be opened")


class BlockingEngine:
    """Models that take as long as the test wants to load; then they read no text at all."""

    name = "blocking"

    def __init__(self) -> None:
        self.release = threading.Event()

    def load(self) -> None:
        if not self.release.wait(10):
            raise OcrUnavailable("never released")

    def recognise(self, image: np.ndarray) -> list[TextLine]:
        return []


@pytest.fixture(scope="module")
def ocr_loader() -> BackgroundLoader:
    loader = BackgroundLoader(RapidOcrEngine()).start()
    loader.wait(timeout=120)
    return loader


def _changes(keys: list[str]) -> list[str]:
    """The prompts in the order they appeared, each run of repeats as one."""
    return [key for i, key in enumerate(keys) if i == 0 or keys[i - 1] != key]


def _label_texts(widget: Any) -> list[str]:
    return [label.text() for label in widget.findChildren(QLabel)]


def open_id_step(window: Any) -> Any:
    """The window's camera ID step, shown and begun the way a service form does it."""
    step = window.make_id_capture_step(window.language)
    window.stack.addWidget(step)
    window.stack.setCurrentWidget(step)
    step.begin(window.language)
    return step


def test_generated_card_frames_fill_the_form_step(make_window: Any, qtbot: Any, ocr_loader: Any) -> None:
    sample = make_sample(13, "front", "easy", 2)
    card = [sample.image, make_sample(13, "front", "easy", 2, noise_sigma=3.0).image]
    camera = DeskCamera()
    window = make_window(camera_factory=lambda: camera, screen="home", ocr_loader_factory=lambda: ocr_loader)
    qtbot.waitUntil(lambda: window.ocr_models.loader is not None, timeout=3000)
    step = open_id_step(window)
    screen = step.camera
    prompts: list[str] = []
    captured: list[tuple[Any, list[str]]] = []
    card_fields: list[dict[str, str]] = []
    screen.worker.reader_update.connect(lambda update: prompts.append(update.prompt.key))
    screen.captured.connect(lambda result, to_check: captured.append((result, to_check)))
    step.captured.connect(card_fields.append)

    qtbot.waitUntil(lambda: PLACE_CARD in prompts, timeout=5000)
    assert screen.prompt_label.text() == translate(PLACE_CARD, "zh-CN")
    assert screen.status_label.isHidden()  # the models were ready: no "starting" notice
    qtbot.waitUntil(lambda: screen.preview.has_frame, timeout=2000)

    camera.place(card)
    qtbot.waitUntil(lambda: bool(captured), timeout=20000)
    result, to_check = captured[0]
    assert result.fields == sample.truth
    assert to_check == result.low_confidence_fields()
    assert _changes(prompts)[0] == PLACE_CARD
    assert "ocr.prompt.hold_still" in prompts
    assert _changes(prompts)[-1] == "ocr.prompt.done"
    assert len(captured) == 1 and not screen.worker.running
    assert card_fields == [sample.truth] and step.to_check == to_check

    # What a service form's ID-capture step takes from the card passes that form's own checks.
    definition = load_definition(SERVICES_DIR / "health-declaration.json")
    id_step = next(s for s in definition.steps if s.kind == "id_capture")
    filled = {f.id: check_field(f, card_fields[0][f.from_card]) for f in id_step.fields if f.from_card}
    assert filled["id_number"] == sample.truth["id_number"]
    assert filled["name"] == sample.truth["name"]

    # On screen: the details read, the ID number masked, and no camera frame showing the card.
    number = sample.truth["id_number"]
    texts = _label_texts(screen)
    assert mask_id_number(number) in texts and sample.truth["name"] in texts
    assert not any(number in text for text in texts)
    assert screen.pages.currentWidget() is screen.result_panel and not screen.preview.has_frame
    assert screen.prompt_label.text() == translate("ocr.prompt.done", "zh-CN")

    window.show_home()  # leaving the step drops the card
    assert screen.result is None and not screen.active
    assert screen.portrait_label.pixmap().isNull() and screen.fields_form.rowCount() == 0
    assert not any(sample.truth["name"] in text for text in _label_texts(screen))


def test_the_fields_to_check_are_marked_on_the_read_card(
    make_window: Any, qtbot: Any, ocr_loader: Any
) -> None:
    sample = make_sample(7, "front", "hard", 6)  # 彝 blurred to a blob: read as 白 and highlighted
    camera = DeskCamera()
    window = make_window(camera_factory=lambda: camera, screen="home", ocr_loader_factory=lambda: ocr_loader)
    qtbot.waitUntil(lambda: window.ocr_models.loader is not None, timeout=3000)
    screen = open_id_step(window).camera
    captured: list[tuple[Any, list[str]]] = []
    screen.captured.connect(lambda result, to_check: captured.append((result, to_check)))
    camera.place([sample.image])
    qtbot.waitUntil(lambda: bool(captured), timeout=20000)
    result, to_check = captured[0]
    assert to_check  # this card has something to check
    # Each warning the reader raised is said in words, in the person's language.
    assert result.warnings
    shown = screen.warnings_label.text().split("\n")
    assert shown == [translate(f"ocr.warning.{code}", "zh-CN") for code in result.warnings]
    assert all(not line.startswith("ocr.warning.") for line in shown)
    marked = {}
    for row in range(screen.fields_form.rowCount()):
        caption = screen.fields_form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
        value = screen.fields_form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget()
        marked[caption.text()] = value.property("check") == "true"
    captions = {translate(f"idcard.field.{name}", "zh-CN"): name for name in sample.truth}
    assert {captions[c] for c, on in marked.items() if on} == set(to_check)
    assert screen.check_label.text() == translate("idcapture.to_check", "zh-CN", n=len(to_check))


def test_idle_reset_stops_a_capture_and_clears_the_preview(
    make_window: Any, qtbot: Any, ocr_loader: Any
) -> None:
    camera = DeskCamera()
    window = make_window(camera_factory=lambda: camera, screen="home", ocr_loader_factory=lambda: ocr_loader)
    step = open_id_step(window)
    screen = step.camera
    qtbot.waitUntil(lambda: screen.preview.has_frame and screen.worker.running, timeout=5000)
    step.clear_personal_data()  # what the service screen does on an idle reset
    assert not screen.worker.running and not screen.preview.has_frame
    # A frame still on its way from the camera thread is not shown once the capture has stopped.
    frames: list[Any] = []
    window.pipeline.frame_ready.connect(frames.append)
    qtbot.waitUntil(lambda: len(frames) >= 2, timeout=2000)
    assert not screen.preview.has_frame


def test_manual_entry_is_offered_at_once_while_the_models_load(make_window: Any, qtbot: Any) -> None:
    engine = BlockingEngine()
    loader = BackgroundLoader(engine)
    camera = DeskCamera()
    window = make_window(
        camera_factory=lambda: camera, screen="home", ocr_loader_factory=lambda: loader.start()
    )
    step = open_id_step(window)
    screen = step.camera
    qtbot.waitUntil(lambda: screen.models_state == "loading", timeout=3000)
    assert not loader.ready
    assert screen.status_label.text() == translate("idcapture.loading", "zh-CN")
    assert screen.prompt_label.text() == translate(PLACE_CARD, "zh-CN")  # the card may go down already
    assert screen.manual_button.isVisible() and screen.manual_button.isEnabled()

    qtbot.mouseClick(screen.manual_button, Qt.MouseButton.LeftButton)
    assert step.pages.currentWidget() is step.manual and not screen.worker.running

    # Back to the camera, and the models arrive: the notice goes and the reader asks for the card.
    qtbot.mouseClick(step.manual.back_button, Qt.MouseButton.LeftButton)
    assert step.pages.currentWidget() is screen and screen.worker.running
    updates: list[Any] = []
    screen.worker.reader_update.connect(updates.append)
    engine.release.set()
    qtbot.waitUntil(lambda: screen.models_state == "ready" and bool(updates), timeout=5000)
    assert updates[0].prompt.key == PLACE_CARD
    assert screen.status_label.isHidden()


def test_a_failed_camera_says_so_and_leaves_manual_entry(
    make_window: Any, qtbot: Any, ocr_loader: Any
) -> None:
    window = make_window(camera_factory=Unplugged, screen="home", ocr_loader_factory=lambda: ocr_loader)
    qtbot.waitUntil(lambda: window.top_bar.camera_state == "failed", timeout=5000)
    step = open_id_step(window)  # the camera failed before the step came up: it says so all the same
    screen = step.camera
    assert screen.status_label.text() == translate("idcapture.camera_failed", "zh-CN")
    assert screen.prompt_label.text() == translate("idcapture.type_instead", "zh-CN")
    assert screen.manual_button.property("emphasis") == "true"

    # Typing works as it does without a camera: checked as typed, nothing left for the review to doubt.
    qtbot.mouseClick(screen.manual_button, Qt.MouseButton.LeftButton)
    typed: list[dict[str, str]] = []
    step.captured.connect(typed.append)
    step.manual.name_edit.setText("王小明")
    for key in valid_id_number():
        step.manual.press(key)
    step.manual.confirm()
    assert typed == [{"name": "王小明", "id_number": valid_id_number()}] and step.to_check == []

    step.begin("en")
    assert screen.status_label.text() == translate("idcapture.camera_failed", "en")
    with qtbot.waitSignal(step.cancelled, timeout=1000):
        qtbot.mouseClick(screen.cancel_button, Qt.MouseButton.LeftButton)


def test_without_an_ocr_engine_only_manual_entry_is_left(make_window: Any, qtbot: Any) -> None:
    def broken() -> BackgroundLoader:
        raise OcrUnavailable("unknown OCR engine 'tesseract'")

    window = make_window(camera_factory=DeskCamera, screen="home", ocr_loader_factory=broken)
    qtbot.waitUntil(lambda: window.ocr_models.unavailable, timeout=3000)
    screen = open_id_step(window).camera
    assert not screen.worker.running
    assert screen.status_label.text() == translate("idcapture.unavailable", "zh-CN")
    assert screen.manual_button.property("emphasis") == "true"

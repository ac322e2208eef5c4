"""The ID-card reader in the real window: the ID step reads the chip over a simulated reader on a pty while
the camera reads beside it; a failing reader says what to do; submissions record where the identity came
from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QFormLayout

from devices.ocr import BackgroundLoader, TextLine
from kiosk.config import Settings
from kiosk.forms.answers import example_answers
from kiosk.forms.definition import SERVICES_DIR, load_definition
from kiosk.forms.slots import FakeSlots
from kiosk.forms.submissions import SubmissionDesk
from kiosk.i18n import translate
from kiosk.masking import mask_id_number
from kiosk.store import Store
from tools.id_reader_sim import RARE_NAME_CARD, ReaderSimulator, text_block
from ui.admin.health import HealthPage


class NoTextEngine:
    """OCR models that load at once and read nothing: the camera path runs, but never wins."""

    name = "no-text"

    def load(self) -> None:
        pass

    def recognise(self, image: np.ndarray) -> list[TextLine]:
        return []


@pytest.fixture
def sim() -> Any:
    simulator = ReaderSimulator()
    yield simulator
    simulator.close()


def _open_id_step(window: Any) -> Any:
    step = window.make_id_capture_step(window.language)
    window.stack.addWidget(step)
    window.stack.setCurrentWidget(step)
    step.begin(window.language)
    return step


def test_the_chip_wins_over_the_camera_and_its_fields_are_certain(
    make_window: Any, qtbot: Any, sim: ReaderSimulator
) -> None:
    loader = BackgroundLoader(NoTextEngine()).start()
    window = make_window(
        screen="home",
        mode="self-service",
        id_reader=f"serial:{sim.device}",
        ocr_loader_factory=lambda: loader,
    )
    qtbot.waitUntil(lambda: window.ocr_models.loader is not None, timeout=3000)
    step = _open_id_step(window)
    screen = step.camera
    fields: list[dict[str, str]] = []
    step.captured.connect(fields.append)

    # No card yet: the reader is offered first, and the camera reads at the same time.
    assert screen.reader_label.text() == "请将身份证放在读卡区"
    qtbot.waitUntil(lambda: screen.worker.running, timeout=5000)

    # A reader that answers garbage: the person is told what to do, nothing stops.
    sim.garble = 1000
    failed = "读卡失败，请重新放置或使用摄像头识别"
    qtbot.waitUntil(lambda: screen.reader_label.text() == failed, timeout=5000)
    assert screen.reader_label.property("severity") == "error" and screen.worker.running
    sim.garble = 0

    sim.card = text_block(RARE_NAME_CARD)
    qtbot.waitUntil(lambda: bool(fields), timeout=5000)
    assert fields[0]["name"] == "厍䶮" and fields[0]["id_number"] == RARE_NAME_CARD["id_number"]
    assert step.source == "chip" and step.to_check == []
    assert not screen.worker.running  # the first complete source won: the camera stopped
    # On screen: no field highlighted, the number masked, which source it was, no photo without a library.
    for row in range(screen.fields_form.rowCount()):
        value = screen.fields_form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget()
        assert value.property("check") == "false"
        assert RARE_NAME_CARD["id_number"] not in value.text()
    shown = [screen.fields_form.itemAt(r, QFormLayout.ItemRole.FieldRole).widget().text() for r in range(6)]
    assert mask_id_number(RARE_NAME_CARD["id_number"]) in shown and "厍䶮" in shown
    assert screen.source_label.text() == translate("idreader.source.chip", "zh-CN")
    assert screen.portrait_label.text() == translate("idreader.no_photo", "zh-CN")
    assert len(fields) == 1  # the card still lying there is not read twice


def test_an_unplugged_reader_leaves_the_camera_path(
    make_window: Any, qtbot: Any, sim: ReaderSimulator
) -> None:
    window = make_window(screen="home", mode="self-service", id_reader=f"serial:{sim.device}")
    step = _open_id_step(window)
    screen = step.camera
    sim.unplug()
    qtbot.waitUntil(lambda: screen.reader_label.property("severity") == "error", timeout=5000)
    assert screen.reader_label.text() == translate("idreader.read_failed", "zh-CN")
    assert screen.manual_button.isVisible() and window.chip.monitor.state == "unplugged"
    # The device-health page and the heartbeat say so too.
    qtbot.waitUntil(lambda: window.health.heartbeat().get("id_reader") == "unplugged", timeout=5000)
    assert "id_reader" in window.health.heartbeat()["problems"].split(",")
    page = HealthPage("zh-CN")
    page.show_report(window.health.report, window.health.problems)
    assert page.value_text("id_reader").startswith("未连接") and page.state_of("id_reader") == "bad"
    errors = window.health.report.id_reader_errors
    assert errors >= 1 and f"错误 {errors} 次" in page.value_text("id_reader")


def test_without_a_reader_the_step_is_the_camera_alone(make_window: Any) -> None:
    window = make_window(screen="home", mode="self-service")
    screen = _open_id_step(window).camera
    assert screen.chip is None and screen.reader_label.isHidden()


def test_the_submission_records_the_identity_source(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, checkpoint_id="CP-014")
    store = Store(settings.store_path)
    desk = SubmissionDesk(store, settings, FakeSlots())
    definition = load_definition(SERVICES_DIR / "vehicle-pass.json")
    answers = example_answers(definition)
    chip = desk.submit(definition, answers, "zh-CN", identity_source="chip")
    untold = desk.submit(definition, answers, "zh-CN")
    with pytest.raises(ValueError):
        desk.submit(definition, answers, "zh-CN", identity_source="guessed")
    outbox = store.query("SELECT item_id, payload FROM outbox")
    rows = {r["item_id"]: json.loads(r["payload"]) for r in outbox}
    assert rows[chip.id]["fields"]["identity_source"] == "chip"
    assert "identity_source" not in rows[untold.id]["fields"]
    store.close()

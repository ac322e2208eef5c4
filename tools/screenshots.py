"""Render the kiosk's screens offscreen at 1280x800 into docs/screenshots/ (``python -m tools.screenshots``).

The checkpoint shots are real: generated camera frames go through the real decoder, pipeline and store, in a
throw-away data folder, so what the pictures show is what the kiosk does. So are the ID-capture shots:
generated card photos read by the real OCR engine.
"""

from __future__ import annotations

import os

from tools import offscreen

os.environ["QT_QPA_PLATFORM"] = offscreen.platform()

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QWidget

from devices.camera.demo import desk_background
from devices.camera.fake import FakeCamera
from devices.qr import get_decoder
from devices.speaker import FakeSpeaker
from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.paths import PROJECT_ROOT
from tools.idcard_synth import make_sample
from tools.synth_frames import Pose, code_frame, scene, valid_id_number, wrong_check_digit
from ui.app import build_main_window, create_application, make_ocr_loader
from ui.main_window import MainWindow

OUT_DIR = PROJECT_ROOT / "docs" / "screenshots"
SIZE = (1280, 800)
VERDICT_CODES = (
    ("green", valid_id_number()),
    ("yellow", "https://health.example.gov.cn/pass?token=demo"),
    ("red", wrong_check_digit()),
)


def spin(ms: int) -> None:
    """Let the event loop run for ``ms`` milliseconds (threads deliver, widgets repaint)."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(condition: Callable[[], bool], timeout_ms: int = 8000) -> None:
    waited = 0
    while not condition():
        if waited >= timeout_ms:
            raise TimeoutError("the window did not reach the expected state")
        spin(20)
        waited += 20


def _wrote(path: Path) -> None:
    print(f"wrote {path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path}")


def save(window: QWidget, path: Path, settle_ms: int = 0) -> QImage:
    """The window as it looks after ``settle_ms`` of repainting, written to ``path``."""
    if settle_ms:
        spin(settle_ms)
    image = window.grab().toImage()
    image.save(str(path))
    _wrote(path)
    return image


def save_pdf_page(pdf: Path | bytes, path: Path, scale: float) -> None:
    """The first page of a receipt PDF as a PNG, rendered with pdfium as a printer driver would."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        document[0].render(scale=scale).to_pil().save(path)
    finally:
        document.close()
    _wrote(path)


def output_folders(description: str, out: Path, receipts: Path) -> argparse.Namespace:
    """``--out`` (screens) and ``--receipts`` (receipt PNGs) from the command line, both created."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=out)
    parser.add_argument("--receipts", type=Path, default=receipts)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.receipts.mkdir(parents=True, exist_ok=True)
    return args


def side_by_side(images: list[QImage], path: Path, gap: int = 24) -> None:
    scaled = [i.scaledToWidth(SIZE[0] // 2, Qt.TransformationMode.SmoothTransformation) for i in images]
    width = sum(i.width() for i in scaled) + gap * (len(scaled) + 1)
    height = max(i.height() for i in scaled) + 2 * gap
    canvas = QImage(width, height, QImage.Format.Format_RGB32)
    canvas.fill(QColor("#FFFFFF"))
    painter = QPainter(canvas)
    x = gap
    for image in scaled:
        painter.drawImage(QRect(x, gap, image.width(), image.height()), image)
        x += image.width() + gap
    painter.end()
    canvas.save(str(path))
    _wrote(path)


def build(data_dir: Path, frames: list, **overrides: object) -> MainWindow:
    settings = Settings(data_dir=data_dir, sound=False, verdict_hold_s=30.0, **overrides)  # type: ignore[arg-type]
    core = open_core(settings)
    window = build_main_window(core, lambda: FakeCamera(frames, fps=30.0), get_decoder, FakeSpeaker())
    window.resize(*SIZE)
    window.show()
    return window


def id_capture_shots(data_dir: Path, out: Path) -> None:
    """The camera ID step of a service form, hosted the way the form hosts it: reading, then read."""
    settings = Settings(data_dir=data_dir, sound=False)
    core = open_core(settings)
    first, second = (make_sample(13, "front", "easy", index).image for index in (2, 5))
    camera = FakeCamera([desk_background(1280, 720, seed=4)] * 2, loop=True, fps=30.0)
    window = build_main_window(
        core, lambda: camera, get_decoder, FakeSpeaker(), ocr_loader_factory=make_ocr_loader
    )
    window.resize(*SIZE)
    window.show()
    window.start()
    wait_for(lambda: window.ocr_models.loader is not None and window.ocr_models.loader.ready, 120_000)
    step = window.make_id_capture_step(window.language)
    window.stack.addWidget(step)
    window.stack.setCurrentWidget(step)
    window.top_bar.set_home_visible(True)
    step.begin(window.language)
    # Two different cards in turn never agree, so the reader stays at "hold still" long enough to show it.
    camera.frames = [first, second]
    wait_for(lambda: step.camera.reader_state == "reading", 20_000)
    spin(200)
    save(window, out / "id-capture-reading.png")
    camera.frames = [first, first]
    step.begin(window.language)
    wait_for(lambda: step.camera.result is not None, 20_000)
    spin(100)
    save(window, out / "id-capture-done.png")
    window.close()
    core.close()


def admin_shots(data_dir: Path, out: Path) -> None:
    """Every admin page: PIN, locked out, settings with an error, health with a failed camera and a
    paper-out printer, outbox with quarantined items, on a self-service kiosk with a fake printer."""
    from devices.camera import CameraSourceInvalid
    from devices.printer import FakePrinter, PrinterState
    from kiosk.admin.pin import AdminGate
    from kiosk.forms.answers import example_answers

    def no_camera() -> FakeCamera:
        raise CameraSourceInvalid("/dev/video0: no such device")

    pin = "246810"
    settings = Settings(data_dir=data_dir, sound=False, mode="self-service", site_name="石门收费站")
    AdminGate(settings.secrets_dir).set_pin(pin)
    core = open_core(settings)
    for text in ("a", "b", "c", "d"):
        core.checkpoint.inspect(f"sample {text}", source="manual")
    held = [item.item_id for item in core.outbox.pending()[:2]]
    core.outbox.quarantine(held[0], "HTTP 422: checkpoint CP-001 is not registered at this site")
    core.outbox.quarantine(held[1], "HTTP 422: payload field 'verdict' invalid")
    printer = FakePrinter(data_dir / "receipts")
    window = build_main_window(core, no_camera, get_decoder, FakeSpeaker(), printer=printer)
    window.resize(*SIZE)
    window.show()
    window.start()
    definition = window.self_service.catalogue.get("queue-ticket")
    for _ in range(3):
        window.self_service.desk.submit(definition, example_answers(definition), "zh-CN")
    admin, page = window.admin, window.admin.pin_page
    admin.request_entry()
    wait_for(lambda: window.stack.currentWidget() is page)
    for key in pin[:4]:
        page.press(key)
    spin(100)
    save(window, out / "admin-pin.png")

    clock = [1_800_000_000.0]
    admin.gate.clock = lambda: clock[0]
    for _ in range(5):
        page.show_entry()
        for key in "000000":
            page.press(key)
        page.press("confirm")
        wait_for(lambda: page.state in ("wrong", "locked"))
    wait_for(lambda: page.state == "locked")
    spin(100)
    save(window, out / "admin-locked.png")

    clock[0] += 60
    window.show_home()
    admin.request_entry()
    wait_for(lambda: page.state == "entry" and window.stack.currentWidget() is page)
    for key in pin:
        page.press(key)
    page.press("confirm")
    wait_for(lambda: window.stack.currentWidget() is admin.screen)
    printer.state = PrinterState.PAPER_OUT
    window.health.refresh()
    wait_for(lambda: admin.health_page.state_of("printer") == "bad")
    spin(200)
    save(window, out / "admin-health.png")

    admin.screen.show_page("settings")
    settings_page = admin.settings_page
    settings_page.set_field("idle_timeout_s", "5")
    settings_page.editors["idle_timeout_s"].setFocus()
    settings_page.save_button.click()
    wait_for(lambda: bool(settings_page.detail.text()))
    spin(100)
    save(window, out / "admin-settings-error.png")
    settings_page.set_field("idle_timeout_s", "60")
    settings_page.set_field("camera", "0")
    settings_page.save_button.click()
    wait_for(settings_page.restart_button.isVisible)
    spin(100)
    save(window, out / "admin-settings-restart.png")

    admin.screen.show_page("outbox")
    outbox_page = admin.outbox_page
    wait_for(lambda: outbox_page.held_list.count() == 2 and outbox_page.receipt_list.count() == 3)
    outbox_page.held_list.setCurrentRow(0)
    outbox_page.folder.setText("/media/kiosk/USB-STICK")
    spin(100)
    save(window, out / "admin-outbox.png")
    outbox_page.folder.setFocus()
    spin(100)
    save(window, out / "admin-outbox-keyboard.png")
    window.close()
    core.close()


def comfort_shots(data_dir: Path, out: Path) -> None:
    """The home screen in large text and in high contrast, the attract screen, and the statistics screen."""
    from devices.printer import FakePrinter
    from tools.service_driver import build_self_service_window

    settings = Settings(data_dir=data_dir / "self-service", mode="self-service", sound=False)
    window = build_self_service_window(settings, FakePrinter(settings.data_dir / "receipts"))
    window.resize(*SIZE)
    window.show()
    window.show_home()
    spin(200)
    for mode in ("large_text", "high_contrast"):
        window.accessibility.set_mode(mode, True)
        spin(200)
        save(window, out / f"home-{mode.replace('_', '-')}.png")
        window.accessibility.reset()
    window.show_attract()
    spin(2500)  # a card or two lit
    save(window, out / "attract.png")
    window.close()
    window.core.close()

    window = build(data_dir / "stats", [])
    checkpoint = window.core.checkpoint
    now = checkpoint.clock()
    # A morning at a checkpoint: people come back in later hours (人次 > 人数), a few are refused.
    for hour in range(max(0, now.hour - 7), now.hour + 1):
        checkpoint.clock = lambda h=hour: now.replace(hour=h, minute=5)
        for n in range(4 + (hour * 7) % 9):
            text = valid_id_number() if n % 3 == 0 else wrong_check_digit() if n == 5 else f"person {n}"
            checkpoint.inspect(text, source="manual")
    checkpoint.clock = lambda: now
    window.show_stats()
    wait_for(lambda: window.stats_screen.stats is not None)
    spin(200)
    save(window, out / "stats.png")
    window.close()
    window.core.close()


def touch_shots(data_dir: Path, out: Path) -> None:
    """The vehicle pass's review half scrolled (the fades and arrows above and below), and its plate page with
    粤C12 typed: the 清空 key apart from the letters."""
    from tools.service_driver import build_self_service_window, click, complete_service

    settings = Settings(
        data_dir=data_dir, mode="self-service", sound=False, voice=False, site_name="石门政务服务中心"
    )
    window = build_self_service_window(settings)
    window.resize(*SIZE)
    window.show()
    window.start()
    spin(200)
    complete_service(window, "vehicle-pass", wait_for)
    screen = window.self_service.screen
    bar = screen.body.currentWidget().verticalScrollBar()
    assert bar.maximum() > 0, "the review fits: nothing to scroll"
    bar.setValue(bar.maximum() // 2)
    save(window, out / "review-scrolled.png")
    click(screen.back_button)  # the last field's page
    plate = next(i for i, page in enumerate(screen.pages) if page.fdef and page.fdef.id == "plate")
    screen._show(plate)
    screen.editor.set_value("")  # a plate being typed afresh, not the answer given before
    screen.editor.keyboard.type_plate("粤C12")
    save(window, out / "plate-keyboard.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--only", choices=("admin", "comfort", "touch"), help="only this group of screens")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    create_application([])
    if args.only == "admin":
        with tempfile.TemporaryDirectory() as tmp:
            admin_shots(Path(tmp), out)
        return 0
    if args.only == "comfort":
        with tempfile.TemporaryDirectory() as tmp:
            comfort_shots(Path(tmp), out)
        return 0
    if args.only == "touch":
        with tempfile.TemporaryDirectory() as tmp:
            touch_shots(Path(tmp), out)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        background = scene()
        pose = Pose(size=0.5, angle_deg=-9.0, tilt=0.12, center=(0.5, 0.5))
        frames = []
        for _, text in VERDICT_CODES:
            frames += [background] * 20 + [code_frame(text, pose, background=background)] * 45
        window = build(Path(tmp) / "checkpoint", frames)
        window.show_home()
        window.start()
        wait_for(lambda: window.top_bar.camera_state == "ok")
        spin(300)
        save(window, out / "home.png")

        shots: list[QImage] = []
        window.show_checkpoint()
        panel = window.checkpoint_screen.verdict_panel
        for verdict, _ in VERDICT_CODES:
            wait_for(lambda v=verdict: panel.current_verdict == v)
            spin(250)  # a preview frame or two with the code in view
            shots.append(save(window, out / f"checkpoint-{verdict}.png"))
        side_by_side(shots, out / "checkpoint-verdicts.png")

        window.show_manual_entry()
        for key in wrong_check_digit():
            window.manual_screen.press(key)
        window.manual_screen.press("confirm")
        spin(100)
        save(window, out / "manual-entry-error.png")

        window.manual_screen.press("clear")
        for key in valid_id_number()[:10]:
            window.manual_screen.press(key)
        window.idle.configure(timeout_ms=100, countdown_s=8)
        window.idle.poke()
        wait_for(window.idle_overlay.isVisible)
        spin(100)
        save(window, out / "idle-countdown.png")

        window.close()
        window.core.close()

        id_capture_shots(Path(tmp) / "idcard", out)
        admin_shots(Path(tmp) / "admin", out)
        comfort_shots(Path(tmp) / "comfort", out)
        touch_shots(Path(tmp) / "touch", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

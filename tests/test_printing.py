"""Receipts on every paper, and the printer backends: ESC/POS bytes checked against python-escpos's dummy
printer (the raster decodes back to the receipt image), printer states, CUPS, the print queue."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from escpos.printer import Dummy

from devices.printer import (
    PROFILES,
    CupsPrinter,
    EscPosPrinter,
    FakePrinter,
    PrinterError,
    PrinterState,
    encode_raster,
    encode_text,
    printer_from_spec,
    status_from_bytes,
)
from devices.qr import get_decoder
from kiosk.config import Settings
from kiosk.forms.answers import example_answers
from kiosk.forms.definition import SERVICES_DIR, load_definition
from kiosk.forms.slots import FakeSlots
from kiosk.forms.submissions import SubmissionDesk
from kiosk.store import Store
from printing.jobs import PrintQueue
from printing.receipt import PAPERS, render_pdf, render_raster
from tools.service_driver import pdf_text, render_page


@pytest.fixture
def desk(tmp_path: Path) -> Any:
    settings = Settings(data_dir=tmp_path, checkpoint_id="CP-014", site_name="石门收费站")
    store = Store(settings.store_path)
    yield SubmissionDesk(store, settings, FakeSlots())
    store.close()


@pytest.fixture
def submission(desk: Any) -> Any:
    definition = load_definition(SERVICES_DIR / "vehicle-pass.json")
    return desk.submit(definition, example_answers(definition), "zh-CN")


@pytest.mark.parametrize("paper", list(PAPERS))
def test_every_paper_renders_the_fields_masked_and_a_readable_qr(submission: Any, paper: str) -> None:
    pdf = render_pdf(submission.receipt, paper)
    text = pdf_text(pdf).replace("\r", "")
    for expected in (
        "石门收费站",
        "车辆通行登记",
        submission.number,
        "王*明",
        "110***********002X",
        "粤B12345",
    ):
        assert expected in text, expected
    assert "11010519491231002X" not in text.replace("\n", "")
    assert [s.text for s in get_decoder("auto").decode(render_page(pdf, scale=2.0))] == [submission.code]


def _raster_blocks(data: bytes) -> np.ndarray:
    """Every GS v 0 block in ``data``, decoded to one array of dots (True: black), top to bottom."""
    rows, start = [], 0
    while (start := data.find(b"\x1dv0", start)) >= 0:
        width_bytes = data[start + 4] | data[start + 5] << 8
        height = data[start + 6] | data[start + 7] << 8
        body = data[start + 8 : start + 8 + width_bytes * height]
        bits = np.unpackbits(np.frombuffer(body, dtype=np.uint8)).reshape(height, width_bytes * 8)
        rows.append(bits.astype(bool))
        start += 8 + len(body)
    return np.vstack(rows)


@pytest.mark.parametrize("paper", ["58mm", "80mm"])
def test_escpos_raster_decodes_back_to_the_receipt_image(submission: Any, paper: str) -> None:
    image = render_raster(submission.receipt, paper)
    device = Dummy(profile=PROFILES[paper])
    encode_raster(device, image)
    data = device.output
    assert data.startswith(b"\x1b@")  # ESC @: initialise
    # GS V: cut where the profile has a cutter; 58 mm printers mostly have none: ESC d feeds to tear off.
    assert b"\x1dV" in data[-8:] if paper == "80mm" else data.endswith(b"\x1bd\x06")
    dots = _raster_blocks(data)
    expected = ~np.array(image.convert("1"), dtype=bool)  # PIL "1": True is white
    assert dots.shape == (image.height, PAPERS[paper].dots) == expected.shape
    assert np.array_equal(dots, expected)
    # And the QR in what the printer gets still reads.
    grey = np.where(dots, 0, 255).astype(np.uint8)
    assert [s.text for s in get_decoder("auto").decode(np.pad(grey, 40, constant_values=255))] == [
        submission.code
    ]


def test_escpos_text_mode_sends_gb18030_text_and_a_native_qr(submission: Any) -> None:
    device = Dummy(profile=PROFILES["80mm"])
    encode_text(device, submission.receipt, "80mm")
    data = device.output
    assert b"\x1c\x26" in data  # FS &: double-byte characters on
    assert "车辆通行登记".encode("gb18030") in data and submission.number.encode() in data
    store = b"\x1d(k" + (len(submission.code) + 3).to_bytes(2, "little") + b"1P0" + submission.code.encode()
    assert store in data  # GS ( k: store the QR data …
    assert b"\x1d(k\x03\x001Q0" in data  # … and print it
    assert b"11010519491231002X" not in data


@pytest.mark.parametrize(
    ("answers", "state"),
    [
        ((0x12, None, 0x12), PrinterState.READY),
        ((0x12, None, 0x1E), PrinterState.PAPER_LOW),
        ((0x1A, 0x32, 0x72), PrinterState.PAPER_OUT),
        ((0x1A, 0x16, 0x12), PrinterState.COVER_OPEN),
        ((0x1A, 0x52, 0x12), PrinterState.ERROR),
        ((0x1A, 0x12, 0x12), PrinterState.OFFLINE),
        ((None, None, None), PrinterState.TIMEOUT),
    ],
)
def test_escpos_status_bytes(answers: tuple[int | None, ...], state: PrinterState) -> None:
    assert status_from_bytes(*answers) == state


class StatusDummy(Dummy):
    """A dummy printer that answers DLE EOT n with scripted status bytes."""

    def __init__(self, answers: dict[int, bytes]) -> None:
        super().__init__(profile=PROFILES["58mm"])
        self.answers = answers
        self.closed = False

    def query_status(self, mode: bytes) -> bytes:
        return self.answers.get(mode[-1], b"")

    def close(self) -> None:
        self.closed = True


def test_an_escpos_printer_out_of_paper_prints_nothing_and_the_job_is_kept(
    desk: Any, submission: Any
) -> None:
    device = StatusDummy({1: b"\x1a", 2: b"\x32", 4: b"\x72"})
    printer = EscPosPrinter(lambda: device, "escpos-test", "58mm")
    assert printer.status() == PrinterState.PAPER_OUT
    queue = PrintQueue(desk.store)
    outcome = queue.print_job(submission.print_job_id, printer)
    assert (outcome.printed, outcome.state) == (False, PrinterState.PAPER_OUT)
    assert device.output == b"" and device.closed
    job = queue.get(submission.print_job_id)
    assert (job.status, job.attempts) == ("failed", 1) and "paper_out" in (job.last_error or "")
    assert queue.unprinted() == [submission.print_job_id]

    device.answers = {1: b"\x12", 4: b"\x12"}
    assert queue.print_job(submission.print_job_id, printer).printed
    assert b"\x1dv0" in device.output
    assert queue.unprinted() == []


def test_an_absent_or_silent_escpos_printer(submission: Any) -> None:
    def unplugged() -> Any:
        raise OSError("no such device")

    with pytest.raises(PrinterError) as err:
        EscPosPrinter(unplugged, "escpos-usb:0416:5011").print_receipt(submission.receipt)
    assert err.value.state == PrinterState.OFFLINE
    assert EscPosPrinter(lambda: StatusDummy({}), "silent").status() == PrinterState.TIMEOUT


def test_cups_states_and_lp(monkeypatch: Any, submission: Any) -> None:
    calls: list[list[str]] = []
    answers = {
        "lpstat": "printer kiosk is idle.  enabled since …\n\tAlerts: media-empty-error\n",
        "lp": "request id is kiosk-7 (1 file(s))\n",
    }

    def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, answers[args[0]], "")

    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    printer = CupsPrinter("kiosk", "A5", run=run)
    assert printer.status() == PrinterState.PAPER_OUT
    answers["lpstat"] = "printer kiosk is idle.  enabled since …\n"
    assert printer.status() == PrinterState.READY
    assert printer.print_receipt(submission.receipt) == "request id is kiosk-7 (1 file(s))"
    assert calls[-1][:5] == ["lp", "-d", "kiosk", "-o", "media=A5"]
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert printer.status() == PrinterState.OFFLINE


def test_printer_specs(tmp_path: Path) -> None:
    assert printer_from_spec("pdf", tmp_path).status() == PrinterState.READY
    assert isinstance(printer_from_spec("fake", tmp_path), FakePrinter)
    assert printer_from_spec("escpos-net:10.0.0.5:9100", tmp_path, "58mm").name == "escpos-net:10.0.0.5:9100"
    for bad, message in (
        ("escpos-usb:zz", "not a valid ESC/POS printer spec"),
        ("laser", "unknown kind 'laser'"),
    ):
        with pytest.raises(ValueError, match=message):
            printer_from_spec(bad, tmp_path)
    with pytest.raises(ValueError, match="58mm or 80mm"):
        printer_from_spec("escpos-net:h", tmp_path, "A4")

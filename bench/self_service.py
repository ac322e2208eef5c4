"""Self-service figures (``python -m bench.self_service``): receipt rendering, and confirm → done page.

Receipt rendering: median ms per receipt for the PDF (each paper), the ESC/POS raster (render + encode) and
the ESC/POS text mode, with the bytes each sends to the printer (what a serial link has to carry).
Confirm → done: from the confirm touch to the done page on screen, through the real window, store and
signing (a fake printer; printing happens after the done page and is not counted). Target ≤ 300 ms.
"""

from __future__ import annotations

import os

from tools import offscreen

os.environ["QT_QPA_PLATFORM"] = offscreen.platform()

import statistics
import tempfile
import time
from pathlib import Path

from escpos.printer import Dummy

from devices.printer import PROFILES, encode_raster, encode_text
from kiosk.config import Settings
from kiosk.forms.answers import example_answers
from kiosk.forms.definition import SERVICES_DIR, load_definition
from kiosk.forms.slots import FakeSlots
from kiosk.forms.submissions import SubmissionDesk
from kiosk.store import Store
from printing.receipt import PAPERS, render_pdf, render_raster

RUNS = 30
CONFIRM_TARGET_MS = 300.0
SERIAL_BAUD = 115200  # a common thermal-printer serial speed: 10 bits a byte on the wire


def _median_ms(fn: object, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_receipts(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, checkpoint_id="CP-014")
    store = Store(settings.store_path)
    definition = load_definition(SERVICES_DIR / "vehicle-pass.json")
    receipt = (
        SubmissionDesk(store, settings, FakeSlots())
        .submit(definition, example_answers(definition), "zh-CN")
        .receipt
    )
    render_pdf(receipt)  # fonts loaded once per process, as in the kiosk
    print("receipt render (vehicle pass), median of", RUNS)
    for paper in PAPERS:
        print(f"  PDF {paper:<5} {_median_ms(lambda p=paper: render_pdf(receipt, p)):7.1f} ms")
    for paper in ("58mm", "80mm"):
        raster = Dummy(profile=PROFILES[paper])
        encode_raster(raster, render_raster(receipt, paper))
        text = Dummy(profile=PROFILES[paper])
        encode_text(text, receipt, paper)
        raster_ms = _median_ms(
            lambda p=paper: encode_raster(Dummy(profile=PROFILES[p]), render_raster(receipt, p))
        )
        text_ms = _median_ms(lambda p=paper: encode_text(Dummy(profile=PROFILES[p]), receipt, p))
        for mode, ms, size in (
            ("raster", raster_ms, len(raster.output)),
            ("text", text_ms, len(text.output)),
        ):
            serial_s = size * 10 / SERIAL_BAUD
            print(
                f"  ESC/POS {mode:<6} {paper}: {ms:7.1f} ms, {size:6d} bytes"
                f" ({serial_s:4.1f} s at {SERIAL_BAUD} baud)"
            )
    store.close()


def bench_confirm(data_dir: Path) -> bool:
    from tools.screenshots import spin, wait_for
    from tools.service_driver import build_self_service_window, click, complete_service
    from ui.app import create_application

    create_application([])
    window = build_self_service_window(Settings(data_dir=data_dir, mode="self-service", sound=False))
    window.show()
    window.start()
    assert window.self_service is not None
    flow = window.self_service
    shown: list[float] = []
    flow.submission_shown.connect(lambda sub, at: shown.append((at - (flow.confirmed_at or at)) * 1000))
    for _ in range(RUNS):
        window.show_home()
        complete_service(window, "vehicle-pass", wait_for)
        before = len(shown)
        click(flow.screen.next_button)
        wait_for(lambda b=before: len(shown) > b)
        spin(10)
    window.shutdown()
    window.core.close()
    median, worst = statistics.median(shown), max(shown)
    ok = median <= CONFIRM_TARGET_MS
    print(
        f"confirm -> done page (vehicle pass, {RUNS} runs): median {median:.1f} ms, max {worst:.1f} ms "
        f"(target <= {CONFIRM_TARGET_MS:.0f} ms: {'met' if ok else 'MISSED'})"
    )
    return ok


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        bench_receipts(Path(tmp) / "receipts")
        ok = bench_confirm(Path(tmp) / "gui")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

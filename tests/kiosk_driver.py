"""Child process of tests/test_crash_restart.py: the real kiosk window, driven to a chosen point, then left
running until the test kills it.

``python tests/kiosk_driver.py DATA_DIR half-form|printing``: takes the kiosk's instance lock like
``kiosk run``, builds the real self-service window (offscreen, a fake camera, a printer that never answers),
and then either answers the first pages of a form without confirming it, or completes and confirms a form so
that its receipt starts printing. When it gets there it writes ``DATA_DIR/driver-ready`` and keeps running.
"""

from __future__ import annotations

import os

from tools import offscreen

os.environ["QT_QPA_PLATFORM"] = offscreen.platform()

import sys
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

from devices.printer import FakePrinter
from kiosk.config import Settings
from kiosk.forms.answers import example_answers
from kiosk.forms.receipts import ReceiptData
from tools.service_driver import build_self_service_window, click, complete_service, fill_page
from ui.app import create_application
from ui.single_instance import InstanceLock

READY = "driver-ready"


class HangingPrinter(FakePrinter):
    """A printer whose driver call never returns (it says when the call has begun)."""

    def print_receipt(self, receipt: ReceiptData) -> str:
        (self.folder.parent / READY).write_text("printing")
        threading.Event().wait()
        return ""


def main(data_dir: Path, scenario: str) -> int:
    lock = InstanceLock(data_dir)
    lock.acquire()
    app = create_application([])
    settings = Settings(data_dir=data_dir, mode="self-service", sound=False, voice=False)
    window = build_self_service_window(settings, HangingPrinter(data_dir / "receipts"))
    window.show()
    window.start()
    screen = window.self_service.screen

    def wait(condition: Callable[[], bool]) -> None:
        while not condition():
            app.processEvents()

    if scenario == "half-form":
        click(window.home.service_buttons["vehicle-pass"])
        answers = example_answers(screen.definition, date.today())
        for _ in range(3):  # the driver's ID, the plate, the vehicle type: then the kiosk dies
            before = screen.index
            fill_page(screen, answers, wait)
            wait(lambda b=before: screen.index != b)
        (data_dir / READY).write_text(f"page {screen.index}")
    else:
        complete_service(window, "queue-ticket", wait)
        click(screen.next_button)  # confirm: stored, then printed, and the printer hangs
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))

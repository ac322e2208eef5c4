"""Every shipped service completed through the screen with a fake printer: stored (personal data encrypted),
queued, a receipt PDF whose QR decodes and verifies, and no full ID number on paper."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devices.printer import FakePrinter, PrinterState
from devices.qr import get_decoder
from kiosk.codes.setup import registry_for
from kiosk.config import Settings
from kiosk.forms.definition import SERVICES_DIR
from kiosk.forms.protect import LOCAL_MAGIC
from kiosk.forms.slots import FakeSlots
from kiosk.i18n import translate
from tools.service_driver import build_self_service_window, click, complete_service, pdf_text, render_page

SERVICES = (
    "vehicle-pass",
    "health-declaration",
    "returning-person",
    "forest-entry",
    "queue-ticket",
    "appointment",
    "elderly-allowance",
    "disability-subsidy",
)
# The code a receipt carries: the service's own, or the kiosk's receipt code where only the central issuer
# may sign the service's code (health, forest entry).
CODE_KINDS = {
    "vehicle-pass": ("vehicle-pass", "green"),
    "health-declaration": ("receipt", "yellow"),
    "returning-person": ("receipt", "yellow"),
    "forest-entry": ("receipt", "yellow"),
    "queue-ticket": ("queue-ticket", "green"),
    "appointment": ("appointment", "green"),
    "elderly-allowance": ("receipt", "yellow"),
    "disability-subsidy": ("receipt", "yellow"),
}


def _wait(qtbot: Any) -> Callable[[Callable[[], bool]], None]:
    return lambda condition: qtbot.waitUntil(condition, timeout=5000)


@pytest.mark.parametrize("service_id", SERVICES)
def test_each_service_end_to_end(
    self_service_window: Any, qtbot: Any, ui_data_dir: Path, service_id: str
) -> None:
    window = self_service_window()
    answers = complete_service(window, service_id, _wait(qtbot))
    screen = window.self_service.screen
    shown: list[Any] = []
    window.self_service.submission_shown.connect(lambda sub, at: shown.append(sub))
    click(screen.next_button)  # confirm on the review
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    submission = shown[0]
    assert screen.on_done
    assert (submission.ticket or submission.number) in screen.done_number.text()

    rows = window.core.store.query("SELECT * FROM submissions")
    assert [r["id"] for r in rows] == [submission.id]
    row = rows[0]
    assert row["service_id"] == service_id and row["number"] == submission.number
    outbox = window.core.outbox.pending()
    assert [item.item_id for item in outbox] == [submission.id]
    id_numbers = [v for k, v in answers.items() if k.endswith("id") or k == "id_number"]
    id_numbers += [p["id_number"] for p in answers.get("passengers", [])]
    if id_numbers:
        # Personal data at rest: encrypted (not enrolled yet: the local data key), only masked in clear.
        assert row["sealed_personal"].startswith(LOCAL_MAGIC)
        assert outbox[0].sealed_personal == row["sealed_personal"]
        store_bytes = b"".join(p.read_bytes() for p in ui_data_dir.glob("kiosk.sqlite3*"))
        for number in id_numbers:
            assert number.encode() not in store_bytes
            assert number not in row["clear"] and number not in json.dumps(outbox[0].payload)

    qtbot.waitUntil(lambda: screen.print_label.text() == translate("print.done", "zh-CN"), timeout=10000)
    pdfs = list((ui_data_dir / "receipts").glob("*.pdf"))
    assert [p.name for p in pdfs] == [f"{submission.number}.pdf"]
    text = pdf_text(pdfs[0])
    assert submission.number in text
    for number in id_numbers:
        assert number not in text.replace("\n", "").replace(" ", "")

    codes = [s.text for s in get_decoder("auto").decode(render_page(pdfs[0]))]
    assert codes == [submission.code]
    result = registry_for(window.core.settings).evaluate(codes[0], submission.at)
    kind, verdict = CODE_KINDS[service_id]
    assert (result.kind, result.verdict.value) == (kind, verdict)
    if kind == "receipt":
        assert result.reason.key == "signed.receipt_only"


def test_a_field_is_checked_and_can_be_corrected_from_the_review(
    self_service_window: Any, qtbot: Any
) -> None:
    window = self_service_window()
    complete_service(window, "queue-ticket", _wait(qtbot))
    screen = window.self_service.screen
    assert screen.review_values["category"].text() == "户籍业务"
    screen.edit("category", "category")
    click(screen.editor.choices.button_for("traffic"))
    qtbot.waitUntil(lambda: screen.on_review)  # back to the review, not to the next page
    assert screen.review_values["category"].text() == "交通违法处理"

    window.show_home()
    click(window.home.service_buttons["vehicle-pass"])
    step = screen.id_step.manual if hasattr(screen.id_step, "manual") else screen.id_step
    if hasattr(screen.id_step, "camera"):
        click(screen.id_step.camera.manual_button)
    step.name_edit.setText("王小明")
    click(step.ok_button)  # on to the number
    for key in "110105194912310021":  # wrong check digit
        click(step.pad.buttons[key])
    click(step.ok_button)
    assert step.error_key == "id.bad_checksum"
    assert screen.index == 0


def test_a_bad_plate_is_refused_with_the_fields_message(self_service_window: Any, qtbot: Any) -> None:
    window = self_service_window()
    click(window.home.service_buttons["vehicle-pass"])
    screen = window.self_service.screen
    screen._show(next(i for i, p in enumerate(screen.pages) if p.fdef and p.fdef.id == "plate"))
    for ch in "粤B123":
        click(screen.editor.keyboard.buttons[ch])
    click(screen.next_button)
    assert screen.error is not None and screen.error.path == "plate"
    assert screen.error_label.text() == translate("form.error.plate", "zh-CN")
    for ch in "45":
        click(screen.editor.keyboard.buttons[ch])
    click(screen.next_button)
    assert screen.error is None and screen.answers["plate"] == "粤B12345"


def test_offline_appointment_offers_a_queue_ticket(self_service_window: Any, qtbot: Any) -> None:
    window = self_service_window(slots=FakeSlots(online=False))
    click(window.home.service_buttons["appointment"])
    screen = window.self_service.screen
    screen.answers.update({"business": "household", "day": "2026-12-01"})
    screen._show(next(i for i, p in enumerate(screen.pages) if p.fdef and p.fdef.id == "slot"))
    editor = screen.editor
    qtbot.waitUntil(lambda: editor.ticket_button.isVisible(), timeout=5000)
    assert editor.message.text() == translate("form.slots_offline", "zh-CN")
    click(editor.ticket_button)
    assert screen.definition.id == "queue-ticket" and screen.index == 0


def test_paper_out_keeps_the_submission_and_the_job_for_a_reprint(
    self_service_window: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    printer = FakePrinter(ui_data_dir / "receipts", state=PrinterState.PAPER_OUT)
    window = self_service_window(printer=printer)
    complete_service(window, "queue-ticket", _wait(qtbot))
    screen = window.self_service.screen
    click(screen.next_button)
    expected = translate("print.failed.paper_out", "zh-CN")
    qtbot.waitUntil(lambda: screen.on_done and screen.print_label.text() == expected, timeout=5000)
    assert window.top_bar.printer_label.text() == translate("printer.paper_out", "zh-CN")
    assert window.top_bar.printer_label.isVisible()
    assert window.core.store.query("SELECT COUNT(*) FROM submissions")[0][0] == 1
    assert [tuple(r) for r in window.core.store.query("SELECT status FROM print_jobs")] == [("failed",)]
    assert screen.reprint_button.isVisible()

    printer.state = PrinterState.READY  # staff put paper in
    click(screen.reprint_button)
    qtbot.waitUntil(lambda: screen.print_label.text() == translate("print.done", "zh-CN"), timeout=5000)
    assert [tuple(r) for r in window.core.store.query("SELECT status, attempts FROM print_jobs")] == [
        ("printed", 2)
    ]
    assert not window.top_bar.printer_label.isVisible()
    assert len(printer.printed) == 1


def test_a_new_service_file_appears_on_home_and_a_bad_one_does_not(
    self_service_window: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    folder = ui_data_dir / "services"
    folder.mkdir()
    new = json.loads((SERVICES_DIR / "queue-ticket.json").read_text("utf-8"))
    new["id"] = "school-health"
    new["title"] = {"zh-CN": "学校健康申报", "en": "School health declaration"}
    (folder / "school-health.json").write_text(json.dumps(new, ensure_ascii=False), "utf-8")
    broken = dict(new, id="broken", steps=[])
    (folder / "broken.json").write_text(json.dumps(broken), "utf-8")
    window = self_service_window()
    assert "school-health" in window.home.service_buttons and "broken" not in window.home.service_buttons
    assert window.home.service_buttons["school-health"].text() == "学校健康申报"
    window.set_language("en")
    assert window.home.service_buttons["school-health"].text() == "School health declaration"
    refused = window.self_service.catalogue.refused
    assert [str(e) for e in refused] == ["broken.json: steps: [] should be non-empty"]


def test_checkpoint_mode_keeps_its_home(styled_app: Any, qtbot: Any, ui_data_dir: Path) -> None:
    window = build_self_service_window(Settings(data_dir=ui_data_dir, sound=False))
    qtbot.addWidget(window)
    try:
        assert window.self_service is None and window.home.service_buttons == {}
        assert not window.home.scan_button.isHidden()
    finally:
        window.shutdown()
        window.core.close()


def test_the_top_bar_counts_submissions_waiting_but_not_quarantined_ones(
    self_service_window: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    from kiosk.core import open_core

    core = open_core(Settings(data_dir=ui_data_dir))
    for item_id in ("refused-by-the-server", "waiting"):
        core.outbox.enqueue(kind="submission", item_id=item_id, payload={"id": item_id})
    core.outbox.quarantine("refused-by-the-server", "HTTP 422: invalid")
    core.close()
    window = self_service_window()
    label = window.top_bar.pending_label
    qtbot.waitUntil(lambda: label.text() == translate("pending.count", "zh-CN", n=1), timeout=5000)
    complete_service(window, "queue-ticket", _wait(qtbot))
    click(window.self_service.screen.next_button)  # confirm: one more submission to upload
    qtbot.waitUntil(lambda: label.text() == translate("pending.count", "zh-CN", n=2), timeout=5000)


def test_confirming_again_after_a_lost_booking_answer_takes_one_place(
    self_service_window: Any, qtbot: Any
) -> None:
    from kiosk.forms.slots import SlotsUnavailable

    class LosesFirstAnswer(FakeSlots):
        """Books, then the answer is lost on the way back, once."""

        lost = False

        def book(self, *, slot_id: str, booking_id: str, reference: str) -> None:
            super().book(slot_id=slot_id, booking_id=booking_id, reference=reference)
            if not self.lost:
                self.lost = True
                raise SlotsUnavailable("read timed out")

    slots = LosesFirstAnswer(capacity=1)
    window = self_service_window(slots=slots)
    complete_service(window, "appointment", _wait(qtbot))
    screen = window.self_service.screen
    click(screen.next_button)
    qtbot.waitUntil(lambda: screen.error_label.text() == translate("form.slots_offline", "zh-CN"))
    assert screen.on_review and len(slots.booked) == 1
    shown: list[Any] = []
    window.self_service.submission_shown.connect(lambda sub, at: shown.append(sub))
    click(screen.next_button)  # the person tries again: the same booking, not a second place
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert list(slots.booked) == [shown[0].id]

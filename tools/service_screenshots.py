"""Screens of every self-service and a PNG of each receipt (``python -m tools.service_screenshots``).

Each service is completed through the real window (fake printer and slots, a throw-away data folder) with
its example answers; every page is saved as it looks just before it is answered (on a text page, with the
pinyin of the example's first character tapped in), then the review and the done page; the ID step typed by
hand, its two stages, once. Receipts are the real PDFs the fake printer wrote, rendered with pdfium.
"""

from __future__ import annotations

import os

from tools import offscreen

os.environ["QT_QPA_PLATFORM"] = offscreen.platform()

import tempfile
from pathlib import Path
from typing import Any

from kiosk.config import Settings
from kiosk.paths import PROJECT_ROOT
from printing.receipt import render_pdf
from tools.screenshots import SIZE, output_folders, save, save_pdf_page, spin, wait_for
from tools.service_driver import build_self_service_window, click, complete_service
from ui.app import create_application

OUT_DIR = PROJECT_ROOT / "docs" / "screenshots" / "services"
RECEIPTS_DIR = PROJECT_ROOT / "docs" / "receipts"
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


def _type_first_letters(window: object) -> None:
    """On a text page, the pinyin of the example's first character tapped in: the candidates show."""
    from pypinyin import Style, lazy_pinyin

    from ui.widgets.field_editors import TextEditor

    screen = window.self_service.screen  # type: ignore[attr-defined]
    fdef = screen.page.fdef
    if isinstance(screen.editor, TextEditor) and fdef is not None and isinstance(fdef.example, str):
        letters = lazy_pinyin(fdef.example[:1], style=Style.NORMAL, v_to_u=False)[0]
        for letter in letters:
            click(screen.editor.keyboard.buttons[letter])


def _page(window: object, path: Path) -> None:
    _type_first_letters(window)
    _save(window, path)


def _save(window: Any, path: Path) -> None:
    save(window, path, settle_ms=60)


def _typed_id_pages(window: Any, out: Path) -> None:
    """The ID step by hand, correcting a misread surname (库 for 厍): the name with the pinyin tapped in over
    the first character, then, 厍 chosen, the ID number on the pad."""
    from tools.synth_frames import valid_id_number

    window.show_home()
    click(window.home.service_buttons["vehicle-pass"])
    step = window.self_service.screen.id_step
    click(step.camera.manual_button)
    manual = step.manual
    manual.begin(window.language, {"name": "库雨珍", "id_number": valid_id_number()})
    manual.name_edit.setCursorPosition(1)
    for key in ("back", *"she", "next"):  # 厍 is on the second page of she
        click(manual.keyboard.buttons[key])
    _save(window, out / "id-typed-name.png")
    click(manual.keyboard.candidate_button("厍"))
    click(manual.id_display)
    _save(window, out / "id-typed-number.png")


def main() -> int:
    args = output_folders(__doc__.splitlines()[0], OUT_DIR, RECEIPTS_DIR)
    create_application([])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            mode="self-service",
            sound=False,
            site_name="石门政务服务中心",
            checkpoint_id="SM-03",
        )
        window = build_self_service_window(settings)
        window.resize(*SIZE)
        window.show()
        window.start()
        spin(200)
        _save(window, args.out / "home.png")
        assert window.self_service is not None
        _typed_id_pages(window, args.out)
        for service_id in SERVICES:
            window.show_home()
            complete_service(
                window,
                service_id,
                lambda condition: wait_for(condition),
                on_page=lambda name, s=service_id: _page(window, args.out / f"{s}-{name}.png"),
            )
            _save(window, args.out / f"{service_id}-review.png")
            screen = window.self_service.screen
            click(screen.next_button)
            wait_for(lambda s=screen: s.on_done and "…" not in s.print_label.text())
            _save(window, args.out / f"{service_id}-done.png")
            submission = window.self_service.last_submission
            assert submission is not None
            receipt = render_pdf(submission.receipt, "80mm")
            save_pdf_page(receipt, args.receipts / f"{service_id}-80mm.png", 3.0)
        for paper, scale in (("58mm", 3.0), ("A5", 1.5)):
            # One service on the other papers, to show the same layout at each width.
            sample = window.self_service.desk.demo_receipt(
                window.self_service.catalogue.services["vehicle-pass"], "zh-CN"
            )
            receipt = render_pdf(sample, paper)
            save_pdf_page(receipt, args.receipts / f"vehicle-pass-sample-{paper}.png", scale)
        window.shutdown()
        window.core.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

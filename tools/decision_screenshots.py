"""The done page with each decision, the check screen, and their receipts.

Run as ``python -m tools.decision_screenshots``.

A real central server runs as a child process (SQLite, throw-away keys) with the shipped elderly-allowance
rules and made-up data sets; a self-service window (fake printer and camera, 1024x600) is enrolled with it and
completes the service through the screen, so every outcome is the server's own decision, delivered by the
done page's bounded wait:

- manual: before the allowance register is loaded (a rule whose data set is missing falls to a person);
- approved (with the decision code printed) and rejected (in English, with its reason) once it is loaded;
- pending: with the server stopped (the result follows by text message or here);
- provisional: the server still stopped, a service whose rules need only the identity (the example
  ``tests/data/decisions/senior-card.json``, no shipped service is one), decided on the kiosk.

Then "check my application" for the approved one. Receipts are the PDFs the fake printer wrote, rendered
with pdfium; the tool decodes the decision code back off the approved one's image.
"""

from __future__ import annotations

import os

from tools import offscreen

os.environ["QT_QPA_PLATFORM"] = offscreen.platform()

import json
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from central.cli import main as central_main
from central.db import make_engine, session_factory
from central.enrolment import issue_code
from central.keys import load_keys
from kiosk.central_client import DEVICE_KEY_FILE, enrol, save_credentials
from kiosk.codes.truststore import TrustStore
from kiosk.config import Settings
from kiosk.decisions.datasets import build_reference_set
from kiosk.decisions.rules import DECISIONS_DIR
from kiosk.keystore import load_or_create_secret
from kiosk.paths import PROJECT_ROOT
from kiosk.sync import open_sync
from tools.central_process import ServerProcess
from tools.screenshots import output_folders, save, save_pdf_page, spin, wait_for
from tools.service_driver import build_self_service_window, click, complete_service, receipt_pdfs
from ui.app import create_application

OUT_DIR = PROJECT_ROOT / "docs" / "screenshots" / "decisions"
RECEIPTS_DIR = PROJECT_ROOT / "docs" / "receipts"
EXAMPLE = PROJECT_ROOT / "tests" / "data" / "decisions"
SIZE = (1024, 600)
ELDERLY = "440305194103120020"  # 85, registered in the city
YOUNG = "440305195001010036"  # 76: under 80
SERVICES = [
    {
        "id": "elderly-allowance",
        "title": {"zh-CN": "高龄老人津贴申请", "en": "Elderly allowance"},
        "decision": "elderly-allowance.json",
    }
]


def _central(server: ServerProcess, *args: str) -> None:
    code = central_main([*args, "--database", server.database_url, "--key-dir", str(server.key_dir)])
    if code != 0:
        raise RuntimeError(f"kiosk-central {args[0]} failed")


def _publish(server: ServerProcess, folder: Path, part: str, content: Any) -> None:
    path = folder / f"{part}.json"
    path.write_text(json.dumps(content, ensure_ascii=False), "utf-8")
    _central(server, "bundle-set", part, str(path))


def _load_set(
    server: ServerProcess, folder: Path, name: str, rows: dict[str, Any], fields: tuple[str, ...]
) -> None:
    key = load_keys(server.key_dir).dataset_hash
    path = folder / f"{name}.json"
    path.write_text(json.dumps(build_reference_set(name, "2026-12-01.1", fields, rows, key)), "utf-8")
    _central(server, "dataset-load", str(path))


def _enrol(server: ServerProcess, data_dir: Path) -> None:
    engine = make_engine(server.database_url)
    try:
        with session_factory(engine)() as session:
            code = issue_code(session, "default", ("SM-03",), timedelta(hours=1))
    finally:
        engine.dispose()
    seed = load_or_create_secret(data_dir / "secrets" / DEVICE_KEY_FILE)
    save_credentials(data_dir / "secrets", enrol(server.url, code, seed, "screenshots", "0.1.0"))


def _save(window: Any, path: Path) -> None:
    save(window, path, settle_ms=80)


def _receipt(data_dir: Path, path: Path) -> bytes:
    pdf = receipt_pdfs(data_dir / "receipts")[-1]
    save_pdf_page(pdf, path, 3.0)
    return pdf.read_bytes()


def _submit(window: Any, service_id: str, id_number: str) -> Any:
    """The service through the screen; returns once the decision is shown and the receipt printed."""
    shown: list[Any] = []
    printed: list[Any] = []
    window.self_service.decision_shown.connect(lambda sub, known: shown.append((sub, known)))
    window.self_service.printed.connect(printed.append)
    window.show_home()
    answers = {"name": "赵桂兰", "id_number": id_number, "phone": "13800138000"}
    complete_service(window, service_id, lambda condition: wait_for(condition), answers=answers)
    click(window.self_service.screen.next_button)
    wait_for(lambda: bool(shown) and bool(printed))
    return shown[0]


def main() -> int:
    args = output_folders(__doc__.splitlines()[0], OUT_DIR, RECEIPTS_DIR)
    create_application([])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = ServerProcess(f"sqlite:///{folder / 'central.sqlite3'}", folder / "central-keys")
        server.start()
        try:
            _publish(server, folder, "services", SERVICES)
            _publish(server, folder, "trust_store", TrustStore().to_json())
            household = {n: {"status": "registered", "district": "440305"} for n in (ELDERLY, YOUNG)}
            _load_set(server, folder, "household-extract", household, ("status", "district"))
            data_dir = folder / "kiosk"
            _enrol(server, data_dir)
            # The identity-only example service, and its decision file beside the shipped ones.
            (data_dir / "services").mkdir(parents=True)
            shutil.copy(EXAMPLE / "senior-card.service.json", data_dir / "services" / "senior-card.json")
            decisions = folder / "decisions"
            shutil.copytree(DECISIONS_DIR, decisions)
            shutil.copy(EXAMPLE / "senior-card.json", decisions)
            settings = Settings(
                data_dir=data_dir,
                mode="self-service",
                sound=False,
                site_name="石门政务服务中心",
                checkpoint_id="SM-03",
            )
            window = build_self_service_window(settings)
            window.resize(*SIZE)
            window.show()
            window.start()
            service = window.self_service
            service.desk.decisions_dir = decisions
            # What the window's sync loop gives once a pass has reached the server.
            engine = open_sync(window.core)
            service.online_engine = lambda: engine
            window.set_network_status(True)
            spin(200)
            _save(window, args.out / "home-check-button.png")

            _submit(window, "elderly-allowance", ELDERLY)
            _save(window, args.out / "done-manual.png")
            _receipt(data_dir, args.receipts / "decision-manual-80mm.png")

            _load_set(server, folder, "elderly-allowance-register", {}, ("since",))
            approved, known = _submit(window, "elderly-allowance", ELDERLY)
            _save(window, args.out / "done-approved.png")
            _receipt(data_dir, args.receipts / "decision-approved-80mm.png")
            import numpy as np
            from PIL import Image

            from devices.qr import get_decoder

            image = np.asarray(Image.open(args.receipts / "decision-approved-80mm.png").convert("RGB"))[
                :, :, ::-1
            ]
            read = {s.text for s in get_decoder("auto").decode(np.ascontiguousarray(image))}
            if known is None or known.code not in read:
                raise RuntimeError("the decision code does not decode from the printed receipt")
            print(f"decision code decoded from the receipt: {known.code[:24]}…")

            window.set_language("en")
            _submit(window, "elderly-allowance", YOUNG)
            _save(window, args.out / "done-rejected-en.png")
            _receipt(data_dir, args.receipts / "decision-rejected-en-80mm.png")
            window.set_language("zh-CN")

            server.kill()
            service.online_engine = lambda: None  # what the sync loop says once a pass has failed
            window.set_network_status(False)
            _submit(window, "elderly-allowance", ELDERLY)
            _save(window, args.out / "done-pending.png")
            _receipt(data_dir, args.receipts / "decision-pending-80mm.png")
            _submit(window, "senior-card", ELDERLY)
            _save(window, args.out / "done-provisional.png")
            _receipt(data_dir, args.receipts / "decision-provisional-80mm.png")

            window.show_home()
            click(window.home.check_button)
            check = window.check_screen
            for key in approved.number.replace("-", "")[-8:]:
                click(check.keypad.buttons[key])
            click(check.keypad.buttons["confirm"])
            for key in ELDERLY:
                click(check.keypad.buttons[key])
            _save(window, args.out / "check-entry.png")
            click(check.keypad.buttons["confirm"])
            wait_for(lambda: not check.busy)
            _save(window, args.out / "check-result.png")
            window.shutdown()
            window.core.close()
        finally:
            server.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

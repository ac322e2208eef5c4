"""`kiosk run`, `kiosk scan` and `kiosk ocr`: the GUI, and the camera's two readers run on image files.

Qt, OpenCV, the QR decoder and the OCR engine are imported inside the handler that needs them, so
`kiosk --help` and the other commands start quickly and never load Qt.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kiosk.config import MODES, load_settings


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    run = sub.add_parser("run", parents=[common], help="start the kiosk GUI")
    run.add_argument("--mode", choices=MODES)
    run.add_argument(
        "--camera", help="camera source: 'demo', a device index, a video file or URL, or a folder of images"
    )
    run.add_argument("--fullscreen", action="store_true", default=None)
    run.set_defaults(handler=cmd_run)

    scan = sub.add_parser("scan", parents=[common], help="decode and evaluate the codes in image files")
    scan.add_argument("files", nargs="+", type=Path, metavar="FILE")
    scan.add_argument("--json", action="store_true", help="one JSON object per line per file")
    scan.set_defaults(handler=cmd_scan)

    ocr = sub.add_parser("ocr", parents=[common], help="read resident ID cards in image files (JSON lines)")
    ocr.add_argument("files", nargs="+", type=Path, metavar="IMAGE")
    ocr.add_argument("--side", choices=("front", "back", "auto"), default="auto")
    ocr.add_argument("--json", action="store_true", help="one JSON object per line per image (the default)")
    ocr.set_defaults(handler=cmd_ocr)


def cmd_run(args: argparse.Namespace, data_dir: Path) -> int:
    settings = load_settings(
        data_dir,
        {"mode": args.mode, "camera": args.camera, "fullscreen": args.fullscreen, "language": args.language},
    )
    # The one place the core reaches up into the Qt layer: starting it is what this command is for.
    from ui.app import run_gui
    from ui.single_instance import AlreadyRunning

    try:
        return run_gui(settings)
    except AlreadyRunning as err:
        print(f"kiosk: {err}", file=sys.stderr)
        return 3


def cmd_scan(args: argparse.Namespace, data_dir: Path) -> int:
    from devices.image_file import read_image
    from devices.qr import get_decoder
    from kiosk.codes.setup import registry_for
    from kiosk.i18n import translate
    from kiosk.scan_files import scan_file
    from kiosk.scanning import Scanner

    settings = load_settings(data_dir, {"language": args.language})
    scanner = Scanner(get_decoder(settings.decoder), registry_for(settings))
    failures = 0
    for path in args.files:
        result = scan_file(scanner, path, read_image, settings.language)
        failures += "error" in result
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        elif "error" in result:
            print(f"{path}: {result['error']}", flush=True)
        elif not result["codes"]:
            print(f"{path}: no code found ({result['ms']} ms)", flush=True)
        else:
            for code in result["codes"]:
                verdict = translate(f"verdict.{code['verdict']}", settings.language)
                line = f"{path}: [{code['verdict']}] {verdict} — {code['reason']} ({code['kind']})"
                print(line, flush=True)
    return 1 if failures else 0


def cmd_ocr(args: argparse.Namespace, data_dir: Path) -> int:
    """One JSON line per image on stdout; exit 1 if any image could not be read."""
    from devices.idcard import IdCardRecogniser, ocr_file
    from devices.ocr import OcrUnavailable, make_engine
    from devices.second_reader import default_second_reader

    try:
        engine = make_engine()
        engine.load()
    except OcrUnavailable as err:
        print(f"kiosk: {err}", file=sys.stderr)
        return 2
    recogniser = IdCardRecogniser(engine, second=default_second_reader())
    failures = 0
    for path in args.files:
        out = ocr_file(recogniser, path, args.side)
        failures += "error" in out
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 1 if failures else 0

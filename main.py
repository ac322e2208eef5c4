"""Command line of the kiosk: `kiosk run` starts the GUI; the other subcommands serve operators and scripts.

Heavy modules (Qt, OpenCV, the QR decoder) are imported inside the subcommand that needs them, so
`kiosk --help` and the non-GUI commands start quickly and never load Qt.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from kiosk.config import MODES, SettingsError, load_settings
from kiosk.disk import is_disk_full
from kiosk.fileio import FileProblem
from kiosk.i18n import LANGUAGES
from kiosk.paths import resolve_data_dir


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", help="settings, local store and keys (default: $KIOSK_DATA_DIR, else XDG data home)"
    )
    common.add_argument("--language", choices=LANGUAGES, help="language of messages (default zh-CN)")
    common.add_argument("-v", "--verbose", action="store_true", help="log INFO to the console too")

    parser = argparse.ArgumentParser(
        prog="kiosk", description="政务自助终端 — self-service / checkpoint kiosk"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", parents=[common], help="start the kiosk GUI")
    run.add_argument("--mode", choices=MODES)
    run.add_argument(
        "--camera", help="camera source: 'demo', a device index, a video file or URL, or a folder of images"
    )
    run.add_argument("--fullscreen", action="store_true", default=None)

    scan = sub.add_parser("scan", parents=[common], help="decode and evaluate the codes in image files")
    scan.add_argument("files", nargs="+", type=Path, metavar="FILE")
    scan.add_argument("--json", action="store_true", help="one JSON object per line per file")

    from kiosk.codes.commands import add_commands

    add_commands(sub, common)
    from kiosk.sync_commands import add_commands as add_sync_commands

    add_sync_commands(sub, common)
    from kiosk.forms.commands import add_commands as add_form_commands

    add_form_commands(sub, common)
    from kiosk.admin import add_commands as add_admin_commands

    add_admin_commands(sub, common)
    from kiosk.id_reader_commands import add_commands as add_id_reader_commands

    add_id_reader_commands(sub, common)

    ocr = sub.add_parser("ocr", parents=[common], help="read resident ID cards in image files (JSON lines)")
    ocr.add_argument("files", nargs="+", type=Path, metavar="IMAGE")
    ocr.add_argument("--side", choices=("front", "back", "auto"), default="auto")
    ocr.add_argument("--json", action="store_true", help="one JSON object per line per image (the default)")
    ocr.set_defaults(handler=_cmd_ocr)
    return parser


def _cmd_ocr(args: argparse.Namespace, data_dir: Path) -> int:
    from devices.idcard import run_ocr_command

    return run_ocr_command(args.files, args.side)


def _cmd_run(args: argparse.Namespace, data_dir: Path) -> int:
    settings = load_settings(
        data_dir,
        {"mode": args.mode, "camera": args.camera, "fullscreen": args.fullscreen, "language": args.language},
    )
    from ui.app import run_gui
    from ui.single_instance import AlreadyRunning

    try:
        return run_gui(settings)
    except AlreadyRunning as err:
        print(f"kiosk: {err}", file=sys.stderr)
        return 3


def _cmd_scan(args: argparse.Namespace, data_dir: Path) -> int:
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


# The exit status of any command stopped by a full disk.
DISK_FULL_EXIT = 4
_WHAT_BECAME = {
    "submit": " This submission was NOT stored; ask the person to come back or take it on paper.",
    "sync": " Items stay queued and are sent again once there is room (the server ignores repeats).",
    "export": " The items stay queued; nothing was marked as exported.",
}


def _disk_full_message(command: str, err: BaseException) -> str:
    return (
        f"kiosk {command}: the disk is full ({err}). Nothing was lost: everything stored before is intact."
        f"{_WHAT_BECAME.get(command, '')} Free some space and run the command again."
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir: Path | None = None
    try:
        data_dir = resolve_data_dir(args.data_dir)
        from kiosk.logs import configure_logging

        configure_logging(data_dir, verbose=args.verbose)
        handler = {"run": _cmd_run, "scan": _cmd_scan}.get(args.command) or args.handler
        return handler(args, data_dir)
    except (sqlite3.OperationalError, OSError) as err:
        if not is_disk_full(err, data_dir):
            raise
        print(_disk_full_message(args.command, err), file=sys.stderr)
        return DISK_FULL_EXIT
    except (SettingsError, FileProblem) as err:
        # FileProblem: a file the kiosk reads (keys, enrolment, trust store…) is damaged; its name and what
        # is wrong go to the operator instead of a traceback.
        print(f"kiosk: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

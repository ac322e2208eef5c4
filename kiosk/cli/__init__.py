"""The `kiosk` command line: `kiosk run` starts the GUI; the other subcommands serve operators and scripts.

Each module here registers its subcommands with ``add_commands(sub, common)`` and gives each a
``handler(args, data_dir) -> int``; nothing else in the code base parses arguments.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from kiosk.cli import admin, codes, forms, id_reader, run
from kiosk.cli import sync as sync_commands
from kiosk.config import SettingsError
from kiosk.disk import is_disk_full
from kiosk.fileio import FileProblem
from kiosk.i18n import LANGUAGES
from kiosk.paths import resolve_data_dir

# The exit status of any command stopped by a full disk.
DISK_FULL_EXIT = 4
_WHAT_BECAME = {
    "submit": " This submission was NOT stored; ask the person to come back or take it on paper.",
    "sync": " Items stay queued and are sent again once there is room (the server ignores repeats).",
    "export": " The items stay queued; nothing was marked as exported.",
}


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", help="settings, local store and keys (default: $KIOSK_DATA_DIR, else XDG data home)"
    )
    common.add_argument("--language", choices=LANGUAGES, help="language of messages (default zh-CN)")
    common.add_argument("-v", "--verbose", action="store_true", help="log INFO to the console too")

    top = argparse.ArgumentParser(prog="kiosk", description="政务自助终端 — self-service / checkpoint kiosk")
    sub = top.add_subparsers(dest="command", required=True)
    for module in (run, codes, sync_commands, forms, admin, id_reader):
        module.add_commands(sub, common)
    return top


def _disk_full_message(command: str, err: BaseException) -> str:
    return (
        f"kiosk {command}: the disk is full ({err}). Nothing was lost: everything stored before is intact."
        f"{_WHAT_BECAME.get(command, '')} Free some space and run the command again."
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    data_dir: Path | None = None
    try:
        data_dir = resolve_data_dir(args.data_dir)
        from kiosk.logs import configure_logging

        configure_logging(data_dir, verbose=args.verbose)
        return int(args.handler(args, data_dir))
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

"""`kiosk admin set-pin` and `kiosk admin audit`: admin mode's two commands for the kiosk's console."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from kiosk.admin.audit import AuditLog
from kiosk.admin.pin import PIN_DIGITS, AdminGate, PinError
from kiosk.store import Store


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    admin = sub.add_parser("admin", help="admin mode: set the PIN, read the audit log")
    commands = admin.add_subparsers(dest="admin_command", required=True)
    set_pin = commands.add_parser(
        "set-pin", parents=[common], help=f"set the admin PIN ({PIN_DIGITS[0]}-{PIN_DIGITS[1]} digits)"
    )
    set_pin.set_defaults(handler=cmd_set_pin)
    audit = commands.add_parser("audit", parents=[common], help="print the admin audit log")
    audit.add_argument("--limit", type=int, default=200)
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(handler=cmd_audit)


def _read_pin(prompt: str) -> str:
    """From the terminal without echo, or one line of stdin when it is not a terminal (scripts)."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def cmd_set_pin(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk.config import load_settings

    settings = load_settings(data_dir, {"language": args.language})
    pin = _read_pin("new admin PIN: ")
    again = _read_pin("again: ") if sys.stdin.isatty() else pin
    if pin != again:
        print("kiosk: the two PINs differ; nothing changed", file=sys.stderr)
        return 2
    try:
        AdminGate(settings.secrets_dir).set_pin(pin)
    except PinError as err:
        print(f"kiosk: {err}; nothing changed", file=sys.stderr)
        return 2
    store = Store(settings.store_path)
    try:
        AuditLog(store).record("pin_set", source="command line")
    finally:
        store.close()
    print("admin PIN set")
    return 0


def cmd_audit(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk.config import load_settings

    settings = load_settings(data_dir, {"language": args.language})
    store = Store(settings.store_path)
    try:
        entries = AuditLog(store).entries(args.limit)
    finally:
        store.close()
    for entry in entries:
        if args.json:
            print(json.dumps({"at": entry.at, "action": entry.action, **entry.details}, ensure_ascii=False))
        else:
            print(entry.line())
    return 0

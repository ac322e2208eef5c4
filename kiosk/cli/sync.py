"""`kiosk enrol`, `kiosk sync`, `kiosk export` and `kiosk outbox`: the central link from the command line.

Exit status of `kiosk sync`: 0 only when the outbox is empty afterwards; 1 when items remain (server not
reachable, or items quarantined); 2 when the command cannot run (not enrolled, bad settings).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path
from typing import Any

from kiosk.config import load_settings

# `--release` given without an item id.
ALL = "\0all"


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the subcommands on ``kiosk``'s subparsers; each sets ``handler(args, data_dir) -> int``."""
    # "enrol", as everywhere else (the server's `enrol-code`, the code); "enroll" is kept for scripts.
    enrol = sub.add_parser(
        "enrol", aliases=["enroll"], parents=[common], help="register this kiosk with a central server"
    )
    enrol.add_argument("url", metavar="URL", help="the central API, e.g. https://central.example")
    enrol.add_argument("code", metavar="CODE", help="one-time code from `kiosk-central enrol-code`")
    enrol.add_argument("--name", help="this kiosk's name on the server (default: host name)")
    enrol.set_defaults(handler=cmd_enrol)

    sync = sub.add_parser("sync", parents=[common], help="one sync pass; exit 0 only if the outbox is empty")
    sync.set_defaults(handler=cmd_sync)

    export = sub.add_parser(
        "export", parents=[common], help="write pending items to an encrypted, signed file"
    )
    export.add_argument("--out", type=Path, required=True, metavar="FILE")
    export.set_defaults(handler=cmd_export)

    outbox = sub.add_parser("outbox", parents=[common], help="show the outbox and quarantined items")
    outbox.add_argument(
        "--release",
        metavar="ITEM-ID",
        nargs="?",
        const=ALL,
        help="queue a quarantined item again; without an id, every one --kind and --reason select",
    )
    outbox.add_argument("--all", action="store_true", help="with --release: every quarantined item selected")
    outbox.add_argument("--kind", choices=("inspection", "submission"), help="with --release: this kind only")
    outbox.add_argument("--reason", metavar="TEXT", help="with --release: reasons containing TEXT")
    outbox.add_argument("--json", action="store_true")
    outbox.set_defaults(handler=cmd_outbox)


def _not_enrolled() -> int:
    print("kiosk: not enrolled; run `kiosk enrol URL CODE` first", file=sys.stderr)
    return 2


def cmd_enrol(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk import __version__
    from kiosk.central_client import DEVICE_KEY_FILE, CentralError, enrol, save_credentials
    from kiosk.forms.protect import reseal_pending
    from kiosk.keystore import load_or_create_secret
    from kiosk.store import Store

    settings = load_settings(data_dir, {"language": args.language})
    seed = load_or_create_secret(settings.secrets_dir / DEVICE_KEY_FILE)
    try:
        credentials = enrol(args.url, args.code, seed, args.name or socket.gethostname()[:100], __version__)
    except CentralError as err:
        print(f"kiosk: enrolment failed: {err}", file=sys.stderr)
        return 1
    save_credentials(settings.secrets_dir, credentials)
    print(f"enrolled as {credentials.device_id} at site {credentials.site}")
    # Now that the central key is known, what was stored under the local key is sealed to it at once
    # (every sync pass does this too, should the kiosk stop right here).
    store = Store(settings.store_path)
    try:
        resealed = reseal_pending(store, settings.secrets_dir)
    finally:
        store.close()
    if resealed:
        print(f"personal data of {resealed} earlier submission(s) sealed to the central key")
    return 0


def cmd_sync(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk.core import open_core
    from kiosk.sync import open_sync

    core = open_core(load_settings(data_dir, {"language": args.language}))
    try:
        engine = open_sync(core)
        if engine is None:
            return _not_enrolled()
        status, result = engine.run_once()
    finally:
        core.close()
    deferred = f" ({result.deferred} failed on the server, tried again next pass)" if result.deferred else ""
    print(
        f"accepted {result.accepted}, duplicate {result.duplicate}, rejected {result.rejected};"
        f" pending {status.pending}{deferred}, quarantined {status.quarantined}"
    )
    if status.error:
        print(f"kiosk: {status.error}", file=sys.stderr)
    return 0 if status.pending == 0 and status.quarantined == 0 else 1


def cmd_export(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk.central_client import DEVICE_KEY_FILE, load_credentials
    from kiosk.core import open_core
    from kiosk.disk import is_disk_full
    from kiosk.forms.protect import reseal_pending
    from kiosk.keystore import load_or_create_secret
    from kiosk.sneakernet import export_pending

    settings = load_settings(data_dir, {"language": args.language})
    credentials = load_credentials(settings.secrets_dir)
    if credentials is None:
        return _not_enrolled()
    core = open_core(settings)
    try:
        reseal_pending(core.store, settings.secrets_dir)
        count = export_pending(
            core.outbox, credentials, load_or_create_secret(settings.secrets_dir / DEVICE_KEY_FILE), args.out
        )
    except OSError as err:
        if is_disk_full(err):
            raise  # said by the command line as for every command
        print(f"kiosk: cannot write {args.out}: {err}", file=sys.stderr)
        return 2
    finally:
        core.close()
    print(f"exported {count} items to {args.out}")
    return 0


def cmd_outbox(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk.core import open_core

    one = args.release not in (None, ALL)
    if (args.all or args.kind or args.reason) and (one or args.release is None):
        print("kiosk: --all, --kind and --reason go with --release and no item id", file=sys.stderr)
        return 2
    if args.release == ALL and not args.all and not (args.kind or args.reason):
        print("kiosk: --release needs an item id, or --all (optionally --kind, --reason)", file=sys.stderr)
        return 2
    core = open_core(load_settings(data_dir, {"language": args.language}))
    try:
        if one and not core.outbox.release(args.release):
            print(f"kiosk: {args.release} is not a quarantined item", file=sys.stderr)
            return 2
        if args.release == ALL:
            released = core.outbox.release_matching(args.kind, args.reason)
            print(f"released {released} item(s)")
        counts = core.outbox.counts()
        held = core.outbox.quarantined()
    finally:
        core.close()
    if args.json:
        items = [vars(item) for item in held]
        print(json.dumps({"pending": counts.pending, "quarantined": items}, ensure_ascii=False))
    else:
        print(f"pending {counts.pending}, quarantined {counts.quarantined}")
        for item in held:
            print(f"  {item.kind} {item.item_id} since {item.quarantined_at}: {item.reason}")
    return 0

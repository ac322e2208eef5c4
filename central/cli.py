"""``kiosk-central``: run the reference server and administer it from the command line.

Every subcommand takes ``--database URL`` (default $KIOSK_CENTRAL_DATABASE, else ``central.sqlite3`` in the
current folder) and ``--key-dir`` (default $KIOSK_CENTRAL_KEY_DIR, else ``central-keys``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from central.db import make_engine, migrate, session_factory, utcnow

DEFAULT_DATABASE = "sqlite:///central.sqlite3"
DEFAULT_KEY_DIR = "central-keys"


def _session(args: argparse.Namespace) -> Session:
    engine = make_engine(args.database)
    migrate(engine)
    return session_factory(engine)()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from central.dashboard import DashboardSettings

    try:
        dashboard = DashboardSettings(args.timezone, timedelta(minutes=args.online_minutes))
    except ValueError as err:
        print(f"kiosk-central: {err}", file=sys.stderr)
        return 2
    if args.workers > 1:
        # Worker processes build the app themselves from the environment (uvicorn's factory mode).
        os.environ["KIOSK_CENTRAL_FORWARDED_ALLOW_IPS"] = args.forwarded_allow_ips
        os.environ["KIOSK_CENTRAL_DATABASE"] = args.database
        os.environ["KIOSK_CENTRAL_KEY_DIR"] = str(args.key_dir)
        os.environ["KIOSK_CENTRAL_TIMEZONE"] = args.timezone
        os.environ["KIOSK_CENTRAL_ONLINE_MINUTES"] = str(args.online_minutes)
        from central.app import create_app

        create_app(args.database, args.key_dir)  # migrate and create keys once, before the workers race
        uvicorn.run(
            "central.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            proxy_headers=False,
        )
        return 0
    from central.app import create_app, proxy_list

    uvicorn.run(
        create_app(
            args.database,
            args.key_dir,
            dashboard=dashboard,
            trusted_proxies=proxy_list(args.forwarded_allow_ips),
        ),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        # The app reads X-Forwarded-For itself, from the configured proxies only.
        proxy_headers=False,
    )
    return 0


def cmd_enrol_code(args: argparse.Namespace) -> int:
    from central.enrolment import EnrolmentError, issue_code

    with _session(args) as session:
        try:
            code = issue_code(session, args.site, args.checkpoint, timedelta(hours=args.valid_hours))
        except EnrolmentError as err:
            print(f"kiosk-central: {err}", file=sys.stderr)
            return 2
    print(code)
    return 0


def cmd_device_checkpoints(args: argparse.Namespace) -> int:
    from central.enrolment import EnrolmentError, bind_checkpoints

    with _session(args) as session:
        try:
            bind_checkpoints(session, args.device_id, args.checkpoint)
        except EnrolmentError as err:
            print(f"kiosk-central: {err}", file=sys.stderr)
            return 2
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from central.stats import statistics

    with _session(args) as session:
        stats = statistics(session, site=args.site)
    if args.json:
        print(stats.model_dump_json(indent=2))
        return 0
    print("checkpoint            day         inspections  persons  green  yellow  red")
    for row in stats.inspections:
        v = row.by_verdict
        print(
            f"{row.checkpoint_id:<20}  {row.day}  {row.inspections:>11}  {row.persons:>7}"
            f"  {v.get('green', 0):>5}  {v.get('yellow', 0):>6}  {v.get('red', 0):>3}"
        )
    print("\nservice               day         submissions")
    for sub in stats.submissions:
        print(f"{sub.service_id:<20}  {sub.day}  {sub.submissions:>11}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from central.deciding import Decider
    from central.importer import ExportFileError, import_export
    from central.keys import load_keys

    try:
        raw = args.file.read_bytes()
    except OSError as err:
        print(f"kiosk-central: {err}", file=sys.stderr)
        return 2
    engine = make_engine(args.database)
    migrate(engine)
    sessions = session_factory(engine)
    keys = load_keys(args.key_dir)
    with sessions() as session:
        try:
            outcome = import_export(session, keys, raw, Decider(keys, sessions))
        except ExportFileError as err:
            print(f"kiosk-central: {args.file}: {err}", file=sys.stderr)
            return 2
    print(", ".join(f"{status} {outcome[status]}" for status in ("accepted", "duplicate", "rejected")))
    return 1 if outcome["rejected"] else 0


def cmd_manager_add(args: argparse.Namespace) -> int:
    from central.managers import ManagerError, set_manager

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("kiosk-central: the passwords differ", file=sys.stderr)
            return 2
    with _session(args) as session:
        try:
            created = set_manager(session, args.name, password)
        except ManagerError as err:
            print(f"kiosk-central: {err}", file=sys.stderr)
            return 2
    print(f"manager {args.name} {'added' if created else 'password changed'}")
    return 0


def cmd_manager_remove(args: argparse.Namespace) -> int:
    from central.managers import remove_manager

    with _session(args) as session:
        if not remove_manager(session, args.name):
            print(f"kiosk-central: no manager {args.name}", file=sys.stderr)
            return 2
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from central.models import Device

    with _session(args) as session:
        device = session.get(Device, args.device_id)
        if device is None:
            print(f"kiosk-central: no device {args.device_id}", file=sys.stderr)
            return 2
        device.revoked_at = utcnow()
        session.commit()
    return 0


def cmd_bundle_set(args: argparse.Namespace) -> int:
    from central.bundle import set_part

    try:
        content = json.loads(args.file.read_text("utf-8"))
        with _session(args) as session:
            set_part(session, args.part, content)
    except (OSError, ValueError) as err:
        print(f"kiosk-central: {err}", file=sys.stderr)
        return 2
    return 0


def cmd_health_status_set(args: argparse.Namespace) -> int:
    """Publish the health-status list from a CSV of ``id_number,colour`` rows (yellow or red; green holders
    are not listed). Numbers are replaced by the subject hash the kiosks compute under the person hash key
    handed out at enrolment, so neither the bundle nor the database keeps a number."""
    import csv
    import hashlib
    import hmac

    from central.bundle import set_part
    from central.keys import load_keys

    person_key = load_keys(args.key_dir).person_hash
    entries: dict[str, str] = {}
    try:
        with args.file.open(encoding="utf-8", newline="") as rows:
            for line, row in enumerate(csv.reader(rows), start=1):
                if not row or row[0].strip().lower() == "id_number":
                    continue
                number, colour = row[0].strip().upper(), row[-1].strip().lower()
                if len(row) != 2 or colour not in ("yellow", "red") or len(number) != 18:
                    print(f"kiosk-central: {args.file}:{line}: want id_number,yellow|red", file=sys.stderr)
                    return 2
                subject = f"id:{number}".encode()
                entries[hmac.new(person_key, subject, hashlib.sha256).hexdigest()] = colour
        with _session(args) as session:
            set_part(session, "health_status", {"issued_at": utcnow().isoformat(), "entries": entries})
    except (OSError, UnicodeDecodeError, ValueError) as err:
        print(f"kiosk-central: {err}", file=sys.stderr)
        return 2
    print(f"{len(entries)} holders listed")
    return 0


def cmd_dataset_load(args: argparse.Namespace) -> int:
    """Load a reference data set as the new version in force; a running server uses it from its next
    submission on."""
    from central.datasets import DataSetError, read_set_file, store_set
    from central.keys import load_keys

    key = load_keys(args.key_dir).dataset_hash
    try:
        content = read_set_file(args.file, key, args.name, args.version)
    except DataSetError as err:
        print(f"kiosk-central: {err}", file=sys.stderr)
        return 2
    with _session(args) as session:
        report = store_set(session, content, args.file.name)
    replaced = f", replaces version {report.replaced}" if report.replaced else ""
    print(f"{report.name} version {report.version}: {report.rows} rows, in force{replaced}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from central.datasets import versions

    with _session(args) as session:
        rows = versions(session)
    print("set                         version               loaded (UTC)          rows       ")
    for row in rows:
        state = "in force" if row.in_force else "replaced"
        print(
            f"{row.name:<26}  {row.version:<20}  {row.loaded_at:%Y-%m-%d %H:%M:%S}   {row.row_count:>9}"
            f"  {state}"
        )
    return 0


def cmd_decision_set(args: argparse.Namespace) -> int:
    """Add (or replace) a decision file in the bundle's decisions part, checked as the server will use it."""
    from central.bundle import set_part
    from central.models import BundlePart
    from kiosk.decisions.rules import DecisionFileError, load_decision

    try:
        rules = load_decision(args.file)
        document = json.loads(args.file.read_text("utf-8"))
    except (DecisionFileError, OSError, ValueError) as err:
        print(f"kiosk-central: {err}", file=sys.stderr)
        return 2
    with _session(args) as session:
        part = session.get(BundlePart, "decisions")
        content = dict(part.content) if part is not None and isinstance(part.content, dict) else {}
        set_part(session, "decisions", content | {args.file.name: document})
    print(f"{args.file.name}: {rules.label} in the bundle")
    return 0


def cmd_decision_key(args: argparse.Namespace) -> int:
    """The decision-code key as a trust-store entry, for kiosks whose trust store the centre does not
    distribute (``kiosk keys import-trust``)."""
    from central.decisions import trust_entry
    from central.keys import load_keys

    print(json.dumps(trust_entry(load_keys(args.key_dir)), indent=2))
    return 0


def cmd_slot_add(args: argparse.Namespace) -> int:
    from central.models import Slot

    starts = datetime.fromisoformat(args.start)
    if starts.tzinfo is None:
        print("kiosk-central: --start needs a time zone, e.g. 2025-03-01T09:00+08:00", file=sys.stderr)
        return 2
    # Stored in UTC like every server time: SQLite keeps no offset and reads the time back as UTC.
    starts = starts.astimezone(UTC)
    slot_id = str(uuid.uuid4())
    with _session(args) as session:
        session.add(
            Slot(
                id=slot_id,
                site=args.site,
                service_id=args.service,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=args.minutes),
                capacity=args.capacity,
            )
        )
        session.commit()
    print(slot_id)
    return 0


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database",
        default=os.environ.get("KIOSK_CENTRAL_DATABASE", DEFAULT_DATABASE),
        help="SQLAlchemy URL: sqlite:///FILE or postgresql://USER@HOST/DB",
    )
    common.add_argument(
        "--key-dir",
        type=Path,
        default=Path(os.environ.get("KIOSK_CENTRAL_KEY_DIR", DEFAULT_KEY_DIR)),
        help="folder with the server's sealing and bundle-signing keys (created on first use)",
    )
    parser = argparse.ArgumentParser(prog="kiosk-central", description="reference central server for kiosks")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--workers", type=int, default=1, help="API processes (stateless; same database)")
    serve.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    serve.add_argument(
        "--timezone",
        default=os.environ.get("KIOSK_CENTRAL_TIMEZONE", "Asia/Shanghai"),
        help="IANA zone of the dashboard's 'today' and of the times it shows (default Asia/Shanghai)",
    )
    serve.add_argument(
        "--online-minutes",
        type=float,
        default=float(os.environ.get("KIOSK_CENTRAL_ONLINE_MINUTES", "10")),
        help="the dashboard counts a kiosk online when its last heartbeat is this recent (default 10)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("KIOSK_CENTRAL_FORWARDED_ALLOW_IPS", ""),
        metavar="ADDRESSES",
        help="comma-separated addresses or networks of reverse proxies whose X-Forwarded-For names the "
        "client (default none: the client is the connecting address, whatever headers it sends)",
    )
    serve.set_defaults(handler=cmd_serve)

    code = sub.add_parser("enrol-code", parents=[common], help="print a one-time enrolment code")
    code.add_argument("--site", default="default")
    code.add_argument("--valid-hours", type=int, default=24)
    code.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="ID",
        help="a checkpoint the device may report inspections under (repeat for several; none for a "
        "self-service kiosk); it must not belong to another site",
    )
    code.set_defaults(handler=cmd_enrol_code)

    bind = sub.add_parser(
        "device-checkpoints", parents=[common], help="set the checkpoints a device may report under"
    )
    bind.add_argument("device_id", metavar="DEVICE-ID")
    bind.add_argument("checkpoint", nargs="*", metavar="ID")
    bind.set_defaults(handler=cmd_device_checkpoints)

    stats = sub.add_parser("stats", parents=[common], help="print the statistics")
    stats.add_argument("--site", help="only this site")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(handler=cmd_stats)

    imp = sub.add_parser("import", parents=[common], help="ingest a kiosk export file (idempotent)")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.set_defaults(handler=cmd_import)

    manager = sub.add_parser(
        "manager-add", parents=[common], help="add a dashboard manager, or change their password"
    )
    manager.add_argument("name", metavar="NAME")
    manager.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    manager.set_defaults(handler=cmd_manager_add)

    unmanage = sub.add_parser("manager-remove", parents=[common], help="remove a dashboard manager")
    unmanage.add_argument("name", metavar="NAME")
    unmanage.set_defaults(handler=cmd_manager_remove)

    revoke = sub.add_parser("revoke", parents=[common], help="revoke a device's credentials")
    revoke.add_argument("device_id", metavar="DEVICE-ID")
    revoke.set_defaults(handler=cmd_revoke)

    bundle = sub.add_parser("bundle-set", parents=[common], help="set a part of the bundle from a JSON file")
    bundle.add_argument("part", choices=("sites", "services", "trust_store", "revocations"))
    bundle.add_argument("file", type=Path, metavar="FILE")
    bundle.set_defaults(handler=cmd_bundle_set)

    health = sub.add_parser(
        "health-status-set",
        parents=[common],
        help="publish the ID-card holders' health-status list from a CSV of id_number,colour rows",
    )
    health.add_argument("file", type=Path, metavar="FILE")
    health.set_defaults(handler=cmd_health_status_set)

    dataset = sub.add_parser(
        "dataset-load",
        parents=[common],
        help="load a reference data set (JSON, or CSV with id_number first) as the version in force",
    )
    dataset.add_argument("file", type=Path, metavar="FILE")
    dataset.add_argument("--name", help="the set's name (a CSV file's; a JSON set names itself)")
    dataset.add_argument("--version", help="the set's version (a CSV file's; a JSON set gives its own)")
    dataset.set_defaults(handler=cmd_dataset_load)

    datasets = sub.add_parser("datasets", parents=[common], help="list every data-set version loaded")
    datasets.set_defaults(handler=cmd_datasets)

    decision = sub.add_parser(
        "decision-set", parents=[common], help="put a decision file into the bundle (checked first)"
    )
    decision.add_argument("file", type=Path, metavar="FILE")
    decision.set_defaults(handler=cmd_decision_set)

    key = sub.add_parser("decision-key", parents=[common], help="print the decision-code key's trust entry")
    key.set_defaults(handler=cmd_decision_key)

    slot = sub.add_parser("slot-add", parents=[common], help="open an appointment slot; prints its id")
    slot.add_argument("--site", default="default")
    slot.add_argument("--service", required=True)
    slot.add_argument("--start", required=True, help="ISO time with zone")
    slot.add_argument("--minutes", type=int, default=30)
    slot.add_argument("--capacity", type=int, default=1)
    slot.set_defaults(handler=cmd_slot_add)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())

"""`kiosk services …`, `kiosk submit` and `kiosk receipt`: self-service from the command line.

`kiosk submit` goes through the same :class:`SubmissionDesk` as the screen. Exit status: 0 done; 1 the
service cannot be completed now (an appointment while offline, a printer that failed — the submission is
stored all the same); 2 bad input (unknown service, unreadable or invalid answers: nothing is stored).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kiosk.config import Settings, load_settings


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the subcommands on ``kiosk``'s subparsers; each sets ``handler(args, data_dir) -> int``."""
    services = sub.add_parser("services", help="the self-service definitions").add_subparsers(
        dest="services_command", required=True
    )
    listing = services.add_parser("list", parents=[common], help="services in force, and refused definitions")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
    example = services.add_parser("example", parents=[common], help="print a valid sample answers JSON")
    example.add_argument("service", metavar="ID")
    example.set_defaults(handler=cmd_example)

    submit = sub.add_parser(
        "submit", parents=[common], help="validate and store a submission; prints its number"
    )
    submit.add_argument("--service", required=True, metavar="ID")
    submit.add_argument(
        "--answers", required=True, type=Path, metavar="FILE.json", help="'-' reads standard input"
    )
    submit.add_argument("--print", action="store_true", dest="print_now", help="print the receipt now")
    submit.set_defaults(handler=cmd_submit)

    receipt = sub.add_parser("receipt", parents=[common], help="render a sample receipt of a service")
    receipt.add_argument("--service", required=True, metavar="ID")
    receipt.add_argument(
        "--demo", action="store_true", required=True, help="from the service's example answers"
    )
    target = receipt.add_mutually_exclusive_group()
    target.add_argument("--out", type=Path, metavar="FILE.pdf", help="write the PDF here")
    target.add_argument(
        "--printer", metavar="SPEC", help="print on this printer (see `printer` in the README)"
    )
    receipt.add_argument(
        "--paper", choices=("58mm", "80mm", "A5", "A4"), help="default: the receipt_paper setting"
    )
    receipt.set_defaults(handler=cmd_receipt)


def _settings(args: argparse.Namespace, data_dir: Path) -> Settings:
    return load_settings(data_dir, {"language": args.language})


def _definition(settings: Settings, service_id: str, command: str) -> Any:
    from kiosk.forms.definition import catalogue_for

    catalogue = catalogue_for(settings.data_dir)
    definition = catalogue.get(service_id)
    if definition is None:
        known = ", ".join(d.id for d in catalogue.ordered())
        print(f"kiosk {command}: unknown service {service_id!r} (services: {known})", file=sys.stderr)
    return definition


def cmd_list(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk.forms.definition import catalogue_for

    settings = _settings(args, data_dir)
    catalogue = catalogue_for(settings.data_dir)
    if args.json:
        for d in catalogue.ordered():
            print(
                json.dumps(
                    {"id": d.id, "version": d.version, "title": dict(d.title), "source": d.source},
                    ensure_ascii=False,
                )
            )
    else:
        for d in catalogue.ordered():
            print(f"{d.id:<20} v{d.version}  {d.title_in(settings.language)}  ({d.source})")
    for err in catalogue.refused:
        print(f"refused: {err}", file=sys.stderr)
    return 1 if catalogue.refused else 0


def cmd_example(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk.forms.answers import example_answers

    definition = _definition(_settings(args, data_dir), args.service, "services example")
    if definition is None:
        return 2
    print(json.dumps(example_answers(definition), ensure_ascii=False, indent=2))
    return 0


def _read_answers(path: Path) -> Any:
    from kiosk.fileio import MAX_FILE_BYTES, FileProblem, parse_json, read_json

    if str(path) != "-":
        return read_json(path)
    data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem("standard input", f"more than the {MAX_FILE_BYTES} bytes allowed")
    return parse_json(data, "standard input")


def cmd_submit(args: argparse.Namespace, data_dir: Path) -> int:
    from kiosk.fileio import FileProblem
    from kiosk.forms.answers import AnswerError
    from kiosk.forms.slots import SlotsUnavailable, SlotTaken, slot_source_for
    from kiosk.forms.submissions import SubmissionDesk
    from kiosk.store import Store

    settings = _settings(args, data_dir)
    definition = _definition(settings, args.service, "submit")
    if definition is None:
        return 2
    try:
        answers = _read_answers(args.answers)
    except FileNotFoundError:
        print(f"kiosk submit: cannot read {args.answers}: no such file", file=sys.stderr)
        return 2
    except FileProblem as err:
        print(f"kiosk submit: {err}", file=sys.stderr)
        return 2
    store = Store(settings.store_path)
    try:
        desk = SubmissionDesk(store, settings, slot_source_for(settings.secrets_dir))
        submission = desk.submit(definition, answers, settings.language)
    except AnswerError as err:
        print(f"kiosk submit: {args.service}: {err}", file=sys.stderr)
        return 2
    except (SlotsUnavailable, SlotTaken) as err:
        print(f"kiosk submit: cannot book the appointment now: {err}", file=sys.stderr)
        return 1
    finally:
        if not args.print_now:
            store.close()
    print(submission.number)
    if not args.print_now:
        return 0
    try:
        return _print_job(store, settings, submission.print_job_id)
    finally:
        store.close()


def _print_job(store: Any, settings: Settings, job_id: int) -> int:
    from devices.printer import printer_from_spec
    from printing.jobs import PrintQueue

    printer = printer_from_spec(
        settings.printer, settings.data_dir, settings.receipt_paper, settings.escpos_mode
    )
    outcome = PrintQueue(store).print_job(job_id, printer)
    if not outcome.printed:
        print(
            f"kiosk: receipt not printed ({outcome.state.value}: {outcome.detail}); job {job_id} kept",
            file=sys.stderr,
        )
        return 1
    print(f"receipt: {outcome.where}", file=sys.stderr)
    return 0


def cmd_receipt(args: argparse.Namespace, data_dir: Path) -> int:
    from devices.printer import PrinterError, printer_from_spec
    from kiosk.forms.submissions import SubmissionDesk
    from kiosk.store import Store
    from printing.receipt import render_pdf

    settings = _settings(args, data_dir)
    definition = _definition(settings, args.service, "receipt")
    if definition is None:
        return 2
    paper = args.paper or settings.receipt_paper
    store = Store(settings.store_path)
    try:
        receipt = SubmissionDesk(store, settings).demo_receipt(definition, settings.language)
    finally:
        store.close()
    if args.printer:
        try:
            printer = printer_from_spec(args.printer, settings.data_dir, paper, settings.escpos_mode)
            where = printer.print_receipt(receipt)
        except ValueError as err:
            print(f"kiosk receipt: {err}", file=sys.stderr)
            return 2
        except PrinterError as err:
            print(f"kiosk receipt: printer {args.printer}: {err}", file=sys.stderr)
            return 1
        print(where)
        return 0
    out = args.out or Path(f"{definition.id}-receipt.pdf")
    out.write_bytes(render_pdf(receipt, paper))
    print(out)
    return 0

"""``kiosk read-id``: what the ID-card reader returns, for operators setting one up.

It prints the full ID number (as ``kiosk ocr`` does): this command is for the operator at the terminal,
never for a screen the public sees, and nothing it prints is logged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kiosk.config import load_settings


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    read = sub.add_parser("read-id", parents=[common], help="read the ID card on the chip reader")
    read.add_argument("--device", help="none | auto | serial:DEVICE[:BAUD] (default: the id_reader setting)")
    read.add_argument("--json", action="store_true", help="one JSON object")
    read.set_defaults(handler=cmd_read_id)


def cmd_read_id(args: argparse.Namespace, data_dir: Path) -> int:
    """Exit 0 with the card's fields; 1 when no card or an unreadable one; 2 when there is no reader."""
    from devices.id_reader import ReaderError, decode_photo, devices_in_use, open_reader
    from kiosk.idcard.chip import ChipRefused, decode_text

    settings = load_settings(data_dir, {"language": args.language})
    spec = args.device or settings.id_reader
    try:
        reader = open_reader(spec, devices_in_use(settings.printer))
    except ReaderError as exc:
        print(f"kiosk: {exc.detail}", file=sys.stderr)
        return 2
    if reader is None:
        print(f"kiosk: no ID-card reader (id_reader = {spec!r})", file=sys.stderr)
        return 2
    out: dict[str, Any] = {"device": reader.name, "source": "chip"}
    try:
        read = reader.read_card()
        out["ms"] = round(read.ms, 1)
        identity = decode_text(read.text)
    except ReaderError as exc:
        out["error"] = exc.kind
        out["detail"] = exc.detail
    except ChipRefused as exc:
        out["error"] = "refused"
        out["detail"] = str(exc)
        out["reasons"] = exc.reasons
    else:
        out["fields"] = identity.fields
        out["warnings"] = list(identity.warnings)
        photo = decode_photo(read.photo, settings.id_photo_library)
        out["photo"] = "available" if photo is not None else "not available"
    finally:
        reader.close()
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    elif "error" in out:
        print(f"{out['device']}: {out['error']} {out['detail']}".rstrip())
    else:
        for name, value in out["fields"].items():
            print(f"{name}: {value}")
        print(f"source: chip ({out['device']}), {out['ms']} ms, photo {out['photo']}")
    return 1 if "error" in out else 0

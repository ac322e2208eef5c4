"""``kiosk-central import``: ingest a kiosk's export file, idempotently (the same path as the batch API)."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from central.deciding import Decider
from central.ingest import ingest
from central.keys import CentralKeys
from central.models import Device
from central.schemas import InspectionIn, SubmissionIn
from protocol.export import FORMAT, signed_header
from protocol.sealing import SealError, b64d, open_sealed, verify

MAX_ITEMS_BYTES = 2 * 1024**3
_MODELS: dict[str, TypeAdapter[InspectionIn] | TypeAdapter[SubmissionIn]] = {
    "inspection": TypeAdapter(InspectionIn),
    "submission": TypeAdapter(SubmissionIn),
}
_CHUNK = 500


class ExportFileError(ValueError):
    """The file is not an export this server can accept (shown to the operator as it is)."""


def _gunzip(data: bytes) -> bytes:
    # Bounded, so that a crafted file cannot expand without limit.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, MAX_ITEMS_BYTES)
    if inflater.unconsumed_tail:
        raise ExportFileError("export expands beyond the size limit")
    return out


def read_export(session: Session, keys: CentralKeys, raw: bytes) -> tuple[Device, list[dict[str, Any]]]:
    try:
        document = json.loads(raw)
        if document.get("format") != FORMAT:
            raise ExportFileError(f"not a {FORMAT} file")
        device = session.get(Device, str(document["device_id"]))
        signature = b64d(document["signature"])
        header = signed_header(document)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        if isinstance(err, ExportFileError):
            raise
        raise ExportFileError("not a readable export file") from None
    if device is None:
        raise ExportFileError("export from an unknown device")
    if device.revoked_at is not None:
        raise ExportFileError("export from a revoked device")
    if not verify(device.public_key, signature, header):
        raise ExportFileError("signature does not verify: the file was altered or not written by this device")
    try:
        items = json.loads(_gunzip(open_sealed(keys.seal_private, b64d(document["sealed"]))))
    except (SealError, ValueError, zlib.error) as err:
        raise ExportFileError(f"cannot open the export: {err}") from None
    if not isinstance(items, list) or len(items) != document["count"]:
        raise ExportFileError("export content does not match its header")
    return device, items


def import_export(
    session: Session, keys: CentralKeys, raw: bytes, decider: Decider | None = None
) -> Counter[str]:
    """Counts per outcome: accepted, duplicate, rejected. With a ``decider``, submissions of decided services
    are decided as they are stored, as on upload."""
    device, items = read_export(session, keys, raw)
    outcome: Counter[str] = Counter()
    for kind, model in _MODELS.items():
        valid: list[Any] = []  # of the one model of this kind
        for entry in items:
            if not isinstance(entry, dict) or entry.get("type") != kind:
                continue
            try:
                valid.append(model.validate_python(entry.get("item")))
            except ValidationError:
                outcome["rejected"] += 1
        for start in range(0, len(valid), _CHUNK):
            for result in ingest(
                session, device, valid[start : start + _CHUNK], via="import", decider=decider
            ):
                outcome[result.status] += 1
    outcome["rejected"] += sum(1 for e in items if not isinstance(e, dict) or e.get("type") not in _MODELS)
    return outcome

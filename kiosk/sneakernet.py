"""Export of pending items for stations with no link at all: a file carried to the centre on a USB stick.

The file is JSON: the items, gzip-compressed and sealed to the central key (so a lost stick leaks nothing),
and an Ed25519 signature by the device key over the header and the sealed bytes (so the centre knows which
kiosk wrote it and that nobody altered it). Exporting does not take items out of the queue: the centre's
import is idempotent, and when the kiosk later syncs the same items the server answers "duplicate".
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.central_client import Credentials
from kiosk.fileio import write_atomically
from kiosk.outbox import Outbox
from protocol.export import FORMAT, signed_header
from protocol.sealing import b64d, b64e, canonical_json, seal, sign


def export_pending(
    outbox: Outbox,
    credentials: Credentials,
    device_seed: bytes,
    out: Path,
    *,
    include_quarantined: bool = False,
    now: datetime | None = None,
) -> int:
    """Write every pending item to ``out`` (atomically, synced to the stick); returns how many. Items whose
    personal data is still under the kiosk's local key stay behind: the centre could not open it.
    ``include_quarantined`` adds the items the server refused, so the centre can examine them too."""
    queued = outbox.all_items if include_quarantined else outbox.pending
    # Wrapped, not merged: an inspection's own "kind" field is the kind of code it inspected.
    items = [{"type": item.kind, "item": item.wire()} for item in queued(sendable_only=True)]
    document: dict[str, Any] = {
        "format": FORMAT,
        "device_id": credentials.device_id,
        "created_at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        "count": len(items),
        "sealed": b64e(seal(b64d(credentials.seal_key), gzip.compress(canonical_json(items)))),
    }
    document["signature"] = b64e(sign(device_seed, signed_header(document)))
    write_atomically(out, json.dumps(document).encode("utf-8"))
    return len(items)

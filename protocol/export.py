"""The export file a station with no link carries to the centre on a USB stick (``kiosk export``,
``kiosk-central import``): which header fields the device signature covers."""

from __future__ import annotations

from typing import Any

from protocol.sealing import canonical_json

FORMAT = "kiosk-export/1"


def signed_header(document: dict[str, Any]) -> bytes:
    return canonical_json(
        {key: document[key] for key in ("format", "device_id", "created_at", "count", "sealed")}
    )

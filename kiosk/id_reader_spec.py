"""The ``id_reader`` setting's grammar: ``none``, ``auto`` or ``serial:DEVICE[:BAUD]``.

In the core, not beside the serial code (devices/id_reader.py), so that settings are checked without
importing a device layer; the reader builds itself from the parsed spec."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BAUD = 115200
BAUDS = (9600, 19200, 38400, 57600, 115200)


@dataclass(frozen=True)
class ReaderSpec:
    kind: str  # "none", "serial" or "auto"
    device: str = ""
    baud: int = DEFAULT_BAUD


def parse_spec(spec: str) -> ReaderSpec:
    """``none``, ``auto`` or ``serial:DEVICE[:BAUD]``; raises ``ValueError`` with the reason."""
    spec = spec.strip()
    if spec in ("none", "auto"):
        return ReaderSpec(spec)
    if not spec.startswith("serial:") or len(spec) == len("serial:"):
        raise ValueError("must be none, auto or serial:DEVICE[:BAUD]")
    device, _, baud = spec[len("serial:") :].partition(":")
    if not device:
        raise ValueError("serial: needs a device such as /dev/ttyUSB0")
    if not baud:
        return ReaderSpec("serial", device)
    if not baud.isdigit() or int(baud) not in BAUDS:
        raise ValueError(f"baud must be one of {', '.join(map(str, BAUDS))}")
    return ReaderSpec("serial", device, int(baud))

"""Device secrets kept as owner-only files in the data folder, created on first use."""

from __future__ import annotations

import secrets
from pathlib import Path

from kiosk.fileio import write_atomically


def load_or_create_secret(path: Path, nbytes: int = 32) -> bytes:
    """Read a random secret, creating it (mode 0600, written atomically) if it does not exist yet."""
    try:
        data = path.read_bytes()
        if len(data) == nbytes:
            return data
        raise ValueError(f"secret file {path.name} has {len(data)} bytes, expected {nbytes}")
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = secrets.token_bytes(nbytes)
    write_atomically(path, data, mode=0o600)
    return data

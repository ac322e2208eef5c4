"""Device secrets kept as owner-only files in the data folder, created on first use or issued at enrolment."""

from __future__ import annotations

import secrets
from pathlib import Path

from kiosk.fileio import FileProblem, read_capped, write_atomically

# The deployment-wide key subject hashes are made with, written at enrolment from the server's answer.
PERSON_KEY_FILE = "person-hash.key"


def load_or_create_secret(path: Path, nbytes: int = 32) -> bytes:
    """Read a random secret, creating it (mode 0600, written atomically) if it does not exist yet."""
    data = load_secret(path, nbytes)
    if data is None:
        data = secrets.token_bytes(nbytes)
        save_secret(path, data)
    return data


def save_secret(path: Path, data: bytes) -> None:
    """Store a secret received from elsewhere: owner-only folder and file, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(path, data, mode=0o600)


def load_secret(path: Path, nbytes: int = 32) -> bytes | None:
    """Read a secret that may not exist (yet): None when absent; a file of the wrong size is an error."""
    try:
        data = read_capped(path, 4096)  # any size is refused below; the cap only keeps a huge file out
    except FileNotFoundError:
        return None
    except FileProblem as err:
        raise FileProblem(err.name, f"secret key file: {err.why}") from None
    if len(data) != nbytes:
        raise FileProblem(str(path), f"secret key file has {len(data)} bytes, expected {nbytes}")
    return data

"""A full disk: how it is recognised, and the free space below which no new submission is taken."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

# Below this, the kiosk takes no new submission: what is left is kept for marking deliveries, the log and
# the store's own bookkeeping, so that what was already taken is still delivered.
DISK_FULL_BYTES = 16 * 1024 * 1024


def is_disk_full(err: BaseException, data_dir: Path | None = None) -> bool:
    """SQLite's "database or disk is full" or the system's "no space left" / "quota exceeded"; also SQLite's
    "disk I/O error" when ``data_dir`` has next to no room left (a WAL store's shared-memory file cannot
    grow on a full disk, and SQLite says only that)."""
    if isinstance(err, sqlite3.OperationalError):
        code = getattr(err, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL or "database or disk is full" in str(err):
            return True
        io_error = code is not None and code & 0xFF == sqlite3.SQLITE_IOERR
        return io_error and data_dir is not None and storage_full(data_dir)
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)


def storage_full(data_dir: Path) -> bool:
    """Too little room left in ``data_dir`` to take a new submission."""
    try:
        return shutil.disk_usage(data_dir).free < DISK_FULL_BYTES
    except OSError:
        return False  # cannot tell: storing will say so if it fails

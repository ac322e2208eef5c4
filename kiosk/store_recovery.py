"""Checking the store at start and recovering what a damaged one still holds.

A damaged ``kiosk.sqlite3`` (overwritten header, truncated, a bad page, another file in its place) is moved
aside, never deleted; what can still be read goes into a new store the kiosk starts with. The reading is the
``sqlite3`` command's ``.recover`` when that command is installed and works, else a copy table by table and
row by row here that steps over pages it cannot read. A store that vanished or became empty while the kiosk
had items (a marker file beside it keeps the count) is reported too, never silently replaced.

What happened is returned as a :class:`StoreIncident`; :class:`kiosk.store.Store` keeps it in the new store
for the health page and the heartbeat.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kiosk.fileio import FileProblem, read_json, write_atomically

log = logging.getLogger(__name__)

# The tables whose rows are items someone is waiting for; the marker counts these.
ITEM_TABLES = ("outbox", "submissions", "inspections")
_DAMAGE = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_MAGIC = b"SQLite format 3\x00"
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)
# Seeks past an unreadable page: one row at a time for this many (a page holds tens of rows), then doubling.
_LINEAR_SKIPS = 4096
_RECOVER_TIMEOUT_S = 300


@dataclass(frozen=True)
class StoreIncident:
    """``kind``: "damaged" (moved aside, rows recovered) or "vanished" (gone or empty while it had items)."""

    kind: str
    detail: str
    kept_as: str | None = None
    recovered: dict[str, int] = field(default_factory=dict)
    previous_items: int | None = None
    method: str | None = None
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def summary(self) -> str:
        if self.kind == "vanished":
            return f"store {self.detail}; it held {self.previous_items} item(s); started empty"
        counts = ", ".join(f"{n} {table}" for table, n in self.recovered.items())
        return f"store damaged ({self.detail}); kept as {self.kept_as}; recovered {counts or 'nothing'}"


def is_damage(err: sqlite3.DatabaseError) -> bool:
    """SQLite's "malformed" and "not a database": the file, not the moment (busy, locked, full)."""
    return getattr(err, "sqlite_errorcode", None) in _DAMAGE


def marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".items")


def read_marker(path: Path) -> int:
    """How many items the store held at the last count; 0 when there is no (readable) marker."""
    try:
        data = read_json(marker_path(path), 4096, 2)
    except (FileNotFoundError, FileProblem):
        return 0
    items = data.get("items") if isinstance(data, dict) else None
    return items if isinstance(items, int) and items >= 0 else 0


def write_marker(path: Path, items: int) -> None:
    body = {"items": items, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    write_atomically(marker_path(path), json.dumps(body).encode("ascii"))


def count_items(conn: sqlite3.Connection) -> int:
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return sum(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ITEM_TABLES if t in names)


def check(path: Path) -> str | None:
    """None when the store is sound (or absent, or empty); else what ``PRAGMA quick_check`` or the attempt to
    open it said. Errors that are not damage (locked, disk full) are raised as they are."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    if not path.is_file():
        return "not a file"
    conn = sqlite3.connect(path, timeout=10)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as err:
        if is_damage(err):
            return str(err)
        raise
    finally:
        conn.close()
    if rows == [("ok",)]:
        return None
    return "; ".join(str(row[0]) for row in rows[:3])


def vanished(path: Path) -> StoreIncident | None:
    """A store that is gone or empty while the marker says it held items."""
    previous = read_marker(path)
    if previous == 0:
        return None
    if not path.exists():
        return StoreIncident("vanished", "file missing", previous_items=previous)
    if path.is_file() and path.stat().st_size == 0:
        kept = _move_aside(path)
        return StoreIncident("vanished", "file empty (0 bytes)", kept_as=kept, previous_items=previous)
    return None


def _move_aside(path: Path) -> str:
    """Rename the store and its WAL files to ``<name>.damaged-<time>``; returns the new name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    os.replace(path, aside)
    if aside.is_file():
        for suffix in ("-wal", "-shm"):
            extra = path.with_name(path.name + suffix)
            if extra.exists():
                os.replace(extra, aside.with_name(aside.name + suffix))
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return aside.name


def recover(path: Path, damage: str, migrations: Sequence[str]) -> StoreIncident:
    """Move the damaged store aside and build a new one at ``path`` from what can be read of it."""
    kept = _move_aside(path)
    aside = path.with_name(kept)
    building = path.with_name(path.name + ".recovering")
    for leftover in (building, building.with_name(building.name + "-journal")):
        leftover.unlink(missing_ok=True)  # a half-built store from a recovery cut short: built again
    fresh = sqlite3.connect(building, isolation_level=None)
    try:
        for number, script in enumerate(migrations, start=1):
            fresh.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")
        recovered, method = _recover_into(aside, fresh)
    finally:
        fresh.close()
    os.replace(building, path)
    incident = StoreIncident("damaged", damage, kept_as=kept, recovered=recovered, method=method)
    items = sum(recovered.get(table, 0) for table in ITEM_TABLES)
    log.error("%s (%s); items recovered: %d", incident.summary(), method, items)
    return incident


def _recover_into(aside: Path, fresh: sqlite3.Connection) -> tuple[dict[str, int], str]:
    tables = [
        row[0]
        for row in fresh.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        )
    ]
    with tempfile.TemporaryDirectory(prefix="kiosk-recover-", dir=aside.parent) as scratch:
        # Work on a copy (with its WAL, which holds the latest commits): the kept file stays as it was found.
        source = Path(scratch) / "damaged.sqlite3"
        if aside.is_file():
            shutil.copyfile(aside, source)
            wal = aside.with_name(aside.name + "-wal")
            if wal.exists():
                shutil.copyfile(wal, source.with_name(source.name + "-wal"))
        else:
            return {}, "nothing readable"
        via_cli = _recover_with_cli(source, Path(scratch) / "cli.sqlite3")
        readable = via_cli or _openable(source)
        if readable is None:
            return {}, "nothing readable"
        method = "sqlite3 .recover" if via_cli else "row by row"
        src = sqlite3.connect(readable)
        try:
            counts = {table: _copy_table(src, fresh, table) for table in tables}
        finally:
            src.close()
    return {table: n for table, n in counts.items() if n}, method


def _recover_with_cli(source: Path, target: Path) -> Path | None:
    """SQLite's own recovery, when the command is installed and works here; None otherwise."""
    cli = shutil.which("sqlite3")
    if cli is None:
        return None
    try:
        dump = subprocess.run([cli, str(source), ".recover"], capture_output=True, timeout=_RECOVER_TIMEOUT_S)
        if dump.returncode != 0 or b"INSERT" not in dump.stdout:
            log.info("sqlite3 .recover gave nothing (%s); copying row by row", dump.stderr[:200])
            return None
        load = subprocess.run(
            [cli, str(target)], input=dump.stdout, capture_output=True, timeout=_RECOVER_TIMEOUT_S
        )
    except (OSError, subprocess.SubprocessError) as err:
        log.info("sqlite3 .recover failed (%s); copying row by row", err)
        return None
    return target if load.returncode == 0 else None


def _openable(source: Path) -> Path | None:
    """``source`` if SQLite can read its schema, after rewriting a destroyed header if need be."""
    if _schema_readable(source):
        return source
    with source.open("r+b") as fh:
        head = fh.read(100)
        size = fh.seek(0, os.SEEK_END)
        for page_size in _PAGE_SIZES:
            fh.seek(0)
            fh.write(_header(page_size, size // page_size or 1))
            fh.flush()
            if _schema_readable(source):
                log.info("store header rebuilt (page size %d)", page_size)
                return source
        fh.seek(0)
        fh.write(head)
    return None


def _schema_readable(source: Path) -> bool:
    try:
        conn = sqlite3.connect(source)
        try:
            conn.execute("SELECT name FROM sqlite_master").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
    return True


def _header(page_size: int, pages: int) -> bytes:
    """A 100-byte database header as this kiosk's stores have it (WAL, UTF-8, schema format 4)."""
    return (
        _MAGIC
        + struct.pack(">H", page_size if page_size < 65536 else 1)
        + bytes([2, 2, 0, 64, 32, 32])
        + struct.pack(">IIIIIIIIIIII", 1, pages, 0, 0, 1, 4, 0, 0, 1, 0, 0, 0)
        + bytes(20)
        + struct.pack(">II", 1, sqlite3.sqlite_version_info[0] * 1_000_000)
    )


def _rows(src: sqlite3.Connection, table: str, columns: str) -> Iterator[tuple[object, ...]]:
    """Every row that can be read, in rowid order, stepping over pages that cannot."""
    after: int | None = None
    failures = 0
    while True:
        start = after if after is not None else -(2**63)
        try:
            for row in src.execute(
                f"SELECT rowid, {columns} FROM {table} WHERE rowid > ? ORDER BY rowid", (start,)
            ):
                after, failures = row[0], 0
                yield tuple(row[1:])
            return
        except sqlite3.DatabaseError:
            failures += 1
            step = 1 if failures <= _LINEAR_SKIPS else 2 ** (failures - _LINEAR_SKIPS)
            after = (after if after is not None else 0) + step
            if after >= 2**63 - 1:  # past the largest rowid there can be
                return


def _copy_table(src: sqlite3.Connection, fresh: sqlite3.Connection, table: str) -> int:
    try:
        have = [row[1] for row in src.execute(f"PRAGMA table_info({table})")]
    except sqlite3.DatabaseError:
        return 0
    wanted = [row[1] for row in fresh.execute(f"PRAGMA table_info({table})")]
    columns = [c for c in wanted if c in have]
    if not columns:
        return 0
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    copied = 0
    fresh.execute("BEGIN")
    for row in _rows(src, table, names):
        try:
            cursor = fresh.execute(f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})", row)
        except sqlite3.IntegrityError:  # a NOT NULL column read as NULL from a damaged row
            continue
        copied += cursor.rowcount
    fresh.execute("COMMIT")
    return copied

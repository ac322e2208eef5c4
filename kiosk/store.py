"""The local SQLite store (WAL): every write is committed and synced to disk before the call returns.

Schema changes are a numbered list of SQL scripts applied in order and tracked with ``PRAGMA user_version``:
for one embedded file owned by one process this is the whole of what a migration tool would do here.
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.store_recovery import (
    StoreIncident,
    check,
    count_items,
    marker_path,
    recover,
    vanished,
    write_marker,
)

log = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE inspections (
        id            TEXT PRIMARY KEY,      -- UUID, so a later upload is idempotent
        at            TEXT NOT NULL,         -- ISO 8601 in UTC
        local_day     TEXT NOT NULL,         -- YYYY-MM-DD in the kiosk's time zone, for today's counters
        checkpoint_id TEXT NOT NULL,
        source        TEXT NOT NULL,         -- camera | manual
        kind          TEXT NOT NULL,
        code_hash     TEXT NOT NULL,         -- keyed hash of the code text, never the text
        subject_hash  TEXT NOT NULL,         -- keyed hash of who the code is for (unique persons)
        verdict       TEXT NOT NULL,
        reason        TEXT NOT NULL,         -- message key, no personal data
        uploaded_at   TEXT                   -- NULL until the central API has acknowledged it
    );
    CREATE INDEX inspections_by_code ON inspections (checkpoint_id, code_hash, at);
    CREATE INDEX inspections_by_day ON inspections (checkpoint_id, local_day);
    """,
    # The outbox: every record the central API must receive, queued in the transaction that creates it.
    # Delivered rows are deleted; rows the server refused stay, quarantined with its reason, for the admin.
    """
    CREATE TABLE outbox (
        seq               INTEGER PRIMARY KEY AUTOINCREMENT,  -- upload order
        kind              TEXT NOT NULL CHECK (kind IN ('inspection', 'submission')),
        item_id           TEXT NOT NULL UNIQUE,               -- the record's UUID, its identity on the server
        payload           TEXT NOT NULL,                      -- JSON, as the API takes it
        sealed_personal   BLOB,                               -- sealed to the central key: unreadable here
        created_at        TEXT NOT NULL,
        attempts          INTEGER NOT NULL DEFAULT 0,
        last_error        TEXT,
        quarantined_at    TEXT,
        quarantine_reason TEXT
    );
    CREATE INDEX outbox_queue ON outbox (quarantined_at, seq);
    INSERT INTO outbox (kind, item_id, payload, created_at)
        SELECT 'inspection', id,
               json_object('id', id, 'at', at, 'local_day', local_day, 'checkpoint_id', checkpoint_id,
                           'source', source, 'kind', kind, 'code_hash', code_hash,
                           'subject_hash', subject_hash, 'verdict', verdict, 'reason', reason),
               at
        FROM inspections WHERE uploaded_at IS NULL ORDER BY at;
    """,
    # Self-service submissions, per-day sequences (submission and queue numbers) and the print queue.
    # ``clear`` holds only non-personal answers and masked personal ones; full personal values are in
    # ``sealed_personal`` (sealed to the central key, or under the local data key until enrolment).
    """
    CREATE TABLE submissions (
        id              TEXT PRIMARY KEY,      -- UUID, its identity on the server
        number          TEXT NOT NULL,         -- what the person is told: device, MMDD, sequence
        service_id      TEXT NOT NULL,
        service_version INTEGER NOT NULL,
        device_id       TEXT NOT NULL,
        at              TEXT NOT NULL,         -- ISO 8601 in UTC
        local_day       TEXT NOT NULL,
        clear           TEXT NOT NULL,         -- JSON: non-personal answers, personal ones masked
        sealed_personal BLOB,
        code            TEXT NOT NULL,         -- the signed code printed on the receipt
        code_type       TEXT NOT NULL
    );
    CREATE UNIQUE INDEX submissions_by_number ON submissions (local_day, number);
    CREATE TABLE sequences (
        name  TEXT PRIMARY KEY,                -- e.g. 'submission:2026-11-26', 'ticket:2026-11-26:A'
        value INTEGER NOT NULL
    );
    CREATE TABLE print_jobs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        submission_id TEXT NOT NULL REFERENCES submissions (id),
        created_at    TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending', 'printed', 'failed')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        printed_at    TEXT,
        receipt       TEXT NOT NULL          -- JSON layout model: masked values and the code, nothing more
    );
    CREATE INDEX print_jobs_by_status ON print_jobs (status, id);
    """,
    # Admin mode's audit log: what was done and when, never personal data (kiosk.admin.audit.AuditLog).
    """
    CREATE TABLE admin_audit (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL,                 -- ISO 8601 in UTC
        action  TEXT NOT NULL,                 -- e.g. 'entered', 'settings_saved', 'reprint'
        details TEXT NOT NULL DEFAULT '{}'     -- JSON: setting keys, counts, item ids
    );
    """,
    # What happened to the store before this one (kiosk.store_recovery): shown on the health page and in
    # the heartbeat, in the store itself so that it survives the restarts after it.
    """
    CREATE TABLE store_incidents (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL,                 -- ISO 8601 in UTC
        kind    TEXT NOT NULL,                 -- damaged | vanished
        summary TEXT NOT NULL                  -- what was found, where the old file is, what was recovered
    );
    """,
    # The last decision known of each submission of a decided service (kiosk.decisions.outcomes owns it).
    # Nothing personal: the applicant is only a keyed hash of the ID number, for "check my application".
    # No secondary index: one row per decided submission of this one kiosk, a scan of which costs less than
    # the sync pass's network round trip that follows it.
    """
    CREATE TABLE decisions (
        submission_id TEXT PRIMARY KEY REFERENCES submissions (id),
        service_id    TEXT NOT NULL,
        number        TEXT NOT NULL,          -- the submission number, as on the receipt
        id_hash       TEXT NOT NULL,          -- keyed hash of the applicant's ID number, never the number
        submitted_at  TEXT NOT NULL,          -- ISO 8601 in UTC
        outcome       TEXT CHECK (outcome IN ('approved', 'rejected', 'manual')),  -- NULL: none known yet
        reasons       TEXT NOT NULL DEFAULT '[]',  -- JSON [{"zh-CN": …, "en": …}], only for rejected
        decided_at    TEXT,
        decided_by    TEXT,                   -- rules | manager (central), kiosk (provisional)
        code          TEXT,                   -- the central decision code, only for a central approval
        provisional   INTEGER NOT NULL DEFAULT 0,
        updated_at    TEXT NOT NULL
    );
    """,
)


# An incident this old no longer shows on the health page (it stays in the table and the log).
INCIDENT_SHOWN_FOR = timedelta(days=7)


class Store:
    """One connection shared by the GUI and worker threads, serialised by a lock (SQLite writes serially).

    Opening checks the file first (:mod:`kiosk.store_recovery`): a damaged store is moved aside and what it
    still holds is carried over, a vanished one is reported; :attr:`incident` says what happened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        with _exclusive(path):
            # One process at a time checks and, if need be, recovers; the others then find a sound store.
            self.incident = _prepare(path)
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed transaction survives power loss, which is what "written before shown" promises.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        # Whether the marker beside the store already says it holds items; see _note_items.
        self._marked = False
        self._migrate()
        if self.incident is not None:
            with self.transaction() as conn:
                conn.execute(
                    "INSERT INTO store_incidents (at, kind, summary) VALUES (?, ?, ?)",
                    (self.incident.at, self.incident.kind, self.incident.summary()),
                )
        try:
            self._note_items()
        except OSError as err:  # a full disk: the store itself still opens, and says so when written to
            log.warning("store %s: item count not noted: %s", self.path.name, err)

    def _migrate(self) -> None:
        with self._lock:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                # One script, one transaction: a crash mid-migration leaves the previous schema intact.
                self._conn.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version={number}; COMMIT;")
                log.info("store %s migrated to schema %d", self.path.name, number)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                # SQLite has already rolled back after some errors (a full disk): the original error is
                # what the caller must see, not "no transaction is active".
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            if not self._marked:
                try:
                    self._note_items()
                except OSError as err:  # committed all the same: the caller must not be told otherwise
                    log.warning("store %s: item count not noted: %s", self.path.name, err)

    def _note_items(self, always: bool = False) -> None:
        """Keep the count of items in the marker beside the store at open, at close and at the first item,
        so that a store that later vanishes is known to have held items (an fsynced write, so not at every
        transaction)."""
        with self._lock:
            items = count_items(self._conn)
            if always or items or not marker_path(self.path).exists():
                write_marker(self.path, items)
            self._marked = items > 0

    def recent_incidents(self, now: datetime | None = None) -> list[str]:
        """Summaries of what happened to the store in the last INCIDENT_SHOWN_FOR, newest first."""
        since = (now or datetime.now(UTC)) - INCIDENT_SHOWN_FOR
        rows = self.query(
            "SELECT summary FROM store_incidents WHERE at >= ? ORDER BY id DESC",
            (since.isoformat(timespec="seconds"),),
        )
        return [str(row[0]) for row in rows]

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def schema_version(self) -> int:
        return int(self.query("PRAGMA user_version")[0][0])

    def close(self) -> None:
        with self._lock:
            try:
                self._note_items(always=True)
            except (sqlite3.Error, OSError) as err:  # closing must not fail on a full disk
                log.warning("store %s: item count not noted at close: %s", self.path.name, err)
            self._conn.close()


def _prepare(path: Path) -> StoreIncident | None:
    gone = vanished(path)
    if gone is not None:
        log.error("%s", gone.summary())
        return gone
    damage = check(path)
    if damage is None:
        return None
    log.error("store %s is damaged: %s; recovering what it holds", path.name, damage)
    return recover(path, damage, MIGRATIONS)


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

"""Reference data sets on the server (a household-registration extract, an allowance register …): loaded from
files, every version recorded, replaceable while the server runs.

A set is loaded with ``kiosk-central dataset-load FILE``: a JSON set (schema
``assets/decisions/dataset.schema.json``: rows keyed by HMAC-SHA256 of the ID number under this server's
``dataset-hash.key``, and its ``key_check``) or a CSV whose first column ``id_number`` holds numbers in
clear, which are replaced by their keyed hashes before anything is stored. The set goes into the
``datasets`` table as a new version (this module alone writes it); the previous version's record stays,
without its rows.

Each API process keeps the sets it uses in memory (:class:`DataSets`): before deciding it asks the table for
the newest version of each name (one small query) and reads a set again only when that changed, so a new
version is in force at the next submission, in every process, without a restart.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from central.db import as_utc, utcnow
from central.models import DataSetVersion
from kiosk.decisions.datasets import (
    MAX_DATASET_BYTES,
    ReferenceSet,
    build_reference_set,
    keyed_digest,
    parse_reference_set,
)
from kiosk.fileio import FileProblem
from kiosk.idnumber import normalise

log = logging.getLogger(__name__)

# How long a request waits for a newly loaded version before deciding with the one before it: a set of
# thousands of rows is read well within it, a million-row extract is not (seconds).
SWITCH_WAIT_S = 0.5
# The first column of a CSV set: what rows are looked up by, hashed on load and never stored in clear.
ID_COLUMNS = ("id_number", "plate")


class DataSetError(ValueError):
    """A data-set file that cannot be loaded; the message names the file and what is wrong."""


@dataclass(frozen=True)
class LoadedSet:
    """A set in memory: rows by the 32-byte keyed hash, values in the order of ``fields``. Bytes keys and
    tuples rather than the file's hex strings and objects: a million rows fit in a few hundred megabytes."""

    name: str
    version: str
    loaded_at: datetime
    fields: tuple[str, ...]
    rows: Mapping[bytes, tuple[Any, ...]] = field(repr=False)
    key: bytes = field(repr=False)

    def lookup(self, identifier: str) -> Mapping[str, Any] | None:
        row = self.rows.get(keyed_digest(self.key, identifier))
        return None if row is None else dict(zip(self.fields, row, strict=True))


@dataclass(frozen=True)
class LoadReport:
    name: str
    version: str
    rows: int
    loaded_at: datetime
    replaced: str | None  # the version it replaced


def _from_csv(data: bytes, source: str, name: str | None, version: str | None, key: bytes) -> dict[str, Any]:
    if not name or not version:
        raise DataSetError(f"{source}: a CSV set needs --name and --version (a JSON set carries its own)")
    try:
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
        header = [column.strip() for column in next(reader, [])]
        if not header or header[0] not in ID_COLUMNS or len(header) < 2:
            raise DataSetError(
                f"{source}: the first line must name the columns, the first {' or '.join(ID_COLUMNS)}"
            )
        fields = tuple(header[1:])
        people: dict[str, dict[str, str]] = {}
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise DataSetError(f"{source}:{line}: {len(row)} values, the header names {len(header)}")
            number = normalise(row[0]).replace("·", "")
            if not number:
                raise DataSetError(f"{source}:{line}: no {header[0]}")
            if number in people:
                raise DataSetError(f"{source}:{line}: the same {header[0]} as an earlier line")
            people[number] = dict(zip(fields, (value.strip() for value in row[1:]), strict=True))
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataSetError(f"{source}: not a UTF-8 CSV file ({err})") from None
    return build_reference_set(name, version, fields, people, key)


def _from_json(data: bytes, source: str, key: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(data)
    except ValueError as err:
        raise DataSetError(f"{source}: not JSON ({err})") from None
    if not isinstance(raw, dict):
        raise DataSetError(f"{source}: must be a JSON object (a reference data set)")
    if raw.get("hash") == "hmac-sha256" and "key_check" not in raw:
        # Without it a set hashed with another key (an example's, another server's) would load and then
        # find nobody: every applicant "not in the register", refused for it.
        raise DataSetError(
            f"{source}: key_check missing: a JSON set must say which key its rows were hashed with "
            "(or load the numbers from a CSV file, which this server hashes itself)"
        )
    return raw


def read_set_file(
    path: Path, key: bytes, name: str | None = None, version: str | None = None
) -> dict[str, Any]:
    """The set in ``path`` (``.csv`` or JSON) as its checked JSON content, rows keyed by keyed hashes."""
    try:
        if path.stat().st_size > MAX_DATASET_BYTES:
            raise DataSetError(f"{path.name}: larger than {MAX_DATASET_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except OSError as err:
        raise DataSetError(f"{path.name}: cannot be read ({err.strerror})") from None
    if path.suffix.lower() == ".csv":
        content = _from_csv(data, path.name, name, version, key)
    else:
        content = _from_json(data, path.name, key)
        if name is not None and content.get("name") != name:
            raise DataSetError(f"{path.name}: holds the set {content.get('name')!r}, not {name!r}")
    try:
        parse_reference_set(content, key, utcnow(), path.name)
    except FileProblem as err:
        raise DataSetError(str(err)) from None
    return content


def _pack(content: Mapping[str, Any]) -> bytes:
    fields = list(content["fields"])
    rows = [[row_key, *(row[f] for f in fields)] for row_key, row in content["rows"].items()]
    body = {"hash": content["hash"], "match": content.get("match", "exact"), "fields": fields, "rows": rows}
    # Level 1: a million rows pack in a couple of seconds; keyed hashes hardly compress harder anyway.
    return gzip.compress(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), 1)


def store_set(session: Session, content: Mapping[str, Any], source: str) -> LoadReport:
    """Record ``content`` (checked by :func:`read_set_file`) as the newest version of its set. Commits."""
    packed = _pack(content)
    name = str(content["name"])
    previous = session.scalars(
        select(DataSetVersion.version)
        .where(DataSetVersion.name == name)
        .order_by(DataSetVersion.id.desc())
        .limit(1)
    ).first()
    now = utcnow()
    # Only the version in force keeps its rows: the older ones stay recorded (name, version, when, how many,
    # the hash of their rows) for the decisions that name them.
    session.execute(
        update(DataSetVersion)
        .where(DataSetVersion.name == name, DataSetVersion.content.is_not(None))
        .values(content=None)
    )
    session.add(
        DataSetVersion(
            name=name,
            version=str(content["version"]),
            loaded_at=now,
            source=source[:200],
            fields=list(content["fields"]),
            row_count=len(content["rows"]),
            sha256=hashlib.sha256(packed).hexdigest(),
            content=packed,
        )
    )
    session.commit()
    return LoadReport(name, str(content["version"]), len(content["rows"]), now, previous)


@dataclass(frozen=True)
class VersionRecord:
    name: str
    version: str
    loaded_at: datetime
    row_count: int
    sha256: str
    in_force: bool


def versions(session: Session) -> list[VersionRecord]:
    """Every version loaded, newest first within each set (without reading their rows)."""
    query = select(
        DataSetVersion.name,
        DataSetVersion.version,
        DataSetVersion.loaded_at,
        DataSetVersion.row_count,
        DataSetVersion.sha256,
        DataSetVersion.content.is_not(None),
    ).order_by(DataSetVersion.name, DataSetVersion.id.desc())
    return [
        VersionRecord(name, version, as_utc(loaded_at), rows, sha256, bool(in_force))
        for name, version, loaded_at, rows, sha256, in_force in session.execute(query)
    ]


class DataSets:
    """The sets in force, as this process has them in memory; :meth:`current` brings them up to date.

    A new version is read on a thread of its own, from the table in short sessions of its own and unpacked
    outside any transaction, so a big set being read never holds the database (SQLite's write lock) nor the
    requests: while a million-row extract is read (seconds), decisions go on with the version before it and
    record that version; a set read within :data:`SWITCH_WAIT_S` is used at once. Only a set this process
    holds no version of yet is waited for. Call it with no transaction of the caller's open on SQLite."""

    def __init__(self, key: bytes, sessions: sessionmaker[Session]) -> None:
        self._key = key
        self._sessions = sessions
        self._sets: dict[str, tuple[int, LoadedSet | ReferenceSet]] = {}
        self._reading: dict[int, Future[LoadedSet | ReferenceSet | None]] = {}
        self._lock = threading.Lock()
        # One reader: two requests that both see a new version read it once, not twice.
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataset-reader")

    def current(self, names: set[str] | None = None) -> dict[str, LoadedSet | ReferenceSet]:
        """The newest loaded version of each set (of ``names`` only, when given) that this process has read,
        reading one again only when a newer version was loaded since."""
        query = select(DataSetVersion.name, func.max(DataSetVersion.id)).group_by(DataSetVersion.name)
        if names is not None:
            query = query.where(DataSetVersion.name.in_(names))
        with self._sessions() as session:
            newest: dict[str, int] = {name: newest_id for name, newest_id in session.execute(query)}
        for name, newest_id in newest.items():
            with self._lock:
                held = self._sets.get(name)
                if held is not None and held[0] == newest_id:
                    continue
                reading = self._reading.get(newest_id)
                if reading is None:
                    reading = self._reading[newest_id] = self._reader.submit(self._read, newest_id)
            try:
                loaded = reading.result(timeout=None if held is None else SWITCH_WAIT_S)
            except FutureTimeout:
                continue  # the version before goes on deciding until this one is read
            except Exception:
                with self._lock:
                    self._reading.pop(newest_id, None)  # the next request tries again
                raise
            with self._lock:
                self._reading.pop(newest_id, None)
                current = self._sets.get(name)
                if loaded is not None and (current is None or current[0] < newest_id):
                    self._sets[name] = (newest_id, loaded)
        with self._lock:
            return {name: held[1] for name, held in self._sets.items() if name in newest}

    def _read(self, record_id: int) -> LoadedSet | ReferenceSet | None:
        columns = (
            DataSetVersion.name,
            DataSetVersion.version,
            DataSetVersion.loaded_at,
            DataSetVersion.content,
        )
        with self._sessions() as session:
            found = session.execute(select(*columns).where(DataSetVersion.id == record_id)).first()
        if found is None or found.content is None:
            return None  # replaced again a moment ago: the next request reads the newer one
        try:
            loaded = self._unpack(found.name, found.version, as_utc(found.loaded_at), found.content)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
            log.error("data set %s version %s cannot be read: %s", found.name, found.version, err)
            return None
        log.info("data set %s version %s in force (%d rows)", loaded.name, loaded.version, len(loaded.rows))
        return loaded

    def _unpack(
        self, name: str, version: str, loaded_at: datetime, packed: bytes
    ) -> LoadedSet | ReferenceSet:
        body = json.loads(gzip.decompress(packed))
        fields = tuple(body["fields"])
        if body["hash"] == "none":
            # A public list in clear (risk areas): short, looked up by the kiosk's own rules for such lists.
            raw = {
                "name": name,
                "version": version,
                "hash": "none",
                "match": body["match"],
                "fields": list(fields),
                "rows": {row[0]: dict(zip(fields, row[1:], strict=True)) for row in body["rows"]},
            }
            return parse_reference_set(raw, self._key, loaded_at, name)
        # Many rows share values ("registered", a district code): one object for each distinct value.
        shared: dict[Any, Any] = {}
        rows = {
            bytes.fromhex(row[0]): tuple(shared.setdefault(v, v) for v in row[1:]) for row in body["rows"]
        }
        return LoadedSet(name, version, loaded_at, fields, rows, self._key)

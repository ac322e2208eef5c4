"""The outbox: what the central API has yet to acknowledge, in the local store.

A record is queued with :func:`enqueue` inside the transaction that creates it, so it is either both
recorded and queued or neither. Items leave the queue only when the server has answered for them:
accepted or duplicate → deleted (and, for inspections, ``uploaded_at`` set); rejected → quarantined with
the server's reason, kept for the admin, never retried on its own and never dropped.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kiosk.forms.protect import LOCAL_MAGIC
from kiosk.store import Store
from protocol.items import (
    ITEM_KINDS,
    Answer,
    InspectionItem,
    ItemKind,
    SubmissionItem,
    inspection_item,
    submission_item,
)

# Personal data still under the kiosk's local key (stored before enrolment, not re-sealed yet): the central
# server could never open it, so such an item waits, counted as pending, until it is re-sealed.
_SENDABLE = "(sealed_personal IS NULL OR substr(sealed_personal, 1, ?) != ?)"
_SENDABLE_ARGS = (len(LOCAL_MAGIC), LOCAL_MAGIC)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def enqueue(
    conn: sqlite3.Connection,
    *,
    kind: str,
    item_id: str,
    payload: Mapping[str, Any],
    sealed_personal: bytes | None = None,
) -> None:
    """Queue a record for upload, on the connection of the caller's open transaction."""
    if kind not in ITEM_KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if payload.get("id") != item_id:
        raise ValueError("payload id must be the item id")
    if sealed_personal is not None and kind != "submission":
        raise ValueError("only submissions carry sealed personal data")
    conn.execute(
        "INSERT INTO outbox (kind, item_id, payload, sealed_personal, created_at) VALUES (?, ?, ?, ?, ?)",
        (kind, item_id, json.dumps(payload, ensure_ascii=False), sealed_personal, _now()),
    )


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    kind: ItemKind
    item_id: str
    payload: dict[str, Any]
    sealed_personal: bytes | None

    def wire(self) -> InspectionItem | SubmissionItem:
        """The item as the API and the export bundle take it: the protocol's fields, picked from the stored
        payload by name, so a field the store keeps for itself never travels."""
        if self.kind == "inspection":
            return inspection_item(self.payload)
        return submission_item(self.payload, self.sealed_personal)


@dataclass(frozen=True)
class QuarantinedItem:
    item_id: str
    kind: str
    quarantined_at: str
    reason: str


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    quarantined: int
    oldest_pending_at: str | None = None  # when the item waiting longest was queued (UTC, ISO 8601)

    @property
    def empty(self) -> bool:
        return self.pending == 0 and self.quarantined == 0


def _item(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        row["seq"], row["kind"], row["item_id"], json.loads(row["payload"]), row["sealed_personal"]
    )


class Outbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    def enqueue(
        self, *, kind: str, item_id: str, payload: Mapping[str, Any], sealed_personal: bytes | None = None
    ) -> None:
        """Queue in a transaction of its own (callers that create a record use :func:`enqueue` instead)."""
        with self.store.transaction() as conn:
            enqueue(conn, kind=kind, item_id=item_id, payload=payload, sealed_personal=sealed_personal)

    def last_seq(self) -> int:
        return int(self.store.query("SELECT COALESCE(MAX(seq), 0) FROM outbox")[0][0])

    def next_batch(
        self, limit: int, up_to: int | None = None, skip: Collection[int] = ()
    ) -> list[OutboxItem]:
        """The oldest sendable items (up to sequence number ``up_to``, leaving out the sequence numbers in
        ``skip``), all of the oldest one's kind; items whose personal data is still under the local key are
        never in a batch."""
        bound = up_to if up_to is not None else 2**62
        left_out = f" AND seq NOT IN ({', '.join('?' * len(skip))})" if skip else ""
        ready = f"quarantined_at IS NULL AND seq <= ? AND {_SENDABLE}{left_out}"
        where = (bound, *_SENDABLE_ARGS, *skip)
        rows = self.store.query(
            "SELECT seq, kind, item_id, payload, sealed_personal FROM outbox"
            f" WHERE {ready} AND kind = (SELECT kind FROM outbox WHERE {ready} ORDER BY seq LIMIT 1)"
            " ORDER BY seq LIMIT ?",
            (*where, *where, limit),
        )
        return [_item(row) for row in rows]

    def pending(self, *, sendable_only: bool = False) -> list[OutboxItem]:
        """Every item not quarantined; ``sendable_only`` leaves out those still under the local key."""
        sendable = f" AND {_SENDABLE}" if sendable_only else ""
        rows = self.store.query(
            "SELECT seq, kind, item_id, payload, sealed_personal FROM outbox WHERE quarantined_at IS NULL"
            f"{sendable} ORDER BY seq",
            _SENDABLE_ARGS if sendable_only else (),
        )
        return [_item(row) for row in rows]

    def item(self, item_id: str) -> OutboxItem | None:
        """The item if it is still queued (not quarantined), else None (delivered, or set aside)."""
        rows = self.store.query(
            "SELECT seq, kind, item_id, payload, sealed_personal FROM outbox"
            f" WHERE item_id = ? AND quarantined_at IS NULL AND {_SENDABLE}",
            (item_id, *_SENDABLE_ARGS),
        )
        return _item(rows[0]) if rows else None

    def all_items(self, *, sendable_only: bool = False) -> list[OutboxItem]:
        """Every item, the quarantined ones too (an export for the centre to examine)."""
        sendable = f" WHERE {_SENDABLE}" if sendable_only else ""
        rows = self.store.query(
            f"SELECT seq, kind, item_id, payload, sealed_personal FROM outbox{sendable} ORDER BY seq",
            _SENDABLE_ARGS if sendable_only else (),
        )
        return [_item(row) for row in rows]

    def resolve(self, answers: Mapping[str, Answer]) -> None:
        """Apply the server's answers {item_id: (status, reason)} in one transaction."""
        now = _now()
        done = [item_id for item_id, (status, _) in answers.items() if status in ("accepted", "duplicate")]
        refused = [
            (now, reason or "rejected", item_id)
            for item_id, (status, reason) in answers.items()
            if status == "rejected"
        ]
        with self.store.transaction() as conn:
            conn.executemany(
                "UPDATE inspections SET uploaded_at = ? WHERE id = ? AND uploaded_at IS NULL",
                [(now, item_id) for item_id in done],
            )
            conn.executemany("DELETE FROM outbox WHERE item_id = ?", [(item_id,) for item_id in done])
            conn.executemany(
                "UPDATE outbox SET quarantined_at = ?, quarantine_reason = ? WHERE item_id = ?", refused
            )

    def quarantine(self, item_id: str, reason: str) -> None:
        self.resolve({item_id: ("rejected", reason)})

    def note_failure(self, item_ids: list[str], error: str) -> None:
        with self.store.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE item_id = ?",
                [(error[:500], item_id) for item_id in item_ids],
            )

    def pending_count(self) -> int:
        """What the top bar shows as waiting to upload: items of every kind (inspections and submissions,
        those held for re-sealing too), not the quarantined ones, which the admin page lists apart."""
        return self.counts().pending

    def counts(self) -> OutboxCounts:
        row = self.store.query(
            "SELECT COALESCE(SUM(quarantined_at IS NULL), 0), COALESCE(SUM(quarantined_at IS NOT NULL), 0),"
            " MIN(CASE WHEN quarantined_at IS NULL THEN created_at END) FROM outbox"
        )[0]
        return OutboxCounts(int(row[0]), int(row[1]), row[2])

    def quarantined(self) -> list[QuarantinedItem]:
        rows = self.store.query(
            "SELECT item_id, kind, quarantined_at, quarantine_reason FROM outbox"
            " WHERE quarantined_at IS NOT NULL ORDER BY seq"
        )
        return [
            QuarantinedItem(r["item_id"], r["kind"], r["quarantined_at"], r["quarantine_reason"])
            for r in rows
        ]

    def release_matching(self, kind: str | None = None, reason: str | None = None) -> int:
        """Put back every quarantined item of ``kind`` (any kind if None) whose reason contains ``reason``
        (any reason if None); returns how many. For a cause fixed once for many items (a proxy's limit)."""
        where, params = ["quarantined_at IS NOT NULL"], []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if reason is not None:
            where.append("instr(quarantine_reason, ?) > 0")
            params.append(reason)
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET quarantined_at = NULL, quarantine_reason = NULL WHERE "
                + " AND ".join(where),
                params,
            )
        return cursor.rowcount

    def release(self, item_id: str) -> bool:
        """Put a quarantined item back in the queue (the admin had the cause fixed on the server)."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET quarantined_at = NULL, quarantine_reason = NULL"
                " WHERE item_id = ? AND quarantined_at IS NOT NULL",
                (item_id,),
            )
        return cursor.rowcount == 1

"""Idempotent ingestion of inspections and submissions, shared by the batch API and sneakernet import.

An item's UUID is its identity: the first copy to arrive is stored, later copies with the same content are
answered "duplicate" and change nothing, a later copy with different content is "rejected" (the kiosk
quarantines it; it never overwrites what was stored). Each batch is one transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from central.db import utcnow
from central.deciding import Decider
from central.models import BundlePart, Device, Inspection, Submission
from central.schemas import DecisionOut, InspectionIn, ItemResult, SubmissionIn
from protocol.sealing import b64d, canonical_json

log = logging.getLogger(__name__)

# Time zones reach ±14 h: a local day further than this from the UTC moment is a kiosk bug, not a zone.
_DAY_SLACK = timedelta(days=1)


def content_hash(item: BaseModel) -> str:
    return hashlib.sha256(canonical_json(item.model_dump(mode="json"))).hexdigest()


def _day_mismatch(moment: Any, day: Any) -> str | None:
    if abs(moment.date() - day) > _DAY_SLACK:
        return "local_day does not match the time"
    return None


def _inspection_row(item: InspectionIn, device: Device) -> tuple[dict[str, Any] | None, str | None]:
    if item.checkpoint_id not in (device.checkpoints or []):
        return None, f"checkpoint {item.checkpoint_id} is not one this device is enrolled for"
    problem = _day_mismatch(item.at, item.local_day)
    if problem:
        return None, problem
    row = item.model_dump()
    row["id"] = str(item.id)
    return row | {"device_id": device.id, "site": device.site}, None


def _submission_checker(
    session: Session,
) -> Callable[[SubmissionIn, Device], tuple[dict[str, Any] | None, str | None]]:
    part = session.get(BundlePart, "services")
    known = {s.get("id") for s in part.content if isinstance(s, dict)} if part and part.content else None

    def check(item: SubmissionIn, device: Device) -> tuple[dict[str, Any] | None, str | None]:
        if known is not None and item.service_id not in known:
            return None, f"unknown service {item.service_id!r}"
        problem = _day_mismatch(item.submitted_at, item.local_day)
        if problem:
            return None, problem
        row = item.model_dump()
        row["id"] = str(item.id)
        row["sealed_personal"] = b64d(item.sealed_personal) if item.sealed_personal else None
        return row | {"device_id": device.id, "site": device.site}, None

    return check


def _insert(
    session: Session, model: type[Inspection] | type[Submission], rows: list[dict[str, Any]]
) -> set[str]:
    """Insert, skipping ids that exist (also those another API process wrote a moment ago)."""
    if not rows:
        return set()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, model.__table__)  # declarative models are mapped to a Table
    # Rows go in id order: two batches that overlap, sent in different orders by different kiosks (or a
    # kiosk and its own retry), then take the unique-index locks in the same order and cannot deadlock.
    rows = sorted(rows, key=lambda row: row["id"])
    stmt = insert(table).values(rows).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
    return {row[0] for row in session.execute(stmt)}


def ingest(
    session: Session,
    device: Device,
    items: Sequence[InspectionIn] | Sequence[SubmissionIn],
    via: str,
    decider: Decider | None = None,
) -> list[ItemResult]:
    """Store what is new; a result for every item, in order. Commits.

    With a ``decider``, submissions of a decided service are decided once stored (a copy stored earlier
    but not yet decided too), and each accepted or duplicate result carries its decision."""
    if not items:
        return []
    model: type[Inspection] | type[Submission]
    check: Callable[[Any, Device], tuple[dict[str, Any] | None, str | None]]
    if isinstance(items[0], InspectionIn):
        model, check = Inspection, _inspection_row
    else:
        model, check = Submission, _submission_checker(session)
    hashes = [content_hash(item) for item in items]
    ids = [str(item.id) for item in items]
    stored = dict(session.execute(select(model.id, model.content_hash).where(model.id.in_(set(ids)))).all())
    now = utcnow()
    verdicts: dict[int, tuple[str, str | None]] = {}
    rows: list[dict[str, Any]] = []
    pending: dict[str, str] = {}
    for index, (item, item_id, digest) in enumerate(zip(items, ids, hashes, strict=True)):
        earlier = stored.get(item_id) or pending.get(item_id)
        if earlier is not None:
            verdicts[index] = ("duplicate", None) if earlier == digest else _conflict()
            continue
        row, problem = check(item, device)  # type: ignore[arg-type]
        if row is None:
            verdicts[index] = ("rejected", problem)
            continue
        rows.append(row | {"content_hash": digest, "received_at": now, "via": via})
        pending[item_id] = digest
    inserted = _insert(session, model, rows)
    raced = set(pending) - inserted
    if raced:
        stored = dict(session.execute(select(model.id, model.content_hash).where(model.id.in_(raced))).all())
    session.commit()
    results = []
    for index, (item_id, digest) in enumerate(zip(ids, hashes, strict=True)):
        if index in verdicts:
            status, reason = verdicts[index]
        elif item_id in raced:
            status, reason = ("duplicate", None) if stored.get(item_id) == digest else _conflict()
        else:
            status, reason = "accepted", None
        results.append(ItemResult(id=item_id, status=status, reason=reason))  # type: ignore[arg-type]
    if decider is not None and model is Submission:
        _with_decisions(session, decider, results)
    return results


def _with_decisions(session: Session, decider: Decider, results: list[ItemResult]) -> None:
    stored = [str(r.id) for r in results if r.status in ("accepted", "duplicate")]
    # Only after the items are committed: deciding must not hold up (or undo) storing them.
    decider.decide_new(session, stored)
    try:
        decided = decider.answers(session, stored)
    except SQLAlchemyError as err:
        log.error("decisions not read for the answer: %s", err)
        session.rollback()
        return
    for result in results:
        decision = decided.get(str(result.id))
        if decision is not None:
            result.decision = DecisionOut.model_validate(decision)


def _conflict() -> tuple[str, str]:
    return "rejected", "id already used for different content"

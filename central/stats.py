"""Statistics: per checkpoint and day, inspections and unique persons by verdict; per service and day,
submissions."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from central.models import Inspection, Submission
from central.schemas import InspectionDay, Stats, SubmissionDay

VERDICTS = ("green", "yellow", "red")


def statistics(
    session: Session, site: str | None = None, since: date | None = None, until: date | None = None
) -> Stats:
    def scoped(query: Any, model: Any) -> Any:
        if site is not None:
            query = query.where(model.site == site)
        if since is not None:
            query = query.where(model.local_day >= since)
        if until is not None:
            query = query.where(model.local_day <= until)
        return query

    key = (Inspection.checkpoint_id, Inspection.local_day)
    by_verdict: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: dict.fromkeys(VERDICTS, 0))
    for checkpoint, day, verdict, n in session.execute(
        scoped(select(*key, Inspection.verdict, func.count()).group_by(*key, Inspection.verdict), Inspection)
    ):
        by_verdict[(checkpoint, day)][verdict] = n
    # Unique persons per day: a person seen with two verdicts still counts once.
    persons = dict(
        ((c, d), n)
        for c, d, n in session.execute(
            scoped(select(*key, func.count(distinct(Inspection.subject_hash))).group_by(*key), Inspection)
        )
    )
    inspections = [
        InspectionDay(
            checkpoint_id=c, day=d, inspections=sum(v.values()), persons=persons.get((c, d), 0), by_verdict=v
        )
        for (c, d), v in sorted(by_verdict.items())
    ]
    skey = (Submission.service_id, Submission.local_day)
    submissions = [
        SubmissionDay(service_id=s, day=d, submissions=n)
        for s, d, n in session.execute(
            scoped(select(*skey, func.count()).group_by(*skey).order_by(*skey), Submission)
        )
    ]
    return Stats(inspections=inspections, submissions=submissions)


def unique_persons(session: Session, day: date, checkpoint_id: str | None = None) -> int:
    """Distinct subject hashes on one day, over all checkpoints or one. Not the sum of the per-checkpoint
    figures: a hash seen at two checkpoints counts once. Each kiosk keys the hash with its own device key, so
    a person met by two kiosks still counts twice."""
    query = select(func.count(distinct(Inspection.subject_hash))).where(Inspection.local_day == day)
    if checkpoint_id is not None:
        query = query.where(Inspection.checkpoint_id == checkpoint_id)
    return session.scalar(query) or 0

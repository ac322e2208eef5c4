"""Deciding submissions as they arrive (智慧批): the rules of a service's decision file, applied by
``kiosk.decisions`` to the submission's answers (the clear fields and the personal ones, opened with the seal
key), the identity facts and the reference data sets in force (``central.datasets``).

Which services are decided comes from the bundle: a service in the ``services`` part that names a decision
(``"decision": "FILE"``) is decided by that file, taken from the bundle's ``decisions`` part (file name →
decision document, delivered to the kiosks with the services) or else from the decision files shipped with
the server. Whatever goes wrong while deciding — a decision file that does not load, personal answers that
do not open, a rule that raises or runs too long, a data set missing or stale, a code that cannot be signed,
the database — the submission falls to a person (``manual``) with a note in its audit row, or stays
undecided for the next copy to try again; it never turns an upload into an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from central.datasets import DataSets
from central.db import utcnow
from central.decisions import decision_code, personal_answers, record_all, service_title, signing_key, to_wire
from central.keys import CentralKeys
from central.models import BundlePart, Decision, Submission
from kiosk.decisions.rules import (
    DECISIONS_DIR,
    DEFAULT_TIME_BOUND_S,
    DecisionFileError,
    DecisionRules,
    decide_async,
    load_decision,
    parse_decision,
)
from kiosk.decisions.rules import Decision as RulesDecision
from protocol.decisions import WireDecision
from protocol.sealing import canonical_json

log = logging.getLogger(__name__)


# Rules evaluated at once in a batch: enough to share the event loop's turns among them (a batch decides at
# twice the rate of one at a time), few enough that each runs soon after its time bound starts.
AT_ONCE = 16


@dataclass(frozen=True)
class Unusable:
    """A service names a decision file that cannot be used: its submissions fall to a person."""

    file: str
    problem: str


@dataclass(frozen=True)
class Made:
    """One decision made, not yet stored."""

    outcome: str
    reasons: tuple[Mapping[str, str], ...]
    rule: str
    datasets: Mapping[str, str]
    note: str
    code: str | None


class Decider:
    """Decides newly arrived submissions and answers what was decided; one per server process."""

    def __init__(
        self,
        keys: CentralKeys,
        sessions: sessionmaker[Session],
        *,
        time_bound_s: float = DEFAULT_TIME_BOUND_S,
        decisions_dir: Path = DECISIONS_DIR,
    ) -> None:
        self.keys = keys
        self.datasets = DataSets(keys.dataset_hash, sessions)
        self.time_bound_s = time_bound_s
        self.decisions_dir = decisions_dir
        self._stamp: tuple[Any, ...] | None = None
        self._by_service: dict[str, DecisionRules | Unusable] = {}
        self._compiled: dict[str, DecisionRules] = {}  # by the hash of the decision document
        self._signer = signing_key(keys)
        # One event loop per thread (the API's worker threads), kept: a new one per batch costs more.
        self._loops = threading.local()

    def rules(self, session: Session) -> dict[str, DecisionRules | Unusable]:
        """Service id → its decision rules (or why they cannot be used), for the services that name one.
        Read again only when the bundle's services or decisions changed."""
        stamp = tuple(
            session.execute(
                select(BundlePart.name, BundlePart.updated_at)
                .where(BundlePart.name.in_(("services", "decisions")))
                .order_by(BundlePart.name)
            ).all()
        )
        if stamp != self._stamp:
            services = session.get(BundlePart, "services")
            shipped = session.get(BundlePart, "decisions")
            self._by_service = self._load(
                services.content if services else [], shipped.content if shipped else {}
            )
            self._stamp = stamp
        return self._by_service

    def _load(self, services: Any, documents: Any) -> dict[str, DecisionRules | Unusable]:
        found: dict[str, DecisionRules | Unusable] = {}
        for service in services if isinstance(services, list) else []:
            if not isinstance(service, dict) or not isinstance(service.get("decision"), str):
                continue
            file = service["decision"]
            try:
                if isinstance(documents, dict) and file in documents:
                    document = documents[file]
                    digest = hashlib.sha256(canonical_json(document)).hexdigest()
                    if digest not in self._compiled:
                        self._compiled[digest] = parse_decision(document, file)
                    found[str(service.get("id"))] = self._compiled[digest]
                elif Path(file).name == file and (self.decisions_dir / file).is_file():
                    found[str(service.get("id"))] = load_decision(self.decisions_dir / file)
                else:
                    found[str(service.get("id"))] = Unusable(file, "no such decision file")
            except DecisionFileError as err:
                log.error("decision file of service %s unusable: %s", service.get("id"), err)
                found[str(service.get("id"))] = Unusable(file, str(err)[:300])
        return found

    def decide_batch(
        self,
        submissions: Sequence[Submission],
        titles: Mapping[str, str],
        by_service: Mapping[str, DecisionRules | Unusable],
        sets: Mapping[str, Any],
    ) -> dict[str, Made]:
        """The decisions about ``submissions`` (approvals' codes signed), not stored. Their rules run
        :data:`AT_ONCE` at a time on the engine's threads, each under its own time bound, so a batch of
        runaway rules takes a few bounds, never the sum of them. ``titles``: service id → title, for codes."""
        made: dict[str, Made] = {}
        jobs: list[tuple[Submission, DecisionRules, dict[str, Any]]] = []
        for submission in submissions:
            rules = by_service[submission.service_id]
            if isinstance(rules, Unusable):
                note = f"decision file unusable: {rules.problem}"
                made[submission.id] = Made("manual", (), rules.file[:100], {}, note, None)
                continue
            try:
                personal = personal_answers(self.keys, submission)
            except ValueError as err:  # SealError included: a box this server's key does not open
                note = f"personal answers cannot be opened: {err}"
                made[submission.id] = Made("manual", (), rules.label, {}, note, None)
                continue
            jobs.append((submission, rules, dict(submission.fields) | personal))
        now = utcnow()
        loop = getattr(self._loops, "loop", None)
        if loop is None:
            loop = self._loops.loop = asyncio.new_event_loop()

        async def bounded(
            rules: DecisionRules, answers: dict[str, Any], room: asyncio.Semaphore
        ) -> RulesDecision:
            # A rule's time bound starts when it gets its turn: a hundred started at once on a busy core
            # would queue in the engine, and the last would run out of time without being slow.
            async with room:
                return await decide_async(rules, answers, sets, now, self.time_bound_s)

        async def all_of_them() -> list[RulesDecision | BaseException]:
            room = asyncio.Semaphore(AT_ONCE)
            return await asyncio.gather(
                *(bounded(rules, answers, room) for _, rules, answers in jobs), return_exceptions=True
            )

        decided = loop.run_until_complete(all_of_them())
        for (submission, rules, answers), decision in zip(jobs, decided, strict=True):
            try:
                if isinstance(decision, BaseException):
                    raise decision
                code = None
                if decision.outcome == "approved":
                    id_number = answers.get(rules.identity_field)
                    code = decision_code(
                        self._signer,
                        submission,
                        titles.get(submission.service_id, submission.service_id),
                        id_number if isinstance(id_number, str) else None,
                        now,
                    )
                made[submission.id] = Made(
                    decision.outcome, decision.reasons, decision.rule, decision.datasets, decision.note, code
                )
            except Exception as err:  # the upload must be answered whatever a rule or a library does
                log.error("deciding submission %s failed: %s: %s", submission.id, type(err).__name__, err)
                note = f"deciding failed: {type(err).__name__}: {err}"
                made[submission.id] = Made("manual", (), rules.label, {}, note, None)
        return made

    def decide_new(self, session: Session, submission_ids: Iterable[str]) -> None:
        """Decide those of ``submission_ids`` whose service names a decision and that have none yet; store
        each with its audit row. Call with no transaction open (the data sets are read in sessions of
        their own). Never raises: what cannot be decided is ``manual`` with a note, and what cannot be
        stored stays undecided for the next copy or query to decide."""
        try:
            self._decide_new(session, list(submission_ids))
        except Exception:  # whatever it is, the items are stored and the kiosk gets its answer
            log.exception("deciding put off")
            session.rollback()

    def _decide_new(self, session: Session, ids: list[str]) -> None:
        if not ids:
            return
        by_service = self.rules(session)
        if not by_service:
            return
        decided = set(session.scalars(select(Decision.submission_id).where(Decision.submission_id.in_(ids))))
        waiting = [
            s
            for s in session.scalars(select(Submission).where(Submission.id.in_(ids)).order_by(Submission.id))
            if s.service_id in by_service and s.id not in decided
        ]
        titles = {service: service_title(session, service) for service in {s.service_id for s in waiting}}
        for submission in waiting:
            session.expunge(submission)  # read as they are: deciding touches the database no more
        session.rollback()  # nothing written yet: no transaction (SQLite's write lock) while deciding
        if not waiting:
            return
        wanted = {
            spec.set
            for r in by_service.values()
            if isinstance(r, DecisionRules)
            for spec in r.lookups.values()
        }
        sets: Mapping[str, Any] = self.datasets.current(wanted)
        made = self.decide_batch(waiting, titles, by_service, sets)
        self._store(session, {s.id: (s, made[s.id]) for s in waiting})

    def _store(self, session: Session, made: Mapping[str, tuple[Submission, Made]]) -> None:
        now = utcnow()
        try:
            record_all(
                session,
                [
                    {
                        "submission_id": submission_id,
                        "service_id": submission.service_id,
                        "outcome": outcome.outcome,
                        "reasons": [{"zh-CN": r["zh-CN"], "en": r["en"]} for r in outcome.reasons],
                        "rule": outcome.rule,
                        "datasets": dict(outcome.datasets),
                        "note": outcome.note,
                        "code": outcome.code,
                        "decided_at": now,
                    }
                    for submission_id, (submission, outcome) in made.items()
                ],
            )
            session.commit()
        except SQLAlchemyError as err:
            # Stored undecided: a re-sent copy (or the next query) is decided again.
            log.error("decisions of %d submission(s) not stored: %s", len(made), err)
            session.rollback()

    def answers(self, session: Session, submission_ids: Iterable[str]) -> dict[str, WireDecision]:
        ids = list(submission_ids)
        if not ids:
            return {}
        rows = session.scalars(select(Decision).where(Decision.submission_id.in_(ids)))
        return {row.submission_id: to_wire(row) for row in rows}

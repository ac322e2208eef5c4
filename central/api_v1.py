"""API v1 routes. Handlers are plain functions run in the thread pool, each with its own DB session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from central.auth import RateLimiter, authenticate, enforce, hash_secret, new_token
from central.bundle import build_bundle
from central.db import as_utc, utcnow
from central.deciding import Decider
from central.decisions import to_wire
from central.ingest import ingest
from central.keys import CentralKeys
from central.models import Booking, Decision, Device, EnrolmentCode, Slot, Submission
from central.schemas import (
    BatchOut,
    BookingIn,
    BookingOut,
    Bundle,
    Day,
    DecisionOut,
    DecisionQuery,
    DecisionsOut,
    EnrolIn,
    EnrolOut,
    HeartbeatIn,
    HeartbeatOut,
    InspectionBatch,
    SlotOut,
    Stats,
    SubmissionBatch,
)
from central.stats import statistics
from protocol.sealing import b64d, b64e, canonical_json


@dataclass
class CentralState:
    sessions: sessionmaker[Session]
    keys: CentralKeys
    device_limiter: RateLimiter
    enrol_limiter: RateLimiter
    decider: Decider


def _state(request: Request) -> CentralState:
    state: CentralState = request.app.state.central
    return state


def db_session(request: Request) -> Iterator[Session]:
    with _state(request).sessions() as session:
        yield session


# Declared so that the OpenAPI document shows the scheme; the check itself is in ``current_device``.
_bearer = HTTPBearer(auto_error=False, description="device token from enrolment")


async def current_device(
    request: Request,
    _token: Annotated[object, Depends(_bearer)],
    x_kiosk_timestamp: Annotated[str | None, Header(description="Unix time of the request")] = None,
    x_kiosk_nonce: Annotated[str | None, Header(description="random, 16-64 characters, never reused")] = None,
    x_kiosk_signature: Annotated[
        str | None, Header(description="Ed25519 signature by the device key (base64)")
    ] = None,
) -> Device:
    body = await request.body()
    state = _state(request)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")

    def check() -> Device:
        with state.sessions() as session:
            return authenticate(
                session,
                method=request.method,
                path=path,
                body=body,
                authorization=request.headers.get("authorization"),
                timestamp=x_kiosk_timestamp,
                nonce=x_kiosk_nonce,
                signature=x_kiosk_signature,
            )

    device = await run_in_threadpool(check)
    enforce(state.device_limiter, device.id)
    return device


DeviceDep = Annotated[Device, Depends(current_device)]
SessionDep = Annotated[Session, Depends(db_session)]
router = APIRouter(prefix="/v1")
_COMMON: dict[int | str, dict[str, str]] = {
    400: {"description": "malformed body"},
    413: {"description": "request body too large"},
    422: {"description": "invalid input"},
    429: {"description": "rate limited; see Retry-After"},
    503: {"description": "database busy; see Retry-After"},
}
_ERRORS = {401: {"description": "not authenticated"}, 403: {"description": "device revoked"}, **_COMMON}


@router.post(
    "/enrol",
    status_code=201,
    response_model=EnrolOut,
    responses={403: {"description": "bad code"}, **_COMMON},
)
def enrol(body: EnrolIn, request: Request, session: SessionDep) -> EnrolOut:
    """Register a kiosk's public key with a one-time code; answers its credentials (shown only once)."""
    state = _state(request)
    enforce(state.enrol_limiter, request.client.host if request.client else "?")
    code = session.get(EnrolmentCode, hash_secret(body.code), with_for_update=True)
    now = utcnow()
    if code is None or code.used_at is not None or as_utc(code.expires_at) < now:
        raise HTTPException(403, "enrolment code unknown, used or expired")
    token = new_token()
    device = Device(
        id=str(uuid.uuid4()),
        site=code.site,
        name=body.name,
        public_key=b64d(body.public_key),
        token_hash=hash_secret(token),
        created_at=now,
        checkpoints=list(code.checkpoints or []),
    )
    code.used_at, code.device_id = now, device.id
    session.add(device)
    session.commit()
    return EnrolOut(
        device_id=uuid.UUID(device.id),
        token=token,
        site=device.site,
        bundle_signing_key=b64e(state.keys.bundle_public),
        seal_key=b64e(state.keys.seal_public),
        person_hash_key=b64e(state.keys.person_hash),
    )


@router.get("/bundle", response_model=Bundle, responses={304: {"description": "not modified"}, **_ERRORS})
def bundle(
    request: Request,
    device: DeviceDep,
    session: SessionDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Site config, services, trust store and revocation list, signed; conditional on the ETag."""
    body = build_bundle(session, _state(request).keys, device.site)
    etag = f'"{body["version"]}"'
    if if_none_match and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers={"ETag": etag})
    # Sent exactly as signed: re-serialising through the model would rewrite values (a time's "+00:00" as
    # "Z") and break the signature the kiosk checks.
    return Response(canonical_json(body), media_type="application/json", headers={"ETag": etag})


@router.post("/inspections/batch", response_model=BatchOut, responses=_ERRORS)
def upload_inspections(body: InspectionBatch, device: DeviceDep, session: SessionDep) -> BatchOut:
    """Idempotent by item id: a result per item (accepted, duplicate, or rejected with a reason)."""
    return BatchOut(results=body.answer(ingest(session, device, body.items, via="api")))


@router.post("/submissions/batch", response_model=BatchOut, responses=_ERRORS)
def upload_submissions(
    body: SubmissionBatch, request: Request, device: DeviceDep, session: SessionDep
) -> BatchOut:
    """Idempotent by item id: a result per item (accepted, duplicate, or rejected with a reason). A
    submission of a service decided by rules (智慧批) is decided on arrival, and its result carries the
    decision, on accepted and on duplicate alike."""
    decider = _state(request).decider
    return BatchOut(results=body.answer(ingest(session, device, body.items, via="api", decider=decider)))


@router.post("/decisions/query", response_model=DecisionsOut, responses=_ERRORS)
def query_decisions(
    body: DecisionQuery, request: Request, device: DeviceDep, session: SessionDep
) -> DecisionsOut:
    """The decisions about the given submissions, of those this device's site submitted and that have one;
    other ids are left out, not refused. A decision a manager made later comes back as theirs."""
    ids = {str(i) for i in body.ids}
    own = set(
        session.scalars(select(Submission.id).where(Submission.id.in_(ids), Submission.site == device.site))
    )
    session.rollback()
    # One stored while deciding failed (the database went away a moment) is decided now.
    _state(request).decider.decide_new(session, sorted(own))
    rows = session.scalars(
        select(Decision)
        .join(Submission, Submission.id == Decision.submission_id)
        .where(Decision.submission_id.in_(ids), Submission.site == device.site)
        .order_by(Decision.submission_id)
    )
    return DecisionsOut(decisions=[DecisionOut.model_validate(to_wire(row)) for row in rows])


@router.post("/heartbeat", response_model=HeartbeatOut, responses=_ERRORS)
def heartbeat(body: HeartbeatIn, device: DeviceDep, session: SessionDep) -> HeartbeatOut:
    row = session.get(Device, device.id)
    now = utcnow()
    if row is not None:
        row.heartbeat = body.model_dump() | {"at": now.isoformat()}
        row.last_seen_at = now
        session.commit()
    return HeartbeatOut(server_time=now)


@router.get("/slots", response_model=list[SlotOut], responses=_ERRORS)
def slots(
    device: DeviceDep,
    session: SessionDep,
    service_id: Annotated[str, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")],
    day: Day,
) -> list[SlotOut]:
    """Appointment slots of a service at the device's site on one (UTC) day, with the places left."""
    start = datetime.combine(day, time(), tzinfo=utcnow().tzinfo)
    booked = select(Booking.slot_id, func.count().label("n")).group_by(Booking.slot_id).subquery()
    rows = session.execute(
        select(Slot, func.coalesce(booked.c.n, 0))
        .outerjoin(booked, booked.c.slot_id == Slot.id)
        .where(Slot.site == device.site, Slot.service_id == service_id)
        .where(Slot.starts_at >= start, Slot.starts_at < start + timedelta(days=1))
        .order_by(Slot.starts_at)
    ).all()
    return [
        SlotOut(
            id=s.id,
            service_id=s.service_id,
            starts_at=as_utc(s.starts_at),
            ends_at=as_utc(s.ends_at),
            capacity=s.capacity,
            remaining=max(0, s.capacity - n),
        )
        for s, n in rows
    ]


@router.post(
    "/bookings",
    response_model=BookingOut,
    responses={
        404: {"description": "no such slot"},
        409: {"description": "slot full or id reused"},
        **_ERRORS,
    },
)
def book(body: BookingIn, device: DeviceDep, session: SessionDep) -> BookingOut:
    """Book a place in a slot; idempotent by the booking's id."""
    existing = session.get(Booking, str(body.id))
    if existing is not None:
        if existing.slot_id != str(body.slot_id) or existing.device_id != device.id:
            raise HTTPException(409, "booking id already used for another booking")
        return BookingOut(id=body.id, slot_id=body.slot_id, status="duplicate")
    # FOR UPDATE serialises bookings of one slot on PostgreSQL; SQLite serialises all writers anyway.
    slot = session.get(Slot, str(body.slot_id), with_for_update=True)
    if slot is None or slot.site != device.site:
        raise HTTPException(404, "no such slot")
    taken = session.scalar(select(func.count()).select_from(Booking).where(Booking.slot_id == slot.id)) or 0
    if taken >= slot.capacity:
        raise HTTPException(409, "slot full")
    session.add(
        Booking(
            id=str(body.id),
            slot_id=slot.id,
            device_id=device.id,
            reference=body.reference,
            created_at=utcnow(),
        )
    )
    session.commit()
    return BookingOut(id=body.id, slot_id=body.slot_id, status="booked")


@router.get("/stats", response_model=Stats, responses=_ERRORS)
def stats(
    device: DeviceDep, session: SessionDep, since: Day | None = None, until: Day | None = None
) -> Stats:
    """Per checkpoint and day (inspections, unique persons, by verdict) and per service and day
    (submissions), for the device's site."""
    return statistics(session, site=device.site, since=since, until=until)

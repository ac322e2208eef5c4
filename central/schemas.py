"""Request and response bodies of API v1 (pydantic). Every limit here is part of the published contract."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from kiosk.sealing import SEAL_OVERHEAD

MAX_BATCH = 500
MAX_SEALED_BYTES = 64 * 1024

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Scalar = Annotated[str, StringConstraints(max_length=1000)] | int | float | bool | None
# Base64 of exactly 32 bytes.
Key32 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")]
# Base64 of a sealed box: starts with the magic "KS1" (base64 "S1Mx"), at least the box overhead long.
SealedB64 = Annotated[
    str,
    StringConstraints(
        pattern=r"^S1Mx(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        min_length=4 * -(-SEAL_OVERHEAD // 3),
        max_length=4 * -(-MAX_SEALED_BYTES // 3),
    ),
]


class Strict(BaseModel):
    # Unknown fields are refused rather than ignored, so a client bug shows up as a 422, not as lost data.
    model_config = ConfigDict(extra="forbid")


class EnrolIn(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$")]
    public_key: Annotated[Key32, Field(description="the device's Ed25519 public key, 32 bytes in base64")]
    name: ShortText
    version: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class EnrolOut(BaseModel):
    device_id: UUID
    token: str
    site: str
    bundle_signing_key: str
    seal_key: str
    person_hash_key: Annotated[
        str,
        Field(
            description="32 bytes in base64, the same for every kiosk of this server: the HMAC key of the "
            "inspections' subject_hash, so that persons are counted once across kiosks"
        ),
    ]


class InspectionIn(Strict):
    id: UUID
    at: AwareDatetime
    local_day: date
    checkpoint_id: Ident
    source: Literal["camera", "manual"]
    kind: Ident
    code_hash: Hex64
    subject_hash: Hex64
    verdict: Literal["green", "yellow", "red"]
    reason: ShortText


class SubmissionIn(Strict):
    id: UUID
    service_id: Ident
    submitted_at: AwareDatetime
    local_day: date
    fields: Annotated[dict[str, Scalar], Field(max_length=100, description="non-personal form fields")]
    sealed_personal: Annotated[
        SealedB64 | None,
        Field(description="personal fields, sealed to the central key on the kiosk (base64)"),
    ] = None


class InspectionBatch(Strict):
    items: Annotated[list[InspectionIn], Field(min_length=1, max_length=MAX_BATCH)]


class SubmissionBatch(Strict):
    items: Annotated[list[SubmissionIn], Field(min_length=1, max_length=MAX_BATCH)]


class ItemResult(BaseModel):
    id: UUID
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None


class BatchOut(BaseModel):
    results: list[ItemResult]


class HeartbeatIn(Strict):
    version: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    queue_depth: Annotated[int, Field(ge=0, le=10**9)]
    quarantined: Annotated[int, Field(ge=0, le=10**9)] = 0
    health: Annotated[dict[str, Scalar], Field(max_length=50)] = {}


class HeartbeatOut(BaseModel):
    server_time: datetime


class Bundle(BaseModel):
    version: str
    issued_at: datetime
    site: dict[str, Any]
    services: list[Any]
    trust_store: Any
    revocations: list[Any]
    seal_key: str
    signature: str


class SlotOut(BaseModel):
    id: UUID
    service_id: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    remaining: int


class BookingIn(Strict):
    id: UUID
    slot_id: UUID
    reference: Ident


class BookingOut(BaseModel):
    id: UUID
    slot_id: UUID
    status: Literal["booked", "duplicate"]


class InspectionDay(BaseModel):
    checkpoint_id: str
    day: date
    inspections: int
    persons: int
    by_verdict: dict[str, int]


class SubmissionDay(BaseModel):
    service_id: str
    day: date
    submissions: int


class Stats(BaseModel):
    inspections: list[InspectionDay]
    submissions: list[SubmissionDay]
